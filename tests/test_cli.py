"""The tools' shared command line: usage errors, output paths and OS errors all end in one ``error:`` line."""

import argparse

import pytest
from tool_helpers import run_in_process

from paddlefcn.cli import base_parser, int_at_least, output_dir, output_file, run_tool
from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.files import check_output_dir, check_output_file


def error_lines(capsys):
    return capsys.readouterr().err.strip().splitlines()


def test_usage_errors_are_one_error_line_with_status_2(capsys):
    parser = base_parser("demo")
    parser.add_argument("--iters", type=int)
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(["-c", "x.yml", "--iters", "abc"])
    assert stop.value.code == 2
    assert error_lines(capsys) == [f"error: argument --iters: invalid int value: 'abc' (see {parser.prog} --help)"]


def test_output_dir_refuses_a_file_or_a_path_under_one(tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("")
    with pytest.raises(PaddleFCNError, match=f"^{blocker} is a file, not a directory$"):
        check_output_dir(blocker)
    with pytest.raises(PaddleFCNError, match=f"^{blocker / 'run'} is under {blocker}, which is a file"):
        check_output_dir(blocker / "run")
    assert check_output_dir(tmp_path / "new" / "run") == tmp_path / "new" / "run"
    assert check_output_dir(tmp_path) == tmp_path


def test_output_file_refuses_a_directory_or_a_parent_that_is_a_file(tmp_path):
    with pytest.raises(PaddleFCNError, match=f"^{tmp_path} is a directory; give a file name$"):
        check_output_file(tmp_path)
    blocker = tmp_path / "taken"
    blocker.write_text("")
    with pytest.raises(PaddleFCNError, match=f"^{blocker} is a file, not a directory$"):
        check_output_file(blocker / "m.json")
    assert check_output_file(blocker) == blocker  # an existing file is overwritten
    assert check_output_file(tmp_path / "new" / "m.json") == tmp_path / "new" / "m.json"


@pytest.mark.parametrize(
    ("option", "kind", "value", "message"),
    [
        ("--save-dir", output_dir, "{file}", "{file} is a file, not a directory"),
        ("--out", output_file, "{dir}", "{dir} is a directory; give a file name"),
        ("--repeats", int_at_least(1), "0", "must be at least 1, got 0"),
        ("--repeats", int_at_least(1), "2.5", "expected an integer, got '2.5'"),
    ],
)
def test_argument_types_name_the_option(tmp_path, capsys, option, kind, value, message):
    names = {"file": tmp_path / "taken", "dir": tmp_path}
    (tmp_path / "taken").write_text("")
    parser = base_parser("demo", config_required=None)
    parser.add_argument(option, type=kind)
    with pytest.raises(SystemExit) as stop:
        parser.parse_args([option, value.format(**names)])
    assert stop.value.code == 2
    (line,) = error_lines(capsys)
    assert line.startswith(f"error: argument {option}: {message.format(**names)}")


def test_run_tool_reports_an_os_error_in_one_line_and_debug_shows_it(tmp_path, capsys):
    def write_into_a_file(args):
        (tmp_path / "taken").write_text("")
        (tmp_path / "taken" / "out.txt").write_text("x")

    parser = base_parser("demo", config_required=None)
    assert run_tool(write_into_a_file, parser, []) == 2
    (line,) = error_lines(capsys)
    assert line.startswith("error: [Errno 20] Not a directory:") and str(tmp_path / "taken") in line
    with pytest.raises(NotADirectoryError):
        run_tool(write_into_a_file, parser, ["--debug"])


def test_int_at_least_accepts_the_minimum():
    assert int_at_least(0)("0") == 0
    with pytest.raises(argparse.ArgumentTypeError):
        int_at_least(0)("-1")


@pytest.mark.parametrize(
    ("tool", "argv", "message"),
    [
        ("val", ["-c", "{cfg}", "--weights", "w.pdparams", "--out", "{dir}"], "argument --out: {dir} is a directory"),
        ("benchmark", ["-c", "{cfg}", "--json", "{dir}"], "argument --json: {dir} is a directory"),
        ("export", ["-c", "{cfg}", "--weights", "w", "--save-dir", "{file}"], "argument --save-dir: {file} is a file"),
        ("predict", ["-c", "{cfg}", "--weights", "w", "--input", "i", "--save-dir", "{file}/x"], "which is a file"),
        ("infer", ["--model-dir", "m", "--input", "i", "--save-dir", "{file}"], "--save-dir: {file} is a file"),
        ("infer", ["--model-dir", "m", "--input", "i", "--save-dir", "{dir}/o", "--repeats", "0"], "at least 1, got 0"),
        ("check_data", ["-c", "{cfg}", "--examples", "-1"], "argument --examples: must be at least 0, got -1"),
    ],
)
def test_tools_check_output_paths_and_counts_before_any_work(tmp_path, capsys, tool, argv, message):
    names = {"cfg": tmp_path / "missing.yml", "dir": tmp_path, "file": tmp_path / "taken"}
    (tmp_path / "taken").write_text("")
    with pytest.raises(SystemExit) as stop:  # at parsing: the config is never read, nothing runs
        run_in_process(tool, *[a.format(**names) for a in argv])
    assert stop.value.code == 2
    (line,) = error_lines(capsys)
    assert line.startswith("error: ") and message.format(**names) in line
