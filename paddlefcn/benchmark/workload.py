"""Turning a training config into a benchmark config: input size, batch size, no pretrained download."""

from __future__ import annotations

import copy
import logging
from typing import Optional, Sequence

from paddlefcn.checks import require
from paddlefcn.data import build_dataset
from paddlefcn.engine.optim import fit_warmup


def benchmark_config(
    cfg: dict, total_iters: int, batch_size: Optional[int] = None, size: Optional[Sequence[int]] = None
) -> dict:
    """A copy of ``cfg`` for timing ``total_iters`` training iterations.

    The backbone starts from random weights, a learning-rate warm-up longer than the run is shortened to fit
    (speed depends on neither, and nothing is downloaded) and a recipe's ``train.time_budget`` is turned off (the
    benchmark times its own count); ``batch_size`` replaces ``train.batch_size``;
    ``size`` (``[H, W]``) makes every training and val input that size, by a ``Resize`` placed before ``Normalize``.
    """
    cfg = copy.deepcopy(cfg)
    require(cfg, "model.backbone")["pretrained"] = None
    cfg.setdefault("train", {})["time_budget"] = None
    shortened = fit_warmup(cfg.get("lr"), total_iters)
    if shortened is not None:
        logging.getLogger("paddlefcn").info("benchmark: %s", shortened)
    if batch_size is not None:
        cfg.setdefault("train", {})["batch_size"] = batch_size
    if size is not None:
        for split in ("train", "val"):
            section = require(cfg, f"data.{split}")
            section["transforms"] = with_resize(section.get("transforms") or [{"type": "Normalize"}], size)
    return cfg


def with_resize(transforms: list[dict], size: Sequence[int]) -> list[dict]:
    """``transforms`` without any ``Resize``, with ``Resize(size)`` before the first ``Normalize`` (or last)."""
    kept = [t for t in transforms if t.get("type") != "Resize"]
    at = next((i for i, t in enumerate(kept) if t.get("type") == "Normalize"), len(kept))
    return [*kept[:at], {"type": "Resize", "size": list(size)}, *kept[at:]]


def training_input_size(cfg: dict) -> tuple[int, int]:
    """``(H, W)`` of the training inputs the real loader gives (from the first sample)."""
    image = build_dataset(require(cfg, "data.train"))[0][0]
    return int(image.shape[-2]), int(image.shape[-1])
