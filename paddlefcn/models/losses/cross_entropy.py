"""Pixel-wise cross-entropy."""

from __future__ import annotations

import paddle
import paddle.nn.functional as F

from paddlefcn.models.losses.base import Loss
from paddlefcn.registry import LOSSES


@LOSSES.register()
class CrossEntropyLoss(Loss):
    """Pixel-wise cross-entropy averaged over the pixels that are not ``ignore_index`` (weighted by ``weight``)."""

    def forward(self, logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        return F.cross_entropy(
            logits.astype("float32"),
            labels.unsqueeze(1),
            weight=self.weight,
            ignore_index=self.ignore_index,
            axis=1,
            reduction="mean",
        )
