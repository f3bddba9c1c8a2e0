"""Online hard example mining cross-entropy (Shrivastava et al., CVPR 2016), as PaddleSeg and mmseg use it."""

from __future__ import annotations

from typing import Optional, Sequence

import paddle
import paddle.nn.functional as F

from paddlefcn.checks import check_int, check_number
from paddlefcn.models.losses.base import Loss
from paddlefcn.registry import LOSSES


@LOSSES.register()
class OhemCrossEntropyLoss(Loss):
    """Cross-entropy over the hard pixels of the batch only.

    With ``p_i`` the softmax probability of the true class of scored pixel ``i`` (its label is not
    ``ignore_index``), a pixel is kept when ``p_i < t``, where ``t = max(thresh, p_(k))`` and ``p_(k)`` is the
    ``(min_kept + 1)``-th smallest ``p`` of the batch (the largest when there are fewer scored pixels): every
    pixel the model is less sure of than ``thresh``, and at least the ``min_kept`` hardest. The loss is the
    (``weight``-weighted) mean cross-entropy of the kept pixels; 0 when none is kept.

    Args:
        ignore_index: Label value that contributes nothing.
        thresh: Probability below which a pixel counts as hard.
        min_kept: Pixels kept per batch at least (0: only the threshold decides).
        weight: Optional per-class weights.
    """

    def __init__(
        self,
        ignore_index: int = 255,
        thresh: float = 0.7,
        min_kept: int = 100000,
        weight: Optional[Sequence[float]] = None,
    ) -> None:
        super().__init__(ignore_index, weight)
        self.thresh = check_number(thresh, "OhemCrossEntropyLoss.thresh", positive=True)
        self.min_kept = check_int(min_kept, "OhemCrossEntropyLoss.min_kept", minimum=0)

    def forward(self, logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        logits = logits.astype("float32")
        kept = self.hard_pixels(logits, labels)
        if not bool(kept.any()):
            return logits.sum() * 0.0
        hard_labels = paddle.where(kept, labels, paddle.full_like(labels, self.ignore_index))
        return F.cross_entropy(
            logits, hard_labels.unsqueeze(1), weight=self.weight, ignore_index=self.ignore_index, axis=1
        )

    def hard_pixels(self, logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        """The boolean mask ``[N, H, W]`` of the pixels the loss keeps."""
        with paddle.no_grad():
            scored = labels != self.ignore_index
            safe = paddle.where(scored, labels, paddle.zeros_like(labels))
            probs = F.softmax(logits, axis=1)
            true_prob = paddle.take_along_axis(probs, safe.unsqueeze(1), axis=1).squeeze(1)
            threshold = self.thresh
            valid = paddle.masked_select(true_prob, scored)
            if self.min_kept > 0 and valid.shape[0] > 0:
                ordered = paddle.sort(valid)
                kth = float(ordered[min(self.min_kept, valid.shape[0] - 1)])
                threshold = max(threshold, kth)
            return scored & (true_prob < threshold)
