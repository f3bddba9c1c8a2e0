"""CPU threads: the user's OMP_NUM_THREADS survives Paddle's import, before or after ours; unset means every core."""

import os
import subprocess
import sys

import pytest
from tool_helpers import run_in_process

PROBE = (
    "import {first}, os; from paddlefcn.utils.env import configure_cpu; "
    "from paddlefcn.deploy.engines import RuntimeOptions; "
    "print(configure_cpu(), RuntimeOptions().threads(), os.environ['OMP_NUM_THREADS'])"
)


def probe(omp_num_threads, first="paddlefcn, paddle"):
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if omp_num_threads is not None:
        env["OMP_NUM_THREADS"] = omp_num_threads
    code = PROBE.format(first=first)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to tell 'all cores' from Paddle's 1")
def test_unset_omp_num_threads_uses_every_core():
    cores = str(len(os.sched_getaffinity(0)))
    assert probe(None) == [cores, cores, cores]  # Paddle's import alone would have left 1
    assert probe(None, first="paddle, paddlefcn") == [cores, cores, cores]  # the 1 Paddle wrote is not the user's


def test_the_users_omp_num_threads_is_kept():
    assert probe("1") == ["1", "1", "1"]
    assert probe("3") == ["3", "3", "3"]
    assert probe("1", first="paddle, paddlefcn") == ["1", "1", "1"]  # Paddle imported first: the 1 is still the user's


def test_more_processes_than_cores_get_one_thread_each():
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    code = "from paddlefcn.utils.env import configure_cpu; print(configure_cpu(ranks_per_machine=64))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1"]


# --- runtime.onednn ---------------------------------------------------------------------------------------

ONEDNN_FLAGS = ("FLAGS_use_onednn", "FLAGS_use_mkldnn")


@pytest.fixture
def onednn_flags():
    """Reads Paddle's oneDNN flags; puts back the values they had when the test ends."""
    import paddle

    before = paddle.get_flags(list(ONEDNN_FLAGS))
    yield lambda: paddle.get_flags(list(ONEDNN_FLAGS))
    paddle.set_flags(before)


def test_configure_onednn_sets_paddles_flag(onednn_flags):
    from paddlefcn.utils.env import configure_onednn

    configure_onednn(True)
    assert onednn_flags() == {"FLAGS_use_onednn": True, "FLAGS_use_mkldnn": True}
    configure_onednn(False)
    assert onednn_flags() == {"FLAGS_use_onednn": False, "FLAGS_use_mkldnn": False}


def test_setup_runtime_applies_runtime_onednn_default_off(onednn_flags):
    from paddlefcn.runtime import setup_runtime

    setup_runtime({"runtime": {"onednn": True}})
    assert onednn_flags()["FLAGS_use_onednn"] is True
    setup_runtime({"runtime": {"cpu_threads": None}})
    assert onednn_flags()["FLAGS_use_onednn"] is False
    setup_runtime({"runtime": {"onednn": True}})
    setup_runtime({})
    assert onednn_flags()["FLAGS_use_onednn"] is False


@pytest.mark.parametrize(("value", "shown"), [("1", "1"), ("fast", "'fast'")])
def test_runtime_onednn_not_a_boolean_is_one_error_line(tmp_path, tiny_config, onednn_flags, capsys, value, shown):
    config = tmp_path / "tiny.yml"
    argv = ["-c", config, "--save-dir", tmp_path / "run", "-o", f"runtime.onednn={value}"]
    assert run_in_process("train", *argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"error: {config}: runtime.onednn must be true or false, got {shown}"]
    assert not (tmp_path / "run" / "checkpoints").exists()
