"""The loss contract: ``forward(logits, labels) -> scalar`` with the dataset's ignore value and class weights."""

from __future__ import annotations

from typing import ClassVar, Optional, Sequence

import paddle
from paddle import nn


class Loss(nn.Layer):
    """Base of every loss in ``LOSSES``.

    The loss section builds each entry with the dataset's ``ignore_index`` (pixels with that label contribute
    nothing) and, if the entry names one, a per-class ``weight`` vector (given, or computed from the train labels).
    A loss that cannot weight classes sets ``class_weights = False``; a ``weight`` for it is refused in the config.

    Args:
        ignore_index: Label value that contributes no loss.
        weight: Optional per-class weights, one per class.
    """

    class_weights: ClassVar[bool] = True

    def __init__(self, ignore_index: int = 255, weight: Optional[Sequence[float]] = None) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.weight = None if weight is None else paddle.to_tensor(list(weight), dtype="float32")

    def forward(self, logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        """The loss of ``logits`` ``[N, C, H, W]`` against ``labels`` ``[N, H, W]``, a scalar."""
        raise NotImplementedError
