"""The accuracy cost of a reduced-precision export, measured before its files are written.

The fp32 export and the bf16/int8 one segment the same val images (each preprocessed as ``deploy.yaml`` says,
labels scored at the image's full size, as validation does); the result is both mIoU values, their difference in
points and the share of pixels on which the two models agree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional, Sequence

import numpy as np
import paddle

from paddlefcn.engine.metrics import ConfusionMatrix, compute_metrics
from paddlefcn.errors import PaddleFCNError


@dataclass
class AccuracyCost:
    """What reducing the precision cost on ``images`` images of ``split`` (recorded in ``deploy.yaml``).

    Attributes:
        split: The data split scored (``val``).
        images: How many images.
        precision: The reduced precision (``bf16`` or ``int8``).
        miou_fp32: mIoU of the fp32 export.
        miou: mIoU of the reduced-precision export.
        miou_drop: ``(miou_fp32 - miou) * 100``: points of mIoU lost (negative: gained).
        mask_agreement: Share of pixels given the same class by both exports.
    """

    split: str
    images: int
    precision: str
    miou_fp32: float
    miou: float
    miou_drop: float
    mask_agreement: float

    def as_dict(self) -> dict:
        """The fields rounded for ``deploy.yaml`` (mIoU to 4 digits, points to 2)."""
        values = asdict(self)
        del values["precision"]  # deploy.yaml's own precision
        values.update(
            miou_fp32=round(self.miou_fp32, 4),
            miou=round(self.miou, 4),
            miou_drop=round(self.miou_drop, 2),
            mask_agreement=round(self.mask_agreement, 4),
        )
        return values

    def summary(self) -> str:
        """One line: the two mIoU values, the drop and the agreement."""
        return (
            f"val mIoU {self.miou_fp32:.4f} (fp32) -> {self.miou:.4f} ({self.precision}) on {self.images} "
            f"{self.split} images, a drop of {self.miou_drop:.2f} points; masks agree on {self.mask_agreement:.2%} "
            "of pixels"
        )


def measure_cost(
    reference: object,
    reduced: object,
    dataset: object,
    indices: Sequence[int],
    precision: str,
    split: str = "val",
) -> AccuracyCost:
    """Scores two predictors on ``dataset`` images ``indices`` and compares them.

    Args:
        reference: The fp32 ``Predictor``.
        reduced: The bf16/int8 ``Predictor``.
        dataset: A ``SegDataset`` (``load(i)`` gives the raw image and its label; ``num_classes``, ``ignore_index``).
        indices: The images scored.
        precision: The reduced precision, for the record.
        split: The split's name, for the record.
    """
    if not indices:
        raise PaddleFCNError("the accuracy check needs at least one image")
    matrices = [ConfusionMatrix(dataset.num_classes, dataset.ignore_index) for _ in range(2)]
    same = total = 0
    for index in indices:
        image, label = dataset.load(index)
        masks = [predictor.predict([image])[0] for predictor in (reference, reduced)]
        truth = paddle.to_tensor(label[None].astype(np.int64))
        for matrix, mask in zip(matrices, masks):
            matrix.update(paddle.to_tensor(mask[None].astype(np.int64)), truth)
        same += int(np.count_nonzero(masks[0] == masks[1]))
        total += masks[0].size
    miou_fp32, miou = (_miou(matrix) for matrix in matrices)
    return AccuracyCost(
        split=split,
        images=len(indices),
        precision=precision,
        miou_fp32=miou_fp32,
        miou=miou,
        miou_drop=(miou_fp32 - miou) * 100.0,
        mask_agreement=same / total,
    )


def _miou(matrix: ConfusionMatrix) -> float:
    value: Optional[float] = compute_metrics(matrix.numpy())["miou"]
    return 0.0 if value is None else value


def require_within(cost: AccuracyCost, limit: Optional[float]) -> None:
    """Raises one line naming the numbers if ``cost.miou_drop`` exceeds ``limit`` points (``None``: no limit)."""
    if limit is not None and cost.miou_drop > limit:
        hint = "calibrate on more images, try export.calib_method percentile, or " if cost.precision == "int8" else ""
        raise PaddleFCNError(
            f"{cost.precision} export refused, nothing written: {cost.summary()}, more than --max-miou-drop "
            f"{limit:g} ({hint}pass --max-miou-drop none to write it anyway)"
        )
