"""The built-in training hooks: logging, VisualDL and checkpoints (the ``Hook`` base is in ``trainer``)."""

from __future__ import annotations

import logging
import math
import sys
from collections import deque
from typing import TYPE_CHECKING, Any, Optional, Sequence

import cv2
import numpy as np
import paddle

from paddlefcn.engine.checkpoint import CheckpointManager
from paddlefcn.engine.metrics import SUMMARY_METRICS
from paddlefcn.engine.trainer import Hook, Trainer
from paddlefcn.utils.progress import ProgressBar

if TYPE_CHECKING:
    from paddlefcn.data.meta import DatasetMeta


def every(interval: int, trainer: Trainer) -> bool:
    """True every ``interval`` iterations and at the last one."""
    return trainer.iter % interval == 0 or trainer.iter == trainer.total_iters


class LoggerHook(Hook):
    """Logs iteration, loss, LR, images/s, data time and ETA, with a progress bar on a terminal.

    Args:
        logger: Receives one line every ``interval`` iterations (stdout and ``train.log``).
        interval: Iterations between log lines.
        window: Iterations the loss and timings are averaged over.
    """

    def __init__(self, logger: logging.Logger, interval: int = 20, window: int = 20) -> None:
        self.logger = logger
        self.interval = interval
        self.loss = deque(maxlen=window)
        self.step_time = deque(maxlen=window)
        self.data_time = deque(maxlen=window)
        self.bar: Optional[ProgressBar] = None

    def before_train(self, trainer: Trainer) -> None:
        if sys.stdout.isatty():
            self.bar = ProgressBar(trainer.total_iters, sys.stdout, done=trainer.iter)
        self.logger.info(
            "training iterations %d to %d on %d process(es), %d images per iteration",
            trainer.iter + 1,
            trainer.total_iters,
            paddle.distributed.get_world_size(),
            trainer.images_per_step,
        )

    def after_step(self, trainer: Trainer) -> None:
        out = trainer.outputs
        if out.loss is not None:
            self.loss.append(out.loss)
        self.step_time.append(out.step_time)
        self.data_time.append(out.data_time)
        if self.bar is not None:
            self.bar.update(trainer.iter)
        if every(self.interval, trainer):
            if self.bar is not None:
                self.bar.clear()
            self.logger.info(self.line(trainer))

    def line(self, trainer: Trainer) -> str:
        """The log line for the current iteration."""
        step = float(np.mean(self.step_time))
        eta = step * (trainer.total_iters - trainer.iter)
        loss = f"{np.mean(self.loss):.4f}" if self.loss else "nan"
        return (
            f"iter {trainer.iter}/{trainer.total_iters}  loss {loss}  lr {trainer.outputs.lr:.3e}  "
            f"ips {trainer.images_per_step / step:.2f} img/s  data {np.mean(self.data_time):.3f}s  "
            f"eta {_duration(eta)}" + (f"  skipped {trainer.skipped_steps}" if trainer.skipped_steps else "")
        )

    def after_eval(self, trainer: Trainer) -> None:
        metrics = trainer.last_eval.metrics
        shown = "  ".join(f"{name} {_metric(metrics[key])}" for name, key in SUMMARY_METRICS)
        self.logger.info("eval at iter %d: %s", trainer.last_eval.iter, shown)

    def on_interrupt(self, trainer: Trainer) -> None:
        self.logger.info("stopped after iteration %d", trainer.iter)


def _metric(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class CheckpointHook(Hook):
    """Saves ``checkpoints/iter_<N>`` every ``interval`` iterations, at the end and on Ctrl-C, and ``best/``.

    Args:
        manager: Where and how many checkpoints are kept.
        interval: Iterations between checkpoints.
    """

    def __init__(self, manager: CheckpointManager, interval: int) -> None:
        self.manager = manager
        self.interval = interval
        self.best_miou = -math.inf
        self.best_iter = 0
        self.saved_iter = -1

    def after_eval(self, trainer: Trainer) -> None:
        result = trainer.last_eval
        miou = result.metrics["miou"]
        if miou is not None and miou > self.best_miou:
            self.best_miou, self.best_iter = miou, result.iter
            self.manager.save_best(trainer.model, result.iter, result.metrics)

    def after_step(self, trainer: Trainer) -> None:
        if every(self.interval, trainer):
            self._save(trainer)

    def on_interrupt(self, trainer: Trainer) -> None:
        if trainer.iter > 0:
            path = self._save(trainer)
            trainer.logger.info("checkpoint saved to %s; continue with --resume auto", path)

    def _save(self, trainer: Trainer) -> Any:
        if self.saved_iter == trainer.iter:
            return self.manager.root / f"iter_{trainer.iter}"
        path = self.manager.save(trainer.iter, trainer.model, trainer.optimizer, *trainer.checkpoint_state())
        self.saved_iter = trainer.iter  # only once written: an interrupted save is redone by on_interrupt
        return path

    def state_dict(self) -> dict:
        return {"best_miou": self.best_miou if math.isfinite(self.best_miou) else None, "best_iter": self.best_iter}

    def load_state_dict(self, state: dict) -> None:
        self.best_miou = -math.inf if state.get("best_miou") is None else state["best_miou"]
        self.best_iter = state.get("best_iter", 0)


class VisualDLHook(Hook):
    """Writes scalars, per-class IoU, image panels and the confusion matrix for VisualDL.

    Args:
        logdir: VisualDL log directory (``<save_dir>/vdl``).
        interval: Iterations between training scalars.
        vis_samples: ``(raw_image HWC uint8, label HW, model_input CHW)`` of fixed val images drawn as
            image / ground truth / prediction panels at each evaluation.
        meta: The val set's classes: names for the per-class IoU tags, colours and the ignore value for the panels.
    """

    def __init__(
        self,
        logdir: str,
        interval: int,
        vis_samples: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
        meta: DatasetMeta,
    ) -> None:
        from visualdl import LogWriter

        self.writer = LogWriter(logdir=logdir)
        self.interval = interval
        self.vis_samples = list(vis_samples)
        self.class_names = list(meta.class_names)
        self.meta = meta

    def after_step(self, trainer: Trainer) -> None:
        out = trainer.outputs
        if every(self.interval, trainer):
            if out.loss is not None:
                self.writer.add_scalar("Train/loss", out.loss, trainer.iter)
            self.writer.add_scalar("Train/lr", trainer.outputs.lr, trainer.iter)
            self.writer.add_scalar("Train/ips", trainer.images_per_step / max(out.step_time, 1e-9), trainer.iter)

    def after_eval(self, trainer: Trainer) -> None:
        step, metrics = trainer.last_eval.iter, trainer.last_eval.metrics
        for tag, key in SUMMARY_METRICS:
            if metrics[key] is not None:
                self.writer.add_scalar(f"Eval/{tag}", metrics[key], step)
        for name, iou in zip(self.class_names, metrics["class_iou"]):
            if iou is not None:
                self.writer.add_scalar(f"Eval/IoU/{name}", iou, step)
        self.writer.add_image("Eval/confusion_matrix", confusion_image(np.array(metrics["confusion_matrix"])), step)
        for i, panel in enumerate(self._panels(trainer)):
            self.writer.add_image(f"Eval/sample_{i}", panel, step)

    def _panels(self, trainer: Trainer) -> list[np.ndarray]:
        from paddlefcn.utils.visualize import colorize

        if not self.vis_samples:
            return []
        model = trainer.model
        was_training = model.training
        model.eval()
        panels = []
        with paddle.no_grad():
            for raw, label, model_input in self.vis_samples:
                logits = model(paddle.to_tensor(model_input[None]))
                pred = logits.argmax(axis=1)[0].numpy()
                pred = cv2.resize(pred.astype(np.uint8), raw.shape[1::-1], interpolation=cv2.INTER_NEAREST)
                colours = [colorize(mask, self.meta.palette, self.meta.ignore_index) for mask in (label, pred)]
                panels.append(np.concatenate([raw, *colours], 1))
        if was_training:
            model.train()
        return panels

    def after_train(self, trainer: Trainer) -> None:
        self.writer.close()

    def on_interrupt(self, trainer: Trainer) -> None:
        self.writer.close()


def confusion_image(matrix: np.ndarray, cell: int = 16) -> np.ndarray:
    """The row-normalised confusion matrix (rows: truth, columns: prediction) as an RGB heat map."""
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros(matrix.shape, dtype=np.float64), where=rows > 0)
    gray = np.round(normalised * 255).astype(np.uint8)
    heat = cv2.applyColorMap(gray, cv2.COLORMAP_VIRIDIS)[:, :, ::-1]
    return np.ascontiguousarray(np.repeat(np.repeat(heat, cell, axis=0), cell, axis=1))
