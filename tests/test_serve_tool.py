"""tools/serve.py refuses a bad model dir, a busy port, bad flags and a missing extra with one line and exit 2."""

import re
import shutil
import socket
import sys

import pytest
import yaml
from serve_fixtures import export_tiny_model
from tool_helpers import run_in_process

pytest.importorskip("fastapi", reason="needs the serve extra: pip install -e '.[serve]'")


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return export_tiny_model(tmp_path_factory.mktemp("serve_tool"))


def mismatched(export_dir, tmp_path):
    """A copy of the export whose deploy.yaml promises softmax scores from the argmax graph."""
    target = tmp_path / "mismatched"
    shutil.copytree(export_dir, target)
    deploy = yaml.safe_load((target / "deploy.yaml").read_text())
    deploy["output_op"] = "softmax"
    (target / "deploy.yaml").write_text(yaml.safe_dump(deploy))
    return target


def error_lines(capsys):
    captured = capsys.readouterr()
    assert "serving" not in captured.out, "the server must not start"
    return captured.err.strip().splitlines()


@pytest.mark.parametrize(
    "model_dir, message",
    [
        (lambda d, t: t / "missing", r"error: model dir not found: .*missing$"),
        (lambda d, t: t, r"error: .* has no deploy.yaml; is it a directory written by tools/export.py\?$"),
        (
            mismatched,
            r"error: .*deploy.yaml: output_op 'softmax' means \[1, 3, H, W\] scores, but the model returns shape "
            r"\[1, 64, 64\]; does deploy.yaml belong to these model files\?$",
        ),
    ],
    ids=["missing", "not-an-export", "mismatched"],
)
def test_a_bad_model_dir_stops_the_server_at_start(export_dir, tmp_path, capsys, model_dir, message):
    assert run_in_process("serve", "--model-dir", model_dir(export_dir, tmp_path), "--port", "0") == 2
    lines = error_lines(capsys)
    assert len(lines) == 1 and re.match(message, lines[0]), lines


def test_a_busy_port_is_one_line(export_dir, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run_in_process("serve", "--model-dir", export_dir, "--port", port) == 2
    assert error_lines(capsys) == [f"error: cannot listen on 127.0.0.1:{port}: Address already in use"]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--max-batch", "0"], "error: argument --max-batch: must be at least 1, got 0"),
        (["--max-queue", "x"], "error: argument --max-queue: expected an integer, got 'x'"),
        (["--backend", "tflite"], "error: unsupported model format 'tflite' (supported: paddle, onnx)"),
        (["--precision", "fp16"], "error: TensorRT and fp16 need --device gpu"),
    ],
)
def test_bad_flags_are_one_line(export_dir, capsys, flags, message):
    argv = ["--model-dir", export_dir, "--port", "0", *flags]
    if flags[0] in ("--max-batch", "--max-queue"):
        with pytest.raises(SystemExit) as exit_info:
            run_in_process("serve", *argv)
        assert exit_info.value.code == 2
    else:
        assert run_in_process("serve", *argv) == 2
    lines = error_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith(message), lines


def test_without_the_serve_extra_the_tool_says_what_to_install(export_dir, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "fastapi", None)
    monkeypatch.delitem(sys.modules, "paddlefcn.serve.app", raising=False)
    assert run_in_process("serve", "--model-dir", export_dir) == 2
    assert error_lines(capsys) == [
        "error: serving needs the serve extra (fastapi is missing): pip install 'paddlefcn[serve]'"
    ]
