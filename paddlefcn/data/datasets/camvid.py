"""CamVid in the 11-class, 360x480 layout the SegNet tutorial distributes (label 11 = void)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional, Sequence

from paddlefcn.data.datasets.base import SegDataset, read_numbered_list
from paddlefcn.data.io import BAD_LIST, MISSING, DataError
from paddlefcn.data.meta import DatasetMeta, make_meta
from paddlefcn.data.transforms import Compose
from paddlefcn.errors import PaddleFCNError
from paddlefcn.registry import DATASETS

CAMVID_CLASSES = (
    "Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist",
)  # fmt: skip
# The CamVid colour of each class (Brostow et al.'s label colours, as the SegNet tutorial draws them).
CAMVID_PALETTE = (
    (128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128), (60, 40, 222), (128, 128, 0),
    (192, 128, 128), (64, 64, 128), (64, 0, 128), (64, 64, 0), (0, 128, 192),
)  # fmt: skip
CAMVID_VOID = 11
SPLITS = ("train", "val", "test")
COMBINED_SPLITS = {"trainval": ("train", "val")}


@DATASETS.register()
class CamVid(SegDataset):
    """CamVid as distributed: ``<split>/*.png`` images, ``<split>annot/*.png`` labels and ``<split>.txt`` lists.

    The list lines carry the absolute prefix of the machine they were made on (``/SegNet/CamVid/...``); a listed
    path that does not exist is looked up under ``root`` by its last two components (``train/0001TP_006690.png``).

    Args:
        root: The ``CamVid`` directory holding the lists.
        split: ``train``, ``val``, ``test`` or ``trainval`` (train followed by val).
        sequences: Keep only frames of these video sequences (file-name prefixes such as ``0006R0``), e.g. to
            hold a sequence out while tuning; default all.
        transforms: Applied to every sample.
        label_map: Label value -> class or ignore value, e.g. ``{255: 1}``; other values stay (docs/data.md).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        sequences: Optional[Sequence[str]] = None,
        transforms: Optional[Compose] = None,
        label_map: Optional[Mapping[int, int]] = None,
    ) -> None:
        root = Path(root)
        parts = COMBINED_SPLITS.get(split, (split,))
        if any(part not in SPLITS for part in parts):
            raise PaddleFCNError(f"CamVid: unknown split '{split}' (known: {', '.join((*SPLITS, *COMBINED_SPLITS))})")
        samples = [sample for part in parts for sample in _read_split(root, part)]
        source = str(root / f"{split}.txt")
        if sequences is not None:
            samples = _only_sequences(samples, sequences, source)
        super().__init__(samples, self.describe({}), transforms, source, label_map)
        self.root = str(root)
        self.split = split

    @classmethod
    def describe(cls, cfg: dict) -> DatasetMeta:
        """The 11 CamVid classes with their CamVid colours; 11 (void) is ignored."""
        return make_meta(len(CAMVID_CLASSES), CAMVID_CLASSES, CAMVID_PALETTE, CAMVID_VOID, source="CamVid")


def _read_split(root: Path, split: str) -> list[tuple[str, str]]:
    """The ``(image, label)`` pairs of ``<root>/<split>.txt``, each path found as listed or under ``root``."""
    list_path = root / f"{split}.txt"
    if not list_path.is_file():
        known = sorted(p.stem for p in root.glob("*.txt")) if root.is_dir() else []
        hint = f" (lists there: {', '.join(known)})" if known else f" (is {root} the CamVid directory?)"
        raise DataError(list_path, MISSING, f"split list not found{hint}")
    return [
        (_locate(root, image, list_path, number), _locate(root, label, list_path, number))
        for number, (image, label) in read_numbered_list(list_path, 2)
    ]


def _locate(root: Path, listed: str, list_path: Path, number: int) -> str:
    """``listed`` if it exists, else ``root/<parent>/<name>`` of it; raises naming the list line otherwise."""
    path = Path(listed)
    if path.is_file():
        return str(path)
    local = root.joinpath(*path.parts[-2:])
    if local.is_file():
        return str(local)
    raise DataError(list_path, MISSING, f"line {number}: {listed} not found, nor {local}")


def _only_sequences(samples: list[tuple[str, str]], sequences: Sequence[str], source: str) -> list[tuple[str, str]]:
    if not isinstance(sequences, (list, tuple)) or not sequences or not all(isinstance(s, str) for s in sequences):
        raise PaddleFCNError(
            f"CamVid: sequences must be a list of quoted sequence names such as ['0006R0', '0016E5'] "
            f"(YAML reads an unquoted 0016E5 as a number), got {sequences!r}"
        )
    kept = [s for s in samples if Path(s[0]).name.split("_")[0] in sequences]
    found = {Path(s[0]).name.split("_")[0] for s in samples}
    absent = [s for s in sequences if s not in found]
    if absent:
        raise DataError(source, BAD_LIST, f"no frames of sequence {absent[0]} (sequences: {', '.join(sorted(found))})")
    return kept
