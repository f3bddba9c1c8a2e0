"""CPU settings chosen in one place: the thread count and the kernels (oneDNN or Paddle's own) of dygraph.

Measured on a 2-core machine (FCN-8s/ResNet34, 96x96, batch 8, one training step): 1.26 s with
Paddle's defaults (one thread), 0.72 s with one thread per core. oneDNN is chosen by ``runtime.onednn``
(docs/performance.md has the measurements); exported models always enable it in Paddle Inference.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

from paddlefcn.checks import check_bool, check_int


def _environ_at_exec(name: str) -> Optional[str]:
    """``name`` in the environment the process was started with (Linux), ``""`` if absent, ``None`` if unknown."""
    try:
        entries = Path("/proc/self/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    prefix = f"{name}=".encode()
    return next((entry[len(prefix) :].decode(errors="replace") for entry in entries if entry.startswith(prefix)), "")


def _users_omp_num_threads() -> str:
    """``OMP_NUM_THREADS`` as the user set it.

    Importing Paddle sets it to 1 when it is unset, so it is read before paddlefcn imports Paddle
    (paddlefcn/__init__.py imports this module first). If Paddle was imported earlier, a 1 counts only if
    the process was started with it.
    """
    value = os.environ.get("OMP_NUM_THREADS", "")
    if value == "1" and "paddle" in sys.modules and _environ_at_exec("OMP_NUM_THREADS") != "1":
        return ""
    return value


_OMP_AT_START = _users_omp_num_threads()


def requested_threads() -> Optional[int]:
    """The thread count the user set in ``OMP_NUM_THREADS`` (not Paddle's import), else ``None``."""
    if not _OMP_AT_START.isdigit() or int(_OMP_AT_START) < 1:
        return None
    return int(_OMP_AT_START)


def available_cores() -> int:
    """Cores this process may run on (respects CPU affinity and container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def configure_cpu(threads: Optional[int] = None, ranks_per_machine: int = 1) -> int:
    """Sets the CPU thread count of OpenMP and Paddle's math library; returns it.

    Args:
        threads: Threads per process; by default ``OMP_NUM_THREADS`` if the user set it (see
            ``requested_threads``), else the available cores shared evenly between the processes of this machine
            (at least one each).
        ranks_per_machine: Processes that share the machine's cores (data-parallel ranks on CPU).
    """
    if threads is None:
        threads = requested_threads() or max(1, available_cores() // max(1, ranks_per_machine))
    check_int(threads, "runtime.cpu_threads")
    import paddle

    os.environ["OMP_NUM_THREADS"] = str(threads)
    setter = getattr(paddle.base.core, "set_num_threads", None) if hasattr(paddle, "base") else None
    if setter is not None:
        setter(threads)
    return threads


# The dygraph switch for oneDNN kernels: Paddle 3 reads FLAGS_use_onednn, Paddle 2.6 FLAGS_use_mkldnn.
ONEDNN_FLAGS = ("FLAGS_use_onednn", "FLAGS_use_mkldnn")


def configure_onednn(enabled: bool) -> None:
    """Turns Paddle's oneDNN CPU kernels for dygraph on or off (every flag this Paddle knows of ``ONEDNN_FLAGS``)."""
    check_bool(enabled, "runtime.onednn")
    import paddle

    for flag in ONEDNN_FLAGS:
        try:
            paddle.set_flags({flag: enabled})
        except ValueError:  # a flag this version of Paddle does not have
            continue


def on_gpu() -> bool:
    """Whether Paddle's current device is a GPU."""
    import paddle

    return paddle.device.get_device().startswith("gpu")
