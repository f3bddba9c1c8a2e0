"""The run logger: stdout and ``<save_dir>/train.log`` on rank 0, warnings only elsewhere."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

import paddle.distributed as dist


def setup_logger(save_dir: Optional[str] = None, name: str = "paddlefcn") -> logging.Logger:
    """Returns the ``paddlefcn`` logger writing to stdout (and ``save_dir/train.log`` on rank 0)."""
    logger = logging.getLogger(name)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = False
    rank = dist.get_rank()
    logger.setLevel(logging.INFO if rank == 0 else logging.WARNING)
    fmt = logging.Formatter(
        f"%(asctime)s {'' if rank == 0 else f'[rank {rank}] '}%(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"
    )
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(fmt)
    logger.addHandler(console)
    if save_dir is not None and rank == 0:
        Path(save_dir).mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(Path(save_dir) / "train.log", encoding="utf-8")
        to_file.setFormatter(fmt)
        logger.addHandler(to_file)
    return logger
