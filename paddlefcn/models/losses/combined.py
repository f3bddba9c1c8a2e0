"""The training loss of a segmentor: a weighted sum of losses, on the main logits and on each auxiliary head's."""

from __future__ import annotations

from typing import Sequence, Union

import paddle
from paddle import nn


class SegmentationLoss(nn.Layer):
    """``sum_i coef_i * loss_i(main) + sum_j aux_weight_j * sum_i coef_i * loss_i(aux_j)``.

    Args:
        terms: ``(loss, coef)`` pairs; each loss maps ``(logits, labels)`` to a scalar.
        aux_weights: One weight per auxiliary head, in the order the segmentor returns their logits.
    """

    def __init__(self, terms: Sequence[tuple[nn.Layer, float]], aux_weights: Sequence[float] = ()) -> None:
        super().__init__()
        self.losses = nn.LayerList([loss for loss, _ in terms])
        self.coefs = [coef for _, coef in terms]
        self.aux_weights = list(aux_weights)

    def forward(self, outputs: Union[paddle.Tensor, Sequence[paddle.Tensor]], labels: paddle.Tensor) -> paddle.Tensor:
        """The loss of the segmentor's ``outputs``: its logits, or ``[main, aux, ...]`` in training with aux heads."""
        if isinstance(outputs, paddle.Tensor):
            outputs = [outputs]
        if len(outputs) != 1 + len(self.aux_weights):
            raise ValueError(f"expected logits of 1 + {len(self.aux_weights)} heads, got {len(outputs)}")
        total = self._sum(outputs[0], labels)
        for weight, logits in zip(self.aux_weights, outputs[1:]):
            total = total + weight * self._sum(logits, labels)
        return total

    def _sum(self, logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        total = None
        for loss, coef in zip(self.losses, self.coefs):
            value = coef * loss(logits, labels)
            total = value if total is None else total + value
        return total
