"""A training run from a config: the run directory, resume and class weights around the ``Builder``; then trains."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional, Sequence

import paddle
import paddle.distributed as dist

from paddlefcn.config import dump_config
from paddlefcn.engine.builder import Builder
from paddlefcn.engine.checkpoint import CheckpointManager, load_checkpoint, resolve_resume
from paddlefcn.engine.loss_weights import resolve_class_weights
from paddlefcn.engine.optim import fit_warmup
from paddlefcn.engine.trainer import Hook, Trainer, seed_everything
from paddlefcn.runtime import setup_runtime
from paddlefcn.settings import TrainSettings
from paddlefcn.utils.env import on_gpu
from paddlefcn.utils.logging import setup_logger


def train(
    cfg: dict,
    save_dir: str | os.PathLike,
    resume: Optional[str] = None,
    iters: Optional[int] = None,
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
        iters: Iterations to train; default ``train.iters``.
        amp: Mixed precision (float16 with loss scaling on GPU, bfloat16 on CPU); default ``train.amp``.
        seed: Seed of initialisation, shuffling and augmentation; default ``train.seed``.
        logger: Defaults to the run logger (stdout + ``train.log``).
        extra_hooks: Called after the built-in hooks, on every rank.

    Returns:
        The trainer after the run (``trainer.iter``, ``trainer.last_eval``, ``trainer.completed``).
    """
    world = setup_runtime(cfg)
    gpu = on_gpu()
    save_dir = Path(save_dir)
    rank0 = dist.get_rank() == 0
    settings = TrainSettings.of(cfg, iters=iters, amp=amp, seed=seed)
    manager = CheckpointManager(save_dir, settings.keep_checkpoints)
    manager.repair()  # what a crashed earlier run left half-written
    checkpoint = resolve_resume(manager, resume)  # before anything is built or written: a refused run costs nothing
    logger = logger or setup_logger(str(save_dir))
    given = {key: value for key, value in (("iters", iters), ("amp", amp), ("seed", seed)) if value is not None}
    cfg = {**cfg, "train": {**cfg.get("train", {}), **given}}  # a new train section: the caller's stays as it was
    cfg["train"].update(seed=settings.seed, amp=settings.amp)  # config.yml records the values the run used
    if isinstance(cfg.get("lr"), dict):
        cfg["lr"] = dict(cfg["lr"])
        shortened = fit_warmup(cfg["lr"], settings.iters)
        if shortened is not None:
            logger.warning(shortened)
    seed_everything(settings.seed)
    build = Builder(cfg)
    build.check_num_classes()
    loss_cfg = build.loss_config()

    train_set, train_loader = build.train_data(settings.batch_size, settings.seed)
    saved_config = save_dir / "config.yml"
    resolve_class_weights(loss_cfg, train_set, saved_config if checkpoint and saved_config.is_file() else None, logger)
    cfg["loss"] = loss_cfg  # config.yml records the ignore value and the weights the run used
    val_set, val_loader = build.val_data()

    model = build.model()
    if world > 1:
        if gpu and settings.sync_bn:
            model = paddle.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = paddle.DataParallel(model)
    optimizer, lr = build.optimization(model, settings.iters)
    hooks = build.hooks(settings, save_dir, manager, val_set, logger) if rank0 else []
    trainer = Trainer(
        model,
        train_loader,
        build.loss(loss_cfg),
        optimizer,
        lr,
        settings.iters,
        [*hooks, *extra_hooks],
        logger,
        amp=("float16" if gpu else "bfloat16") if settings.amp else None,
        max_bad_steps=settings.max_bad_steps,
        images_per_step=settings.batch_size * world,
        evaluation=build.evaluation(val_set, val_loader, settings.eval_interval),
    )
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
