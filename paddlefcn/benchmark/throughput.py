"""Images per second: raw forward+backward on fixed tensors, the real training loop, and validation."""

from __future__ import annotations

import itertools
import logging
import os
import time
from typing import Iterable, Iterator

import numpy as np
import paddle

from paddlefcn.engine.builder import Builder
from paddlefcn.engine.evaluator import evaluate
from paddlefcn.engine.trainer import Hook, Trainer, seed_everything
from paddlefcn.engine.training import train
from paddlefcn.models.losses import loss_terms
from paddlefcn.settings import EvalSettings, TrainSettings
from paddlefcn.utils.env import on_gpu


def synchronize() -> None:
    """Waits for queued device work (GPU kernels run asynchronously; CPU work is already done)."""
    if on_gpu():
        paddle.device.synchronize()


def raw_train_ips(cfg: dict, size: tuple[int, int], iters: int, warmup: int) -> tuple[float, float]:
    """The trainer's own step (forward, loss, backward, update; AMP as ``train.amp`` says) on one fixed in-memory
    batch: the compute-bound ceiling of the training loop.

    Returns:
        Images per second of wall time and of this process's CPU time (the latter is robust to load from other
        processes on a shared CPU).
    """
    seed_everything(0)
    settings = TrainSettings.of(cfg)
    build = Builder(cfg)
    num_classes = build.num_classes
    model = build.model()
    optimizer, lr = build.optimization(model, warmup + iters)
    loss_cfg = build.loss_config()
    for term in loss_terms(loss_cfg):
        if isinstance(term.get("weight"), str):  # computed from the labels in train(); speed does not depend on it
            term["weight"] = [1.0] * num_classes
    amp = ("float16" if on_gpu() else "bfloat16") if settings.amp else None
    logger = logging.getLogger("paddlefcn.benchmark")
    trainer = Trainer(model, None, build.loss(loss_cfg), optimizer, lr, warmup + iters, [], logger, amp=amp)
    model.train()
    rng = np.random.default_rng(0)
    batch = settings.batch_size
    images = paddle.to_tensor(rng.standard_normal((batch, 3, *size)).astype("float32"))
    labels = paddle.to_tensor(rng.integers(0, num_classes, (batch, *size)).astype("int64"))
    for _ in range(warmup):
        trainer.step(images, labels)
    synchronize()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(iters):
        trainer.step(images, labels)
    synchronize()
    return batch * iters / (time.perf_counter() - start), batch * iters / (time.process_time() - cpu_start)


class IterationClock(Hook):
    """Timestamps (wall and process CPU time) the end of every iteration, after the built-in hooks ran."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.cpu_times: list[float] = []

    def after_step(self, trainer: object) -> None:
        synchronize()
        self.times.append(time.perf_counter())
        self.cpu_times.append(time.process_time())


def train_loop_ips(cfg: dict, save_dir: str | os.PathLike, iters: int, warmup: int) -> tuple[float, float]:
    """``train()`` with its real loader, hooks and logging, timed over ``iters`` iterations after ``warmup``.

    Periodic evaluation and checkpoints happen only after the last timed iteration (validation speed is
    measured on its own); the run writes its usual files to ``save_dir``. Returns images per second of wall
    time and of process CPU time (loader workers, if any, are not in the latter).
    """
    total = warmup + iters + 1
    cfg = {**cfg, "train": {**cfg.get("train", {}), "iters": total, "eval_interval": total, "save_interval": total}}
    clock = IterationClock()
    train(cfg, save_dir, seed=0, extra_hooks=[clock])
    # times[i] is the end of iteration i + 1; iteration ``total`` also evaluates and saves, so it is left out.
    images = TrainSettings.of(cfg).batch_size * iters
    wall = clock.times[total - 2] - clock.times[warmup - 1]
    return images / wall, images / (clock.cpu_times[total - 2] - clock.cpu_times[warmup - 1])


def val_ips(cfg: dict, batches: int, warmup: int = 2) -> float:
    """``evaluate()`` over the first ``batches`` batches of the val loader (after ``warmup`` untimed ones)."""
    build = Builder(cfg)
    dataset, loader = build.val_data()
    model = build.model()
    options = {**EvalSettings.of(cfg).inference_options(), "progress": False}
    evaluate(model, itertools.islice(loader, warmup), dataset.num_classes, dataset.ignore_index, **options)
    counted = _Counting(itertools.islice(loader, batches))
    synchronize()
    start = time.perf_counter()
    evaluate(model, counted, dataset.num_classes, dataset.ignore_index, **options)
    synchronize()
    return counted.images / (time.perf_counter() - start)


class _Counting:
    """Passes batches through and counts their images."""

    def __init__(self, batches: Iterable) -> None:
        self.batches = batches
        self.images = 0

    def __iter__(self) -> Iterator:
        for batch in self.batches:
            self.images += int(batch[0].shape[0])
            yield batch
