"""Test-time inference: whole image or sliding window, with optional flip and multi-scale averaging.

Every combination averages **logits** (sliding-window overlaps, the flipped pass and the scales), so
the result is still logits: a single pass returns exactly what the model returns, and ``argmax`` or
``softmax`` can be applied to it afterwards like to any model output.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn

from paddlefcn.settings import EvalSettings

Window = tuple[tuple[int, int], tuple[int, int]]  # (crop (h, w), stride (h, w))
Transforms = Callable[[np.ndarray, None], tuple[np.ndarray, object]]


def predict_logits(
    model: nn.Layer,
    images: paddle.Tensor,
    mode: str = "whole",
    crop_size: Optional[Sequence[int]] = None,
    stride: Optional[Sequence[int]] = None,
    flip: bool = False,
    scales: Sequence[float] = (1.0,),
) -> paddle.Tensor:
    """Logits ``[N, C, H, W]`` at the size of ``images`` ``[N, 3, H, W]``.

    The caller chooses train/eval mode and gradient recording; this function only runs forward passes.

    Args:
        model: Returns logits at its input's size for any size.
        images: A normalised batch.
        mode: ``"whole"`` (one pass over the full image) or ``"slide"`` (crops of ``crop_size``).
        crop_size: Window ``(h, w)`` for ``"slide"``; images smaller than it are zero-padded.
        stride: Window step ``(h, w)``; at most ``crop_size``. Defaults to half the crop.
        flip: Also predict the horizontally flipped image and average.
        scales: Resize factors; the image is resized (bilinear) by each, predicted, and the logits
            are resized back and averaged.
    """
    checked = EvalSettings.from_values(
        {"mode": mode, "crop_size": crop_size, "stride": stride, "flip": flip, "scales": scales}
    )
    window, scales = checked.window, checked.scales
    height, width = images.shape[2], images.shape[3]
    total = None
    for scale in scales:
        size = [max(1, round(height * scale)), max(1, round(width * scale))]
        resized = images if size == [height, width] else _resize(images, size)
        logits = _flip_averaged(model, resized, window, flip)
        if size != [height, width]:
            logits = _resize(logits, [height, width])
        total = logits if total is None else total + logits
    return total if len(scales) == 1 else total / len(scales)


def predict_mask(model: nn.Layer, image: np.ndarray, transforms: Transforms, **options: object) -> np.ndarray:
    """The class mask ``[H, W]`` (int64) of one HWC RGB uint8 image, at the image's own size.

    Args:
        model: The segmentor, in eval mode.
        image: The image as read from disk.
        transforms: The val ``Compose`` (at least ``Normalize``); if it resizes, the logits are
            resized back (bilinear) before the argmax.
        **options: Inference options of ``predict_logits``.
    """
    chw, _ = transforms(image, None)
    with paddle.no_grad():
        logits = predict_logits(model, paddle.to_tensor(chw[None]), **options)
        return labels_at_size(logits, image.shape[:2])[0].numpy().astype(np.int64)


def labels_at_size(logits: paddle.Tensor, size: Sequence[int]) -> paddle.Tensor:
    """Class indices ``[N, H, W]`` at ``size`` ``(H, W)``; logits of another size are resized (bilinear) first."""
    if list(logits.shape[2:]) != list(size):
        logits = _resize(logits, list(size))
    return logits.argmax(axis=1)


def _resize(x: paddle.Tensor, size: list[int]) -> paddle.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _flip_averaged(model: nn.Layer, images: paddle.Tensor, window: Optional[Window], flip: bool) -> paddle.Tensor:
    logits = _single(model, images, window)
    if flip:
        flipped = _single(model, paddle.flip(images, axis=[3]), window)
        logits = (logits + paddle.flip(flipped, axis=[3])) / 2
    return logits


def _single(model: nn.Layer, images: paddle.Tensor, window: Optional[Window]) -> paddle.Tensor:
    if window is None:
        return model(images)
    return _slide(model, images, *window)


def _slide(model: nn.Layer, images: paddle.Tensor, crop: tuple[int, int], step: tuple[int, int]) -> paddle.Tensor:
    """Averages the logits of overlapping windows; the last window of each axis ends at the border."""
    height, width = images.shape[2], images.shape[3]
    pad_h, pad_w = max(crop[0] - height, 0), max(crop[1] - width, 0)
    if pad_h or pad_w:
        # Zero is the mean colour after normalisation, as in the model's own padding.
        images = F.pad(images, [0, pad_w, 0, pad_h])
    full_h, full_w = height + pad_h, width + pad_w
    rows = _starts(full_h, crop[0], step[0])
    cols = _starts(full_w, crop[1], step[1])
    count = np.zeros([full_h, full_w], dtype=np.float32)
    total = None
    for top in rows:
        for left in cols:
            logits = model(images[:, :, top : top + crop[0], left : left + crop[1]])
            if total is None:
                total = paddle.zeros([images.shape[0], logits.shape[1], full_h, full_w], dtype=logits.dtype)
            total[:, :, top : top + crop[0], left : left + crop[1]] += logits
            count[top : top + crop[0], left : left + crop[1]] += 1
    averaged = total / paddle.to_tensor(count, dtype=total.dtype)
    return averaged[:, :, :height, :width]


def _starts(size: int, crop: int, step: int) -> list[int]:
    """Window offsets along one axis that cover ``[0, size)``; ``size >= crop``."""
    last = size - crop
    return list(range(0, last, step)) + [last]
