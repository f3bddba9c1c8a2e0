"""CPU threads: the user's OMP_NUM_THREADS survives Paddle's import, before or after ours; unset means every core."""

import os
import subprocess
import sys

import pytest

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
