"""PASCAL VOC 2012 segmentation, and VOC augmented with SBD (the 10582-image ``train_aug`` split)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional

from paddlefcn.data.datasets.base import SegDataset, read_list
from paddlefcn.data.io import MISSING, DataError
from paddlefcn.data.meta import DatasetMeta, make_meta
from paddlefcn.data.transforms import Compose
from paddlefcn.registry import DATASETS
from paddlefcn.utils.palette import voc_palette

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip
SPLIT_DIR = Path("ImageSets") / "Segmentation"


@DATASETS.register()
class VOC(SegDataset):
    """The VOC2012 layout: ``JPEGImages/<id>.jpg``, ``SegmentationClass/<id>.png`` (palette PNGs, 255 = void)
    and ``ImageSets/Segmentation/<split>.txt``.

    Args:
        root: The ``VOC2012`` directory.
        split: ``train``, ``val``, ``trainval`` (any list name in ``ImageSets/Segmentation``).
        transforms: Applied to every sample.
        label_map: Label value -> class or ignore value, e.g. ``{255: 1}``; other values stay (docs/data.md).
    """

    label_dir = "SegmentationClass"

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        transforms: Optional[Compose] = None,
        label_map: Optional[Mapping[int, int]] = None,
    ) -> None:
        root = Path(root)
        list_path = root / SPLIT_DIR / f"{split}.txt"
        if not list_path.is_file():
            known = sorted(p.stem for p in (root / SPLIT_DIR).glob("*.txt"))
            hint = f" (lists there: {', '.join(known)})" if known else f" (is {root} a VOC2012 directory?)"
            raise DataError(list_path, MISSING, f"split list not found{hint}")
        samples = [
            (str(root / "JPEGImages" / f"{name}.jpg"), str(root / self.label_dir / f"{name}.png"))
            for (name,) in read_list(list_path, 1)
        ]
        super().__init__(samples, self.describe({}), transforms, str(list_path), label_map)
        self.root = str(root)
        self.split = split

    @classmethod
    def describe(cls, cfg: dict) -> DatasetMeta:
        """The 21 VOC classes with the VOC colour map."""
        return make_meta(len(VOC_CLASSES), VOC_CLASSES, voc_palette(len(VOC_CLASSES)))


@DATASETS.register()
class VOCAug(VOC):
    """VOC2012 plus SBD as written by ``tools/prepare_voc.py``: labels in ``SegmentationClassAug`` and the
    lists ``train_aug`` (10582 images) and ``val`` (1449).

    Args:
        root: The ``--out`` directory of ``tools/prepare_voc.py``.
        split: ``train_aug`` or ``val``.
        transforms: Applied to every sample.
        label_map: Label value -> class or ignore value, e.g. ``{255: 1}``; other values stay (docs/data.md).
    """

    label_dir = "SegmentationClassAug"

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train_aug",
        transforms: Optional[Compose] = None,
        label_map: Optional[Mapping[int, int]] = None,
    ) -> None:
        super().__init__(root, split, transforms, label_map)
