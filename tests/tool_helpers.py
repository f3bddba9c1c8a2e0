"""Running the scripts in ``tools/`` from tests, in this process or in a fresh one."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from paddlefcn.cli import run_tool

REPO = Path(__file__).resolve().parents[1]


def load_tool(name):
    """The module ``tools/<name>.py``."""
    spec = importlib.util.spec_from_file_location(f"tool_{name}", REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # where dataclasses look up the module's names
    spec.loader.exec_module(module)
    return module


def run_in_process(name, *argv):
    """The exit status of ``tools/<name>.py argv...`` run in this process."""
    tool = load_tool(name)
    return run_tool(tool.main, tool.build_parser(), [str(a) for a in argv])


def run_subprocess(name, *argv, cwd=REPO, timeout=120):
    """``tools/<name>.py argv...`` run in a new Python process with 2 threads; the ``CompletedProcess``."""
    env = dict(os.environ, OMP_NUM_THREADS="2")
    cmd = [sys.executable, str(REPO / "tools" / f"{name}.py"), *[str(a) for a in argv]]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd)
