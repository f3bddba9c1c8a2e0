"""A training run from a config: settings, runtime, resume and class weights around the ``Builder``; then trains."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Optional, Sequence

import paddle
import paddle.distributed as dist

from paddlefcn.checks import check_bool, check_int
from paddlefcn.config import dump_config, load_config
from paddlefcn.data.class_weights import class_weights, label_stats
from paddlefcn.engine.builder import Builder
from paddlefcn.engine.checkpoint import CheckpointManager, load_checkpoint, resolve_resume
from paddlefcn.engine.hooks import Hook
from paddlefcn.engine.optim import fit_warmup
from paddlefcn.engine.trainer import Trainer, seed_everything
from paddlefcn.models.losses import loss_terms
from paddlefcn.utils.env import configure_cpu, configure_onednn, on_gpu
from paddlefcn.utils.logging import setup_logger

PROGRESS_SECONDS = 10  # between progress lines of the class-weight count

RUNTIME_DEFAULTS = {"onednn": False}  # docs/performance.md: oneDNN in dygraph, measured

TRAIN_DEFAULTS = {
    "iters": 1000,
    "batch_size": 8,
    "eval_interval": 500,
    "save_interval": 500,
    "keep_checkpoints": 3,
    "log_interval": 20,
    "max_bad_steps": 5,
    "vis_images": 4,
    "sync_bn": True,
    "seed": 0,
    "amp": False,
}


def train_settings(cfg: dict) -> dict:
    """The ``train`` section with defaults filled in and checked."""
    settings = {**TRAIN_DEFAULTS, **cfg.get("train", {})}
    for key in ("iters", "batch_size", "eval_interval", "save_interval", "keep_checkpoints", "log_interval"):
        check_int(settings[key], f"train.{key}")
    check_int(settings["max_bad_steps"], "train.max_bad_steps")
    check_int(settings["vis_images"], "train.vis_images", minimum=0)
    check_int(settings["seed"], "train.seed", minimum=0)
    for key in ("amp", "sync_bn"):
        check_bool(settings[key], f"train.{key}")
    return settings


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
        runtime = cfg.get("runtime") or {}
        local = int(os.environ.get("PADDLE_LOCAL_SIZE", world))  # set by paddle.distributed.launch
        configure_cpu(runtime.get("cpu_threads"), ranks_per_machine=local)
        onednn = runtime.get("onednn")
        configure_onednn(RUNTIME_DEFAULTS["onednn"] if onednn is None else onednn)
    return world


def train(
    cfg: dict,
    save_dir: str | os.PathLike,
    resume: Optional[str] = None,
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
    given = {key: value for key, value in (("amp", amp), ("seed", seed)) if value is not None}
    cfg = {**cfg, "train": {**cfg.get("train", {}), **given}}  # a new train section: the caller's stays as it was
    settings = train_settings(cfg)
    manager = CheckpointManager(save_dir, settings["keep_checkpoints"])
    manager.repair()  # what a crashed earlier run left half-written
    checkpoint = resolve_resume(manager, resume)  # before anything is built or written: a refused run costs nothing
    logger = logger or setup_logger(str(save_dir))
    if isinstance(cfg.get("lr"), dict):
        cfg["lr"] = dict(cfg["lr"])  # the caller's stays as it was
        shortened = fit_warmup(cfg["lr"], settings["iters"])
        if shortened is not None:
            logger.warning(shortened)
    seed = settings["seed"]
    cfg["train"].update(seed=seed, amp=settings["amp"])  # config.yml records the values the run used
    seed_everything(seed)
    build = Builder(cfg)
    build.check_num_classes()
    loss_cfg = build.loss_config()

    train_set, train_loader = build.train_data(settings["batch_size"], seed)
    for term in loss_terms(loss_cfg):
        if isinstance(term.get("weight"), str):
            term["weight"] = resolve_class_weights(term["weight"], train_set, save_dir, checkpoint, logger)
    cfg["loss"] = loss_cfg  # config.yml records the ignore value and the weights the run used
    val_set, val_loader = build.val_data()

    model = build.model()
    if world > 1:
        if gpu and settings["sync_bn"]:
            model = paddle.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = paddle.DataParallel(model)
    optimizer, lr = build.optimization(model, settings["iters"])
    hooks = build.hooks(settings, save_dir, manager, val_set, logger) if rank0 else []
    trainer = Trainer(
        model,
        train_loader,
        build.loss(loss_cfg),
        optimizer,
        lr,
        settings["iters"],
        [*hooks, *extra_hooks],
        logger,
        amp=("float16" if gpu else "bfloat16") if settings["amp"] else None,
        max_bad_steps=settings["max_bad_steps"],
        images_per_step=settings["batch_size"] * world,
        evaluation=build.evaluation(val_set, val_loader, settings["eval_interval"]),
    )
    if checkpoint is not None:
        state, trainer_state = load_checkpoint(checkpoint, model, optimizer)
        trainer.restore(state, trainer_state)
        logger.info("resumed from %s at iteration %d", checkpoint, trainer.iter)
    elif resume == "auto":
        logger.info("no checkpoint in %s, starting from scratch", save_dir / "checkpoints")
    if rank0:
        dump_config(cfg, save_dir / "config.yml")
    trainer.completed = trainer.run()
    return trainer


def resolve_class_weights(
    method: str, train_set: object, save_dir: Path, checkpoint: Optional[Path], logger: logging.Logger
) -> list[float]:
    """The loss weights of ``method`` for ``train_set``: computed from its labels, or on resume read back from the
    run's ``config.yml``, so that a resumed run trains with exactly the weights it started with."""
    saved = save_dir / "config.yml"
    if checkpoint is not None and saved.is_file():
        weight = next(
            (
                term.get("weight")
                for term in loss_terms(load_config(saved).get("loss") or {})
                if isinstance(term.get("weight"), list)
            ),
            None,
        )
        if isinstance(weight, list) and len(weight) == train_set.num_classes:
            logger.info("class weights (%s) from %s: %s", method, saved, _format_weights(weight, train_set.class_names))
            return weight
    logger.info("computing %s class weights from %d train labels", method, len(train_set))
    last_shown = [time.monotonic()]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last_shown[0] >= PROGRESS_SECONDS and done < total:
            logger.info("  class weights: %d/%d labels read", done, total)
            last_shown[0] = time.monotonic()

    stats = label_stats(train_set, progress=progress)
    weights = class_weights(method, stats, train_set.class_names)
    logger.info("class weights (%s): %s", method, _format_weights(weights, train_set.class_names))
    return weights


def _format_weights(weights: Sequence[float], names: Sequence[str]) -> str:
    return ", ".join(f"{name} {w:.4g}" for name, w in zip(names, weights))
