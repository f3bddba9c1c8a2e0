"""A training run from a config: the run directory, resume and class weights around the ``Builder``; then trains."""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional, Sequence

import paddle
import paddle.distributed as dist

from paddlefcn.checks import check_int
from paddlefcn.config import dump_config, load_config
from paddlefcn.engine import time_budget as budgeting
from paddlefcn.engine.builder import Builder
from paddlefcn.engine.checkpoint import CheckpointManager, load_checkpoint, resolve_resume
from paddlefcn.engine.evaluator import PeriodicEvaluation
from paddlefcn.engine.loss_weights import resolve_class_weights
from paddlefcn.engine.optim import fit_warmup
from paddlefcn.engine.trainer import Hook, Trainer, seed_everything
from paddlefcn.runtime import setup_runtime
from paddlefcn.settings import TrainSettings, interval_steps
from paddlefcn.utils.env import on_gpu
from paddlefcn.utils.logging import setup_logger


def train(
    cfg: dict,
    save_dir: str | os.PathLike,
    resume: Optional[str] = None,
    iters: Optional[int] = None,
    time_budget: Optional[str] = None,
    amp: Optional[bool] = None,
    seed: Optional[int] = None,
    logger: Optional[logging.Logger] = None,
    extra_hooks: Sequence[Hook] = (),
) -> Trainer:
    """Trains the model a config describes and writes the run to ``save_dir``.

    Args:
        cfg: A loaded config (``load_config``).
        save_dir: Run directory: ``config.yml``, ``train.log``, ``vdl/``, ``checkpoints/``, ``best/``.
        resume: ``None``, ``"auto"`` (latest checkpoint in ``save_dir``, if any) or a checkpoint directory.
        iters: Iterations to train; default ``train.iters``. Given without ``time_budget``, it also turns off the
            config's ``train.time_budget``.
        time_budget: Wall-clock budget (``"25m"``) from which the run fixes ``iters``; default ``train.time_budget``.
        amp: Mixed precision (float16 with loss scaling on GPU, bfloat16 on CPU); default ``train.amp``.
        seed: Seed of initialisation, shuffling and augmentation; default ``train.seed``.
        logger: Defaults to the run logger (stdout + ``train.log``).
        extra_hooks: Called after the built-in hooks, on every rank.

    Returns:
        The trainer after the run (``trainer.iter``, ``trainer.last_eval``, ``trainer.completed``).
    """
    started = budgeting.clock()
    world = setup_runtime(cfg)
    gpu = on_gpu()
    save_dir = Path(save_dir)
    rank0 = dist.get_rank() == 0
    if iters is not None and time_budget is None and (cfg.get("train") or {}).get("time_budget") is not None:
        cfg = {**cfg, "train": {**cfg["train"], "time_budget": None}}  # a count asked for replaces the recipe's budget
    settings = TrainSettings.of(cfg, iters=iters, time_budget=time_budget, amp=amp, seed=seed)
    manager = CheckpointManager(save_dir, settings.keep_checkpoints)
    manager.repair()  # what a crashed earlier run left half-written
    checkpoint = resolve_resume(manager, resume)  # before anything is built or written: a refused run costs nothing
    logger = logger or setup_logger(str(save_dir))
    given = {
        key: value
        for key, value in (("iters", iters), ("time_budget", time_budget), ("amp", amp), ("seed", seed))
        if value is not None
    }
    cfg = {**cfg, "train": {**cfg.get("train", {}), **given}}  # a new train section: the caller's stays as it was
    cfg["train"].update(seed=settings.seed, amp=settings.amp)  # config.yml records the values the run used
    if isinstance(cfg.get("lr"), dict):
        cfg["lr"] = dict(cfg["lr"])
        if settings.time_budget is None:
            shortened = fit_warmup(cfg["lr"], settings.iters)
            if shortened is not None:
                logger.warning(shortened)
    seed_everything(settings.seed)
    build = Builder(cfg)
    build.check_num_classes()
    loss_cfg = build.loss_config()

    train_set, train_loader = build.train_data(settings.batch_size, settings.seed)
    saved_config = save_dir / "config.yml"
    previous = load_config(saved_config) if checkpoint is not None and saved_config.is_file() else None
    resolve_class_weights(loss_cfg, train_set, previous, saved_config, logger)
    cfg["loss"] = loss_cfg  # config.yml records the ignore value and the weights the run used
    val_set, val_loader = build.val_data()

    model = build.model()
    loss_fn = build.loss(loss_cfg)
    precision = ("float16" if gpu else "bfloat16") if settings.amp else None

    def make_trainer(
        total_iters: int,
        hooks: Sequence[Hook],
        wrapped: paddle.nn.Layer = model,
        evaluated: bool = True,
        schedule_iters: Optional[int] = None,
    ) -> Trainer:
        optimizer, lr = build.optimization(wrapped, schedule_iters or total_iters)
        interval = interval_steps(settings.eval_interval, total_iters)
        return Trainer(
            wrapped,
            train_loader,
            loss_fn,
            optimizer,
            lr,
            total_iters,
            hooks,
            logger,
            amp=precision,
            max_bad_steps=settings.max_bad_steps,
            images_per_step=settings.batch_size * world,
            evaluation=build.evaluation(val_set, val_loader, interval) if evaluated else None,
        )

    if settings.time_budget is not None:
        # the probe's schedule spans a long run, so any warm-up fits; its rates do not change its step time
        probe = functools.partial(make_trainer, evaluated=False, schedule_iters=budgeting.PROBE_SCHEDULE_ITERS)
        evaluation = build.evaluation(val_set, val_loader, 1)
        fixed = budgeted_iters(cfg, settings, previous, probe, evaluation, model, logger, started)
        settings = replace(settings, iters=fixed)
        cfg["train"]["iters"] = settings.iters
    if world > 1:
        if gpu and settings.sync_bn:
            model = paddle.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = paddle.DataParallel(model)
    hooks = build.hooks(settings, save_dir, manager, val_set, logger) if rank0 else []
    trainer = make_trainer(settings.iters, [*hooks, *extra_hooks], model)
    optimizer = trainer.optimizer
    if checkpoint is not None:
        state, trainer_state = load_checkpoint(checkpoint, model, optimizer)
        trainer.restore(state, trainer_state)
        logger.info("resumed from %s at iteration %d", checkpoint, trainer.iter)
    elif resume == "auto":
        logger.info("no checkpoint in %s, starting from scratch", save_dir / "checkpoints")
    if rank0:
        dump_config(cfg, saved_config)
    trainer.completed = trainer.run()
    return trainer


def budgeted_iters(
    cfg: dict,
    settings: TrainSettings,
    previous: Optional[dict],
    probe: Callable[[int, Sequence[Hook]], Trainer],
    evaluation: PeriodicEvaluation,
    model: paddle.nn.Layer,
    logger: logging.Logger,
    started: float,
) -> int:
    """The iterations ``train.time_budget`` buys: measured now, or on resume the count the run fixed before."""
    budget_text = cfg["train"]["time_budget"]
    if previous is not None:
        fixed = check_int((previous.get("train") or {}).get("iters"), "train.iters of the resumed run's config.yml")
        logger.info("time budget %s: train.iters %d, as the run fixed it (config.yml)", budget_text, fixed)
        return fixed
    costs = budgeting.measure_costs(probe, evaluation, model)
    remaining = settings.time_budget - (budgeting.clock() - started)
    warmup = (cfg.get("lr") or {}).get("warmup_iters", 0)
    iters = budgeting.plan_iterations(
        remaining, costs, settings.eval_interval, settings.save_interval, warmup, budget_text
    )
    if dist.get_world_size() > 1:  # every rank trains rank 0's count (each measured its own)
        count = paddle.to_tensor([iters], dtype="int64")
        dist.broadcast(count, src=0)
        iters = int(count.item())
    budgeting.log_plan(logger, budget_text, costs, iters)
    return iters
