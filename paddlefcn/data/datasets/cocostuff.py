"""COCO-Stuff 164k as distributed: COCO 2017 images with the stuffthingmaps (182 ids, 11 unused) -> 171 classes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional

from paddlefcn.data.datasets.base import SegDataset, pairs_by_name
from paddlefcn.data.encoding import LabelTable
from paddlefcn.data.io import MISSING, DataError
from paddlefcn.data.meta import IGNORE_INDEX, DatasetMeta, make_meta
from paddlefcn.data.transforms import Compose
from paddlefcn.errors import PaddleFCNError
from paddlefcn.registry import DATASETS
from paddlefcn.utils.palette import voc_palette

# The stuffthingmaps hold COCO category id - 1: 0-90 things, 91-181 stuff, 255 unlabeled. These 11 thing ids
# are defined by COCO but have no annotations (street sign, hat, shoe, eye glasses, plate, mirror, window, desk,
# door, blender, hair brush), so the maps never hold them.
COCOSTUFF_UNUSED_IDS = (11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90)
NUM_IDS = 182
COCOSTUFF_USED_IDS = tuple(i for i in range(NUM_IDS) if i not in COCOSTUFF_UNUSED_IDS)
COCOSTUFF_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis",
    "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed",
    "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven",
    "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush", "banner", "blanket", "branch", "bridge", "building-other", "bush", "cabinet", "cage",
    "cardboard", "carpet", "ceiling-other", "ceiling-tile", "cloth", "clothes", "clouds", "counter", "cupboard",
    "curtain", "desk-stuff", "dirt", "door-stuff", "fence", "floor-marble", "floor-other", "floor-stone",
    "floor-tile", "floor-wood", "flower", "fog", "food-other", "fruit", "furniture-other", "grass", "gravel",
    "ground-other", "hill", "house", "leaves", "light", "mat", "metal", "mirror-stuff", "moss", "mountain", "mud",
    "napkin", "net", "paper", "pavement", "pillow", "plant-other", "plastic", "platform", "playingfield",
    "railing", "railroad", "river", "road", "rock", "roof", "rug", "salad", "sand", "sea", "shelf", "sky-other",
    "skyscraper", "snow", "solid-other", "stairs", "stone", "straw", "structural-other", "table", "tent",
    "textile-other", "towel", "tree", "vegetable", "wall-brick", "wall-concrete", "wall-other", "wall-panel",
    "wall-stone", "wall-tile", "wall-wood", "water-other", "waterdrops", "window-blind", "window-other", "wood",
)  # fmt: skip
# One distinct colour per class: the VOC colour map without its black, so no class is drawn like the background.
COCOSTUFF_PALETTE = tuple(tuple(colour) for colour in voc_palette(len(COCOSTUFF_CLASSES) + 1)[1:])

STUFFTHINGMAPS = LabelTable(
    "COCO-Stuff stuffthingmaps",
    {
        **{value: cls for cls, value in enumerate(COCOSTUFF_USED_IDS)},
        **dict.fromkeys(COCOSTUFF_UNUSED_IDS, IGNORE_INDEX),
        IGNORE_INDEX: IGNORE_INDEX,
    },
    "through a table: the 171 used ids of 0..181 -> classes 0..170 in order; 255 (unlabeled) and the 11 unused ids "
    "-> 255 (ignored)",
)
SPLITS = {"train": "train2017", "val": "val2017"}
LABEL_DIRS = ("stuffthingmaps_trainval2017", "annotations")


@DATASETS.register()
class COCOStuff(SegDataset):
    """COCO-Stuff 164k as downloaded: ``images/<train2017|val2017>/*.jpg`` with
    ``stuffthingmaps_trainval2017/<train2017|val2017>/*.png`` (or ``annotations/...``, as the COCO-Stuff README
    unzips them), the 182 ids mapped to the 171 classes in use.

    Args:
        root: The directory holding ``images/`` and ``stuffthingmaps_trainval2017/``.
        split: ``train`` (118k images) or ``val`` (5000).
        transforms: Applied to every sample.
        label_map: Class (0..170) -> class or 255, applied after the table.
    """

    encoding = "the COCO-Stuff table"

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        transforms: Optional[Compose] = None,
        label_map: Optional[Mapping[int, int]] = None,
    ) -> None:
        if split not in SPLITS:
            raise PaddleFCNError(f"COCOStuff: unknown split '{split}' (known: {', '.join(SPLITS)})")
        root = Path(root)
        folder = SPLITS[split]
        label_dir = next((root / name / folder for name in LABEL_DIRS if (root / name / folder).is_dir()), None)
        if label_dir is None:
            tried = " or ".join(str(Path(name) / folder) for name in LABEL_DIRS)
            raise DataError(root / LABEL_DIRS[0] / folder, MISSING, f"folder not found (looked for {tried} in {root})")
        samples = pairs_by_name(root / "images" / folder, ".jpg", label_dir, ".png", "COCO-Stuff directory")
        super().__init__(samples, self.describe({}), transforms, str(root / "images" / folder), label_map)
        self.root = str(root)
        self.split = split

    @classmethod
    def describe(cls, cfg: dict) -> DatasetMeta:
        """The 171 COCO-Stuff classes (80 things, 91 stuff), one colour each; 255 is ignored."""
        return make_meta(len(COCOSTUFF_CLASSES), COCOSTUFF_CLASSES, COCOSTUFF_PALETTE, source="COCOStuff")

    def label_table(self, index: int) -> LabelTable:
        """The 182 ids (and 255) -> the 171 classes."""
        return STUFFTHINGMAPS
