"""Evaluates a segmentor on a data loader: confusion matrix on the device, metrics on the host."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

import paddle
import paddle.distributed as dist
from paddle import nn

from paddlefcn.engine.inference import labels_at_size, predict_logits
from paddlefcn.engine.metrics import ConfusionMatrix, compute_metrics
from paddlefcn.utils.progress import ProgressBar

if TYPE_CHECKING:
    from paddlefcn.data.meta import DatasetMeta


def evaluate(
    model: nn.Layer,
    loader: Iterable,
    num_classes: int,
    ignore_index: int = 255,
    mode: str = "whole",
    crop_size: Optional[Sequence[int]] = None,
    stride: Optional[Sequence[int]] = None,
    flip: bool = False,
    scales: Sequence[float] = (1.0,),
    progress: bool = True,
) -> dict:
    """Runs the model over ``loader`` and returns the metrics of ``compute_metrics``.

    The model is put in eval mode and every layer's previous train/eval flag is restored afterwards.
    With several ranks, each evaluates its own shard and the confusion matrices are summed.

    Args:
        model: Returns logits ``[N, C, H, W]`` at its input's size.
        loader: Yields ``(images [N, 3, H, W], labels [N, H', W'])`` batches. Labels may keep their files'
            size while a ``Resize`` changed the images' (``LabelsAtFileSize``): the logits are then resized
            (bilinear) to the labels' size before the argmax, so metrics are at the original resolution.
        num_classes: Number of classes.
        ignore_index: Label value that is not scored.
        mode: Inference mode, see ``predict_logits``; so are ``crop_size``, ``stride``, ``flip`` and ``scales``.
        progress: Show a progress bar on rank 0 when stdout is a terminal.
    """
    matrix = ConfusionMatrix(num_classes, ignore_index)
    show = progress and sys.stdout.isatty() and dist.get_rank() == 0
    bar = ProgressBar(_length(loader), sys.stdout) if show else None
    flags = [(layer, layer.training) for layer in model.sublayers(include_self=True)]
    model.eval()
    try:
        with paddle.no_grad():
            for batch in loader:
                images, labels = batch[0], batch[1]
                logits = predict_logits(
                    model, images, mode=mode, crop_size=crop_size, stride=stride, flip=flip, scales=scales
                )
                matrix.update(labels_at_size(logits, labels.shape[1:]), labels)
                if bar is not None:
                    bar.step()
    finally:
        if flags[0][1]:
            model.train()
        for layer, training in flags:
            layer.training = training
        if bar is not None:
            bar.close()
    return compute_metrics(matrix.all_reduce().numpy())


@dataclass(frozen=True)
class EvalResult:
    """One evaluation during training.

    Attributes:
        iter: The iteration after which it ran.
        metrics: What ``evaluate`` returns (``miou``, ``pa``, ``mpa``, ``fwiou``, ``class_iou``, ...).
    """

    iter: int
    metrics: dict


class PeriodicEvaluation:
    """What the trainer evaluates, and how often: every ``interval`` iterations and at the last one.

    Runs on every rank: each evaluates its own shard and the confusion matrices are all-reduced.

    Args:
        loader: Val loader.
        meta: The val set's classes and ignore value.
        interval: Iterations between evaluations.
        options: Inference options of ``evaluate`` (mode, crop_size, stride, flip, scales).
    """

    def __init__(self, loader: Any, meta: DatasetMeta, interval: int, options: dict) -> None:
        self.loader = loader
        self.meta = meta
        self.interval = interval
        self.options = {**options, "progress": False}

    def due(self, iteration: int, total_iters: int) -> bool:
        """Whether to evaluate after ``iteration``."""
        return iteration % self.interval == 0 or iteration == total_iters

    def run(self, model: nn.Layer, iteration: int) -> EvalResult:
        """Evaluates ``model`` after ``iteration``."""
        metrics = evaluate(model, self.loader, self.meta.num_classes, self.meta.ignore_index, **self.options)
        return EvalResult(iteration, metrics)


def _length(loader: Iterable) -> Optional[int]:
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None
