"""Builds the parts of a run from a config, in one place that every tool uses."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Sequence, Union

import paddle
from paddle.io import DataLoader, Dataset

from paddlefcn.checks import require
from paddlefcn.data import build_dataset, dataset_meta
from paddlefcn.data.loader import build_val_loader
from paddlefcn.data.meta import DatasetMeta, class_count_mismatch
from paddlefcn.data.resumable import build_train_loader
from paddlefcn.engine.checkpoint import CheckpointManager
from paddlefcn.engine.evaluator import PeriodicEvaluation
from paddlefcn.engine.hooks import CheckpointHook, LoggerHook, VisualDLHook
from paddlefcn.engine.optim import build_lr_scheduler, build_optimizer
from paddlefcn.engine.trainer import Hook
from paddlefcn.engine.weights import load_trained_model
from paddlefcn.errors import ConfigError
from paddlefcn.models import FCN, build_model
from paddlefcn.models.losses import SegmentationLoss, build_loss, loss_config
from paddlefcn.models.segmentor import aux_loss_weights
from paddlefcn.settings import DataSettings, EvalSettings, ModelSettings, TrainSettings


class Builder:
    """Turns a loaded config into model, data, loss, optimizer, evaluation and hooks.

    Train, val, predict, export, benchmark and ablation all build through it, so a config means the same to each
    and is checked the same way.

    Args:
        cfg: A loaded config (``load_config``).
    """

    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg

    @property
    def num_classes(self) -> int:
        """``model.num_classes``, checked."""
        return ModelSettings.of(self.cfg).num_classes

    def meta(self, split: str = "val") -> DatasetMeta:
        """The classes, colours and ignore value of ``data.<split>``, read without touching a file."""
        return dataset_meta(require(self.cfg, f"data.{split}"))

    def check_num_classes(self, splits: Sequence[str] = ("train", "val")) -> int:
        """``model.num_classes`` after checking it against each of ``data.<split>`` the config has."""
        num_classes = self.num_classes
        data = self.cfg.get("data") or {}
        for split in splits:
            if data.get(split) is not None:
                problem = class_count_mismatch(num_classes, split, self.meta(split).num_classes)
                if problem:
                    raise ConfigError(problem)
        return num_classes

    def model(self, weights: Optional[Union[str, Path]] = None) -> FCN:
        """The segmentor: with ``backbone.pretrained`` for training, or in eval mode with trained ``weights``."""
        self.check_num_classes()
        model_cfg = require(self.cfg, "model")
        return build_model(model_cfg) if weights is None else load_trained_model(model_cfg, weights)

    @property
    def num_workers(self) -> int:
        """``data.num_workers``, checked."""
        require(self.cfg, "data")
        return DataSettings.of(self.cfg).num_workers

    @property
    def eval_settings(self) -> EvalSettings:
        """The ``eval`` section, checked."""
        return EvalSettings.of(self.cfg)

    def train_data(self, batch_size: int, seed: int) -> tuple[Dataset, DataLoader]:
        """The train set and its resumable, seeded loader (this rank's share)."""
        dataset = build_dataset(require(self.cfg, "data.train"))
        return dataset, build_train_loader(dataset, batch_size, self.num_workers, seed)

    def val_data(self) -> tuple[Dataset, DataLoader]:
        """The val set and this rank's loader over its shard, labels at the size of their files."""
        dataset = build_dataset(require(self.cfg, "data.val"))
        return dataset, build_val_loader(dataset, self.eval_settings.batch_size, self.num_workers)

    def loss_config(self) -> Union[dict, list]:
        """The ``loss`` section completed with the train set's ignore value and checked (``loss_config``)."""
        return loss_config(self.cfg.get("loss"), self.meta("train").ignore_index, self.num_classes)

    def loss(self, completed: Union[dict, list]) -> SegmentationLoss:
        """The training loss of a completed ``loss`` section, with the auxiliary heads' weights."""
        return build_loss(completed, aux_loss_weights(require(self.cfg, "model")))

    def optimization(
        self, model: paddle.nn.Layer, total_iters: int
    ) -> tuple[paddle.optimizer.Optimizer, paddle.optimizer.lr.LRScheduler]:
        """The optimizer over ``model`` (``optimizer``) and its schedule over ``total_iters`` (``lr``)."""
        lr = build_lr_scheduler(require(self.cfg, "lr"), total_iters)
        return build_optimizer(model, self.cfg.get("optimizer") or {}, lr), lr

    def evaluation(self, val_set: Dataset, val_loader: DataLoader, interval: int) -> PeriodicEvaluation:
        """Evaluation on the val loader every ``interval`` iterations, with the ``eval`` section's options."""
        return PeriodicEvaluation(val_loader, val_set.meta, interval, self.eval_settings.inference_options())

    def hooks(
        self,
        settings: TrainSettings,
        save_dir: Path,
        manager: CheckpointManager,
        val_set: Dataset,
        logger: logging.Logger,
    ) -> list[Hook]:
        """Rank 0's hooks: logging, VisualDL and checkpoints."""
        shown = range(min(settings.vis_images, len(val_set)))
        vis_samples = [(*val_set.load(i), val_set[i][0]) for i in shown]
        return [
            LoggerHook(logger, settings.log_interval),
            VisualDLHook(str(save_dir / "vdl"), settings.log_interval, vis_samples, val_set.meta),
            CheckpointHook(manager, settings.save_every),
        ]
