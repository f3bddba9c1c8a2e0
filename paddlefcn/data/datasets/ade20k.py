"""ADE20K (the MIT Scene Parsing benchmark, ADEChallengeData2016): 150 classes, annotation 0 ignored."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional

from paddlefcn.data.datasets.base import SegDataset, pairs_by_name
from paddlefcn.data.encoding import LabelTable
from paddlefcn.data.meta import IGNORE_INDEX, DatasetMeta, make_meta
from paddlefcn.data.transforms import Compose
from paddlefcn.errors import PaddleFCNError
from paddlefcn.registry import DATASETS

# Annotation value i (1..150) is class i-1: the short names of objectInfo150.csv, as the toolkits use them.
ADE20K_CLASSES = (
    "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass", "cabinet",
    "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair", "car", "water",
    "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field", "armchair", "seat", "fence", "desk",
    "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion", "base", "box", "column", "signboard",
    "chest of drawers", "counter", "sand", "sink", "skyscraper", "fireplace", "refrigerator", "grandstand", "path",
    "stairs", "runway", "case", "pool table", "pillow", "screen door", "stairway", "river", "bridge", "bookcase",
    "blind", "coffee table", "toilet", "flower", "book", "hill", "bench", "countertop", "stove", "palm",
    "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine", "hovel", "bus", "towel",
    "light", "truck", "tower", "chandelier", "awning", "streetlight", "booth", "television receiver", "airplane",
    "dirt track", "apparel", "pole", "land", "bannister", "escalator", "ottoman", "bottle", "buffet", "poster",
    "stage", "van", "ship", "fountain", "conveyer belt", "canopy", "washer", "plaything", "swimming pool",
    "stool", "barrel", "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball", "food", "step",
    "tank", "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher", "screen", "blanket",
    "sculpture", "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan", "pier", "crt screen",
    "plate", "monitor", "bulletin board", "shower", "radiator", "glass", "clock", "flag",
)  # fmt: skip
# The usual ADE20K colours (the scene-parsing benchmark's color150, as PaddleSeg and mmsegmentation draw them).
ADE20K_PALETTE = (
    (120, 120, 120), (180, 120, 120), (6, 230, 230), (80, 50, 50), (4, 200, 3), (120, 120, 80), (140, 140, 140),
    (204, 5, 255), (230, 230, 230), (4, 250, 7), (224, 5, 255), (235, 255, 7), (150, 5, 61), (120, 120, 70),
    (8, 255, 51), (255, 6, 82), (143, 255, 140), (204, 255, 4), (255, 51, 7), (204, 70, 3), (0, 102, 200),
    (61, 230, 250), (255, 6, 51), (11, 102, 255), (255, 7, 71), (255, 9, 224), (9, 7, 230), (220, 220, 220),
    (255, 9, 92), (112, 9, 255), (8, 255, 214), (7, 255, 224), (255, 184, 6), (10, 255, 71), (255, 41, 10),
    (7, 255, 255), (224, 255, 8), (102, 8, 255), (255, 61, 6), (255, 194, 7), (255, 122, 8), (0, 255, 20),
    (255, 8, 41), (255, 5, 153), (6, 51, 255), (235, 12, 255), (160, 150, 20), (0, 163, 255), (140, 140, 140),
    (250, 10, 15), (20, 255, 0), (31, 255, 0), (255, 31, 0), (255, 224, 0), (153, 255, 0), (0, 0, 255),
    (255, 71, 0), (0, 235, 255), (0, 173, 255), (31, 0, 255), (11, 200, 200), (255, 82, 0), (0, 255, 245),
    (0, 61, 255), (0, 255, 112), (0, 255, 133), (255, 0, 0), (255, 163, 0), (255, 102, 0), (194, 255, 0),
    (0, 143, 255), (51, 255, 0), (0, 82, 255), (0, 255, 41), (0, 255, 173), (10, 0, 255), (173, 255, 0),
    (0, 255, 153), (255, 92, 0), (255, 0, 255), (255, 0, 245), (255, 0, 102), (255, 173, 0), (255, 0, 20),
    (255, 184, 184), (0, 31, 255), (0, 255, 61), (0, 71, 255), (255, 0, 204), (0, 255, 194), (0, 255, 82),
    (0, 10, 255), (0, 112, 255), (51, 0, 255), (0, 194, 255), (0, 122, 255), (0, 255, 163), (255, 153, 0),
    (0, 255, 10), (255, 112, 0), (143, 255, 0), (82, 0, 255), (163, 255, 0), (255, 235, 0), (8, 184, 170),
    (133, 0, 255), (0, 255, 92), (184, 0, 255), (255, 0, 31), (0, 184, 255), (0, 214, 255), (255, 0, 112),
    (92, 255, 0), (0, 224, 255), (112, 224, 255), (70, 184, 160), (163, 0, 255), (153, 0, 255), (71, 255, 0),
    (255, 0, 163), (255, 204, 0), (255, 0, 143), (0, 255, 235), (133, 255, 0), (255, 0, 235), (245, 0, 255),
    (255, 0, 122), (255, 245, 0), (10, 190, 212), (214, 255, 0), (0, 204, 255), (20, 0, 255), (255, 255, 0),
    (0, 153, 255), (0, 41, 255), (0, 255, 204), (41, 0, 255), (41, 255, 0), (173, 0, 255), (0, 245, 255),
    (71, 0, 255), (122, 0, 255), (0, 255, 184), (0, 92, 255), (184, 255, 0), (0, 133, 255), (255, 214, 0),
    (25, 194, 194), (102, 255, 0), (92, 0, 255),
)  # fmt: skip

# 0 ("other objects") -> ignored, 1..150 -> 0..149; a table, so no uint8 arithmetic can wrap 0 around to 255.
ANNOTATIONS = LabelTable(
    "ADE20K annotation",
    {0: IGNORE_INDEX, **{value: value - 1 for value in range(1, len(ADE20K_CLASSES) + 1)}},
    "through a table: 0 (other objects) -> 255 (ignored), 1..150 -> classes 0..149",
)
SPLITS = {"train": "training", "val": "validation"}
FOLDER = "ADEChallengeData2016"


@DATASETS.register()
class ADE20K(SegDataset):
    """ADE20K as the scene-parsing benchmark distributes it: ``ADEChallengeData2016/images/<training|validation>/
    *.jpg`` with ``annotations/<training|validation>/*.png`` (same names), annotation 0 ignored.

    Args:
        root: The ``ADEChallengeData2016`` directory (or the one holding it).
        split: ``train`` (20210 images) or ``val`` (2000).
        transforms: Applied to every sample.
        label_map: Class (0..149) -> class or 255, applied after the shift, e.g. ``{2: 255}`` ignores sky.
    """

    encoding = "the ADE20K table"

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        transforms: Optional[Compose] = None,
        label_map: Optional[Mapping[int, int]] = None,
    ) -> None:
        if split not in SPLITS:
            raise PaddleFCNError(f"ADE20K: unknown split '{split}' (known: {', '.join(SPLITS)})")
        root = Path(root)
        if not (root / "images").is_dir() and (root / FOLDER).is_dir():
            root = root / FOLDER
        folder = SPLITS[split]
        image_dir, label_dir = root / "images" / folder, root / "annotations" / folder
        samples = pairs_by_name(image_dir, ".jpg", label_dir, ".png", f"{FOLDER} directory")
        super().__init__(samples, self.describe({}), transforms, str(image_dir), label_map)
        self.root = str(root)
        self.split = split

    @classmethod
    def describe(cls, cfg: dict) -> DatasetMeta:
        """The 150 ADE20K classes with the usual colours; 255 (annotation 0) is ignored."""
        return make_meta(len(ADE20K_CLASSES), ADE20K_CLASSES, ADE20K_PALETTE, source="ADE20K")

    def label_table(self, index: int) -> LabelTable:
        """0 -> 255, 1..150 -> 0..149."""
        return ANNOTATIONS
