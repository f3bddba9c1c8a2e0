"""Cityscapes as downloaded (leftImg8bit + gtFine), its labelIds mapped to the 19 train ids on the fly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional

from paddlefcn.data.datasets.base import SegDataset
from paddlefcn.data.encoding import LabelTable
from paddlefcn.data.io import MISSING, DataError
from paddlefcn.data.meta import IGNORE_INDEX, DatasetMeta, make_meta
from paddlefcn.data.transforms import Compose
from paddlefcn.errors import PaddleFCNError
from paddlefcn.registry import DATASETS

# The 19 evaluated classes of the official table (cityscapesscripts/helpers/labels.py): train id, name, labelId
# and colour. Every other labelId (0-6 void, 9 parking, 10 rail track, 14 guard rail, 15 bridge, 16 tunnel,
# 18 polegroup, 29 caravan, 30 trailer) and -1 (license plate) has train id 255.
CITYSCAPES_TRAIN_IDS = (
    ("road", 7, (128, 64, 128)),
    ("sidewalk", 8, (244, 35, 232)),
    ("building", 11, (70, 70, 70)),
    ("wall", 12, (102, 102, 156)),
    ("fence", 13, (190, 153, 153)),
    ("pole", 17, (153, 153, 153)),
    ("traffic light", 19, (250, 170, 30)),
    ("traffic sign", 20, (220, 220, 0)),
    ("vegetation", 21, (107, 142, 35)),
    ("terrain", 22, (152, 251, 152)),
    ("sky", 23, (70, 130, 180)),
    ("person", 24, (220, 20, 60)),
    ("rider", 25, (255, 0, 0)),
    ("car", 26, (0, 0, 142)),
    ("truck", 27, (0, 0, 70)),
    ("bus", 28, (0, 60, 100)),
    ("train", 31, (0, 80, 100)),
    ("motorcycle", 32, (0, 0, 230)),
    ("bicycle", 33, (119, 11, 32)),
)
CITYSCAPES_CLASSES = tuple(name for name, _, _ in CITYSCAPES_TRAIN_IDS)
CITYSCAPES_PALETTE = tuple(colour for _, _, colour in CITYSCAPES_TRAIN_IDS)
NUM_LABEL_IDS = 34  # labelIds 0..33

_train_id = {label_id: train_id for train_id, (_, label_id, _) in enumerate(CITYSCAPES_TRAIN_IDS)}
# -1 (license plate) is not drawn by cityscapesscripts; should a file hold it, 8 bits store it as 255.
LABEL_IDS = LabelTable(
    "Cityscapes labelIds",
    {-1: IGNORE_INDEX, **{i: _train_id.get(i, IGNORE_INDEX) for i in range(NUM_LABEL_IDS)}, 255: IGNORE_INDEX},
    "through the official table: road 7->0, sidewalk 8->1, ..., bicycle 33->18; every other id and -1 -> 255 (ignored)",
)
LABEL_TRAIN_IDS = LabelTable(
    "Cityscapes labelTrainIds",
    {**{i: i for i in range(len(CITYSCAPES_CLASSES))}, IGNORE_INDEX: IGNORE_INDEX},
    "as stored: train ids 0..18, 255 ignored (made by cityscapesscripts)",
)

# Splits of each annotation mode, and where their labels live.
MODES = {
    "fine": ("gtFine", ("train", "val", "test")),
    "coarse": ("gtCoarse", ("train", "train_extra", "val")),
}
COMBINED_SPLITS = {"trainval": ("train", "val")}
IMAGE_SUFFIX = "_leftImg8bit.png"


@DATASETS.register()
class Cityscapes(SegDataset):
    """Cityscapes as downloaded: ``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` with
    ``gtFine/<split>/<city>/*_gtFine_labelIds.png``, the labelIds mapped to the 19 train ids as read.

    Where a ``*_gtFine_labelTrainIds.png`` (made by cityscapesscripts' ``createTrainIdLabelImgs``) sits beside the
    labelIds file, it is read instead, as stored. ``label_map`` applies to the train ids.

    Args:
        root: The directory holding ``leftImg8bit/`` and ``gtFine/``.
        split: ``train``, ``val``, ``test`` or ``trainval`` (``coarse``: ``train``, ``train_extra``, ``val``).
        mode: ``fine`` (``gtFine``) or ``coarse`` (``gtCoarse``).
        transforms: Applied to every sample.
        label_map: Train id -> class or 255, e.g. ``{12: 11}`` counts riders as persons (docs/data.md).
    """

    encoding = "the Cityscapes table"

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        mode: str = "fine",
        transforms: Optional[Compose] = None,
        label_map: Optional[Mapping[int, int]] = None,
    ) -> None:
        if mode not in MODES:
            raise PaddleFCNError(f"Cityscapes: unknown mode '{mode}' (known: {', '.join(MODES)})")
        label_dir, splits = MODES[mode]
        parts = COMBINED_SPLITS.get(split, (split,))
        if any(part not in splits for part in parts):
            known = ", ".join((*splits, *COMBINED_SPLITS))
            raise PaddleFCNError(f"Cityscapes: unknown split '{split}' for mode {mode} (known: {known})")
        root = Path(root)
        samples = [sample for part in parts for sample in _find_pairs(root, label_dir, part)]
        source = str(root / "leftImg8bit" / split)
        super().__init__(samples, self.describe({}), transforms, source, label_map)
        self.root = str(root)
        self.split = split
        self.mode = mode

    @classmethod
    def describe(cls, cfg: dict) -> DatasetMeta:
        """The 19 Cityscapes train-id classes with their official colours; 255 is ignored."""
        return make_meta(len(CITYSCAPES_CLASSES), CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, source="Cityscapes")

    def label_table(self, index: int) -> LabelTable:
        """The official labelIds table, or the identity on train ids for a ``*_labelTrainIds.png``."""
        return LABEL_TRAIN_IDS if self.label_path(index).endswith("_labelTrainIds.png") else LABEL_IDS


def _find_pairs(root: Path, label_dir: str, split: str) -> list[tuple[str, str]]:
    """The ``(image, label)`` pairs of one split, by city then file name; raises naming what is missing."""
    image_split, label_split = root / "leftImg8bit" / split, root / label_dir / split
    for folder in (image_split, label_split):
        if not folder.is_dir():
            hint = "" if root.is_dir() else f" ({root} does not exist)"
            raise DataError(
                folder, MISSING, f"split folder not found (root must hold leftImg8bit/ and {label_dir}/){hint}"
            )
    image_cities = {p.name for p in image_split.iterdir() if p.is_dir()}
    label_cities = {p.name for p in label_split.iterdir() if p.is_dir()}
    for city in sorted(image_cities ^ label_cities):
        where, other = (label_split, image_split) if city in image_cities else (image_split, label_split)
        raise DataError(where / city, MISSING, f"city folder not found, but {other / city} exists")
    pairs = []
    for city in sorted(image_cities):
        label_files = {p.name for p in (label_split / city).iterdir()}
        for image in sorted((image_split / city).glob(f"*{IMAGE_SUFFIX}")):
            stem = image.name[: -len(IMAGE_SUFFIX)]
            train_ids, label_ids = f"{stem}_{label_dir}_labelTrainIds.png", f"{stem}_{label_dir}_labelIds.png"
            if train_ids in label_files:
                pairs.append((str(image), str(label_split / city / train_ids)))
            elif label_ids in label_files:
                pairs.append((str(image), str(label_split / city / label_ids)))
            else:
                raise DataError(label_split / city / label_ids, MISSING, f"label file not found (for {image.name})")
    return pairs
