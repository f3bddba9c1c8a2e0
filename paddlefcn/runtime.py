"""The process a tool runs in: the data-parallel group, CPU threads and kernels (the ``runtime`` section)."""

from __future__ import annotations

import os

import paddle.distributed as dist

from paddlefcn.settings import RuntimeSettings
from paddlefcn.utils.env import configure_cpu, configure_onednn, on_gpu


def init_distributed() -> int:
    """Initialises data-parallel training when launched with several ranks; returns the world size."""
    world = dist.get_world_size()
    if world > 1:
        dist.init_parallel_env()
    return world


def setup_runtime(cfg: dict) -> int:
    """Joins the data-parallel group if launched with several ranks and sets CPU threads and kernels (``runtime``);
    returns the world size."""
    world = init_distributed()
    if not on_gpu():
        runtime = RuntimeSettings.of(cfg)
        local = int(os.environ.get("PADDLE_LOCAL_SIZE", world))  # set by paddle.distributed.launch
        configure_cpu(runtime.cpu_threads, ranks_per_machine=local)
        configure_onednn(runtime.onednn)
    return world
