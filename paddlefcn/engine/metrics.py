"""Segmentation metrics from a confusion matrix that is accumulated on the device."""

from __future__ import annotations

import json
import os
from typing import Optional, Sequence

import numpy as np
import paddle
import paddle.distributed as dist

from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.files import atomic_write_text

# The summary metrics as (display name, key in a ``compute_metrics`` result), in the order they are shown.
SUMMARY_METRICS = (("mIoU", "miou"), ("PA", "pa"), ("MPA", "mpa"), ("FWIoU", "fwiou"))
SUMMARY_KEYS = tuple(key for _, key in SUMMARY_METRICS)
# Every key of a ``compute_metrics`` result: the summary, then the per-class values and the matrix.
RESULT_KEYS = (*SUMMARY_KEYS, "class_iou", "class_acc", "confusion_matrix")


class ConfusionMatrix:
    """A ``[C, C]`` count matrix; rows are ground-truth classes, columns predicted classes.

    It lives on the default device as an int64 tensor and is updated with one ``bincount`` per
    batch, so nothing is copied to the host until ``numpy()``.

    Args:
        num_classes: Number of classes C.
        ignore_index: Label value whose pixels are not counted.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self._counts = paddle.zeros([num_classes * num_classes], dtype="int64")

    def update(self, pred: paddle.Tensor, label: paddle.Tensor) -> None:
        """Adds one batch.

        Args:
            pred: Predicted class per pixel, integer tensor ``[N, H, W]`` with values in ``[0, C)``.
            label: Ground truth of the same shape; ``ignore_index`` pixels are skipped.
        """
        if list(pred.shape) != list(label.shape):
            raise ValueError(f"pred shape {list(pred.shape)} differs from label shape {list(label.shape)}")
        c = self.num_classes
        pred = pred.reshape([-1]).astype("int64")
        label = label.reshape([-1]).astype("int64")
        valid = label != self.ignore_index
        bad = paddle.logical_and(valid, paddle.logical_or(label < 0, label >= c))
        if bool(bad.any()):
            value = int(paddle.masked_select(label, bad)[0])
            raise PaddleFCNError(
                f"label value {value} is not a class in [0, {c}) nor the ignore index {self.ignore_index}"
            )
        # Ignored pixels go to an extra bin (index C*C) that is dropped, so every shape stays static.
        index = paddle.where(valid, label * c + pred, paddle.full_like(label, c * c))
        self._counts += paddle.bincount(index, minlength=c * c + 1)[: c * c]

    def all_reduce(self) -> ConfusionMatrix:
        """Sums the matrix over all ranks (a no-op in a single process)."""
        if dist.get_world_size() > 1:
            dist.all_reduce(self._counts)
        return self

    def reset(self) -> None:
        """Sets all counts to zero."""
        self._counts = paddle.zeros_like(self._counts)

    def numpy(self) -> np.ndarray:
        """The counts as an int64 array ``[C, C]``."""
        return self._counts.numpy().reshape(self.num_classes, self.num_classes)


def compute_metrics(cm: np.ndarray) -> dict:
    """Pixel accuracy, mean accuracy, mean IoU and frequency-weighted IoU from a confusion matrix.

    A class absent from both the labels and the predictions has no IoU (NaN) and a class absent
    from the labels has no accuracy; means skip these classes. Undefined values are ``None`` in the
    result so that it can be written as JSON directly.

    Args:
        cm: Counts ``[C, C]``, rows ground truth, columns prediction.

    Returns:
        A dict with the keys of ``RESULT_KEYS``: scalars as floats, per-class values as lists and
        the matrix as nested lists of ints.
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {cm.shape}")
    tp = np.diag(cm)
    gt = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    union = gt + predicted - tp
    total = cm.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
        acc = np.where(gt > 0, tp / gt, np.nan)
        freq = gt / total if total > 0 else np.zeros_like(gt)
    present = freq > 0
    return {
        "miou": _mean(iou),
        "pa": _scalar(tp.sum() / total) if total > 0 else None,
        "mpa": _mean(acc),
        "fwiou": _scalar(np.sum(freq[present] * iou[present])) if present.any() else None,
        "class_iou": [_scalar(v) for v in iou],
        "class_acc": [_scalar(v) for v in acc],
        "confusion_matrix": cm.astype(np.int64).tolist(),
    }


def save_metrics(path: str | os.PathLike, metrics: dict) -> None:
    """Writes the metrics as JSON (atomically); undefined values are ``null``."""
    atomic_write_text(path, json.dumps(metrics, indent=2, allow_nan=False) + "\n")


def _mean(values: np.ndarray) -> Optional[float]:
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else None


def _scalar(value: float) -> Optional[float]:
    return None if np.isnan(value) else float(value)


def format_table(metrics: dict, class_names: Optional[Sequence[str]] = None) -> str:
    """A readable summary line and a per-class IoU / accuracy table.

    Args:
        metrics: The result of ``compute_metrics``.
        class_names: One name per class; class indices are shown when omitted.
    """
    n = len(metrics["class_iou"])
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    if len(names) != n:
        raise ValueError(f"{len(names)} class names for {n} classes")
    counts = np.asarray(metrics["confusion_matrix"]).sum(axis=1)
    width = max([len("class")] + [len(name) for name in names])
    lines = [
        "  ".join(f"{name} {_fmt(metrics[key])}" for name, key in SUMMARY_METRICS),
        f"{'class':<{width}}  {'IoU':>7}  {'Acc':>7}  {'pixels':>12}",
        "-" * (width + 34),
    ]
    for name, iou, acc, count in zip(names, metrics["class_iou"], metrics["class_acc"], counts):
        lines.append(f"{name:<{width}}  {_fmt(iou):>7}  {_fmt(acc):>7}  {int(count):>12}")
    return "\n".join(lines)


def _fmt(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.4f}"
