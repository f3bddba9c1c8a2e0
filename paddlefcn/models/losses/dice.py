"""Soft Dice loss over softmax probabilities."""

from __future__ import annotations

from typing import Optional, Sequence

import paddle
import paddle.nn.functional as F

from paddlefcn.models.losses.base import Loss
from paddlefcn.registry import LOSSES


def scored_one_hot(labels: paddle.Tensor, num_classes: int, ignore_index: int) -> tuple[paddle.Tensor, paddle.Tensor]:
    """The float32 mask of scored pixels ``[N, H, W]`` and the one-hot labels ``[N, C, H, W]``, zero where ignored.

    Ignored pixels are given class 0 before ``one_hot``, so ``ignore_index`` may lie inside ``[0, C)``.
    """
    scored = labels != ignore_index
    safe = paddle.where(scored, labels, paddle.zeros_like(labels))
    mask = scored.astype("float32")
    one_hot = F.one_hot(safe, num_classes).transpose([0, 3, 1, 2]) * mask.unsqueeze(1)
    return mask, one_hot


@LOSSES.register()
class DiceLoss(Loss):
    """Soft Dice loss, one Dice score per class over the whole batch, averaged over the classes.

    With softmax probabilities ``p``, one-hot labels ``y`` and the scored-pixel mask ``m`` (0 where the label is
    ``ignore_index``), each sum running over the batch and all pixels::

        dice_c = (2 * sum(m * p_c * y_c) + smooth) / (sum(m * p_c) + sum(m * y_c) + smooth)
        loss = sum_c w_c * (1 - dice_c) / sum_c w_c

    with ``w_c = 1`` unless ``weight`` is given. A batch without a scored pixel gives 0.

    Args:
        ignore_index: Label value that contributes nothing.
        smooth: Added to the numerator and the denominator of each class's Dice score.
        weight: Optional per-class weights of the average over classes.
    """

    def __init__(self, ignore_index: int = 255, smooth: float = 1.0, weight: Optional[Sequence[float]] = None) -> None:
        super().__init__(ignore_index, weight)
        self.smooth = float(smooth)

    def forward(self, logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        probs = F.softmax(logits.astype("float32"), axis=1)
        mask, one_hot = scored_one_hot(labels, probs.shape[1], self.ignore_index)
        probs = probs * mask.unsqueeze(1)
        axes = [0, 2, 3]
        intersection = (probs * one_hot).sum(axes)
        total = probs.sum(axes) + one_hot.sum(axes)
        # The clip only matters when smooth is 0 and no pixel is scored; that case is zeroed below.
        dice = (2 * intersection + self.smooth) / (total + self.smooth).clip(min=1e-12)
        weight = paddle.ones_like(dice) if self.weight is None else self.weight
        loss = (weight * (1 - dice)).sum() / weight.sum()
        return loss * (mask.sum() > 0).astype("float32")
