"""Lovász-Softmax loss (Berman, Rannen Triki and Blaschko, CVPR 2018)."""

from __future__ import annotations

import paddle
import paddle.nn.functional as F

from paddlefcn.errors import ConfigError
from paddlefcn.models.losses.base import Loss
from paddlefcn.models.losses.dice import scored_one_hot
from paddlefcn.registry import LOSSES

CLASS_CHOICES = ("present", "all")


def lovasz_extension(errors: paddle.Tensor, truth: paddle.Tensor) -> paddle.Tensor:
    """The Lovász extension of the Jaccard loss along the last axis, one value per leading index.

    Args:
        errors: Per-pixel errors ``|y - p|`` (non-negative), or -1 for pixels that do not take part.
        truth: Per-pixel ground truth in {0, 1}, 0 for pixels that do not take part.
    """
    order = paddle.argsort(errors, axis=-1, descending=True)
    errors_sorted = paddle.take_along_axis(errors, order, axis=-1)
    truth_sorted = paddle.take_along_axis(truth, order, axis=-1)
    positives = truth_sorted.sum(-1, keepdim=True)
    intersection = positives - truth_sorted.cumsum(-1)
    union = positives + (1 - truth_sorted).cumsum(-1)  # at least 1 from the first pixel on
    jaccard = 1 - intersection / union
    grad = paddle.concat([jaccard[..., :1], jaccard[..., 1:] - jaccard[..., :-1]], axis=-1)
    return (errors_sorted.clip(min=0) * grad).sum(-1)  # the -1 of pixels that take no part count 0


@LOSSES.register()
class LovaszSoftmaxLoss(Loss):
    """Lovász-Softmax: the Lovász extension of the Jaccard loss of each class, averaged over classes.

    For class ``c`` over the scored pixels (those whose label is not ``ignore_index``) of the batch, or of each image
    when ``per_image``: errors ``e_i = |y_ci - p_ci|`` sorted in decreasing order, ground truth ``y`` in that order,
    ``J_k = 1 - (P - sum_{i<=k} y_i) / (P + sum_{i<=k} (1 - y_i))`` with ``P = sum_i y_i``, and
    ``loss_c = sum_k e_k * (J_k - J_{k-1})`` with ``J_0 = 0``. The class average is over the classes present in the
    labels (``classes="present"``) or over all (``"all"``); ``per_image`` averages the images that have a scored
    pixel. A batch without a scored pixel gives 0.

    Args:
        ignore_index: Label value that contributes nothing.
        classes: ``"present"`` or ``"all"``.
        per_image: One loss per image, averaged, instead of one over the batch.
    """

    class_weights = False

    def __init__(self, ignore_index: int = 255, classes: str = "present", per_image: bool = False) -> None:
        super().__init__(ignore_index)
        if classes not in CLASS_CHOICES:
            raise ConfigError(f"LovaszSoftmaxLoss: classes must be 'present' or 'all', got {classes!r}")
        self.classes = classes
        self.per_image = bool(per_image)

    def forward(self, logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        probs = F.softmax(logits.astype("float32"), axis=1)
        n, c = probs.shape[:2]
        mask, one_hot = scored_one_hot(labels, c, self.ignore_index)
        # Ignored pixels get error -1: they sort after every scored pixel and leave its prefix sums unchanged.
        errors = (one_hot - probs).abs() * mask.unsqueeze(1) - (1 - mask.unsqueeze(1))
        if self.per_image:
            errors, truth, scored = errors.reshape([n, c, -1]), one_hot.reshape([n, c, -1]), mask.reshape([n, -1])
        else:
            errors = errors.transpose([1, 0, 2, 3]).reshape([c, -1])
            truth = one_hot.transpose([1, 0, 2, 3]).reshape([c, -1])
            scored = mask.reshape([-1])
        per_class = lovasz_extension(errors, truth)
        if self.classes == "present":
            present = (truth.sum(-1) > 0).astype("float32")
            per_group = (per_class * present).sum(-1) / present.sum(-1).clip(min=1)
        else:
            per_group = per_class.mean(-1)
        if not self.per_image:
            return per_group
        has_pixels = (scored.sum(-1) > 0).astype("float32")
        return (per_group * has_pixels).sum() / has_pixels.sum().clip(min=1)
