import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def train_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "train.py"), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-c", "missing.yml"], "error: config file not found: "),
        (["-c", "{cfg}", "-o", "train.iters"], "error: override 'train.iters' must look like key.path=value"),
        (["-c", "{cfg}", "-o", "trian.iters=3"], "error: override 'trian.iters=3': unknown config key 'trian'"),
        (["-c", "{cfg}", "--resume", "nowhere"], "error: --resume: checkpoint directory not found: nowhere"),
        (["-c", "{cfg}", "-o", "model.head.type=FCN4s"], "error: {cfg}: unknown head 'FCN4s'"),
        (["-c", "{cfg}", "-o", "train.batch_size=0"], "error: {cfg}: train.batch_size must be an integer >= 1, got 0"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, tiny_config, args, message):
    args = [a.format(cfg=tmp_path / "tiny.yml") for a in args]
    message = message.format(cfg=tmp_path / "tiny.yml")
    done = train_cli(*args, "--save-dir", str(tmp_path / "run"), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(message), done.stderr
    assert "Traceback" not in done.stderr


def test_train_cli_runs_and_writes_the_run(tmp_path, tiny_config):
    done = train_cli(
        "-c",
        str(tmp_path / "tiny.yml"),
        "--save-dir",
        str(tmp_path / "run"),
        "--iters",
        "2",
        "-o",
        "train.eval_interval=2",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "mIoU" in done.stdout and "visualdl --logdir" in done.stdout
    for name in ("config.yml", "train.log", "checkpoints/iter_2/model.pdparams", "best/model.pdparams"):
        assert (tmp_path / "run" / name).exists(), name
