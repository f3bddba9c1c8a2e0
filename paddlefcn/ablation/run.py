"""Running the variants of an ablation, one run directory per variant and seed, skipping finished runs.

Layout: ``<out>/<variant>/seed<k>/`` is an ordinary training run (``config.yml``, ``vdl/``, ``checkpoints/``,
``best/``), so ``visualdl --logdir <out>`` shows every run side by side. ``variant.yml`` holds the resolved
config the run was started with, and ``result.json``, written atomically when training ends, marks the run
finished. An unfinished run resumes from its latest checkpoint; a run with progress refuses another config.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Optional, Sequence

from paddlefcn.ablation.recorder import AblationRecorder
from paddlefcn.ablation.suite import Variant
from paddlefcn.checks import check_int
from paddlefcn.config import dump_yaml, load_config
from paddlefcn.engine.checkpoint import CheckpointManager
from paddlefcn.engine.metrics import SUMMARY_KEYS
from paddlefcn.engine.training import train
from paddlefcn.errors import ConfigError, PaddleFCNError
from paddlefcn.utils.files import atomic_write_text

RESULT_FILE = "result.json"
VARIANT_FILE = "variant.yml"

logger = logging.getLogger("paddlefcn.ablation")


class TrainingInterruptedError(Exception):
    """Training of a variant was stopped by Ctrl-C (its checkpoint is saved)."""


def run_dir(out_dir: str | os.PathLike, variant: Variant, seed: int) -> Path:
    """The run directory of ``variant`` with ``seed``."""
    return Path(out_dir) / variant.name / f"seed{seed}"


def variant_config(variant: Variant, overrides: Sequence[str] = (), iters: Optional[int] = None) -> dict:
    """The variant's config with ``-o`` overrides and ``train.iters`` applied (``--iters`` turns a budget off)."""
    cfg = load_config(variant.config, overrides)
    if iters is not None:
        check_int(iters, "--iters", error=PaddleFCNError)
        train = cfg.setdefault("train", {})
        train["iters"] = iters
        if train.get("time_budget") is not None:
            train["time_budget"] = None
    return cfg


def run_variant(
    variant: Variant, seed: int, out_dir: str | os.PathLike, overrides: Sequence[str] = (), iters: Optional[int] = None
) -> dict:
    """Trains one variant with one seed, or reads its result if the run finished before.

    Returns:
        The contents of ``result.json``: variant, config, seed, iters, ``final`` and ``best`` metrics,
        ``curve`` (metrics per evaluation), ``params`` (trainable) and ``train_time_s``.

    Raises:
        PaddleFCNError: The run directory was started with a different config.
        TrainingInterruptedError: Training was stopped by Ctrl-C.
    """
    cfg = variant_config(variant, overrides, iters)
    directory = run_dir(out_dir, variant, seed)
    text = dump_yaml(cfg)
    started = directory / VARIANT_FILE
    finished = directory / RESULT_FILE
    progressed = finished.is_file() or CheckpointManager(directory).latest() is not None
    if progressed and started.is_file() and started.read_text(encoding="utf-8") != text:
        raise PaddleFCNError(
            f"{directory} was run with another config than {variant.config} with these options; "
            "use another --out or delete that directory"
        )
    if finished.is_file():
        result = json.loads(finished.read_text(encoding="utf-8"))
        logger.info("%s seed %d: finished before (mIoU %s), skipped", variant.name, seed, result["final"]["miou"])
        return result
    atomic_write_text(started, text)
    recorder = AblationRecorder()
    trainer = train(cfg, directory, resume="auto", seed=seed, extra_hooks=[recorder])
    if not trainer.completed:
        raise TrainingInterruptedError(f"{variant.name} seed {seed} interrupted; run again to resume it")
    result = summarize(variant, seed, trainer.iter, recorder)
    atomic_write_text(finished, json.dumps(result, indent=2) + "\n")
    return result


def summarize(variant: Variant, seed: int, iters: int, recorder: AblationRecorder) -> dict:
    """The result of a finished run from its recorder."""
    if not recorder.curve:
        raise PaddleFCNError(f"{variant.name}: training ended without an evaluation")
    best = max(recorder.curve, key=lambda point: point["miou"] if point["miou"] is not None else -1.0)
    return {
        "variant": variant.name,
        "config": str(variant.config),
        "seed": seed,
        "iters": iters,
        "final": {key: recorder.curve[-1][key] for key in SUMMARY_KEYS},
        "best": {"iter": best["iter"], **{key: best[key] for key in SUMMARY_KEYS}},
        "curve": recorder.curve,
        "params": recorder.params,
        "train_time_s": recorder.elapsed(),
    }


def run_ablation(
    variants: Sequence[Variant],
    out_dir: str | os.PathLike,
    seeds: int = 1,
    overrides: Sequence[str] = (),
    iters: Optional[int] = None,
) -> list[dict]:
    """Runs every variant with seeds ``0 .. seeds-1`` (finished runs are read back); returns their results."""
    check_int(seeds, "--seeds", error=PaddleFCNError)
    for variant in variants:  # fail on a bad config or option before hours of training
        variant_config(variant, overrides, iters)
    results = []
    for variant in variants:
        for seed in range(seeds):
            try:
                results.append(run_variant(variant, seed, out_dir, overrides, iters))
            except ConfigError as err:
                raise err.naming(variant.config) from err
    return results
