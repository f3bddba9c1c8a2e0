"""The shared dataset: a list of (image, label) file pairs, read, checked and transformed."""

from __future__ import annotations

import os
from abc import ABCMeta, abstractmethod
from pathlib import Path
from typing import ClassVar, Mapping, Optional, Sequence

import numpy as np
from paddle.io import Dataset

from paddlefcn.data.encoding import LabelLookup, LabelTable, check_label_map
from paddlefcn.data.io import BAD_LIST, BAD_VALUE, EMPTY_LIST, MISSING, SIZE_MISMATCH, DataError, read_image, read_label
from paddlefcn.data.meta import DatasetMeta
from paddlefcn.data.transforms import Compose
from paddlefcn.errors import ConfigError
from paddlefcn.registry import DATASETS

Sample = tuple[str, str]


class SegDataset(Dataset, metaclass=ABCMeta):
    """Image/label pairs with label semantics; ``dataset[i]`` is ``(image CHW float32, label HW int64)``.

    Subclasses find their file pairs and implement ``describe``, which ``dataset_meta`` calls on configs.
    A label is read, then looked up once: through the dataset's own encoding (``label_table``, for datasets
    whose files do not hold the classes), then through the config's ``label_map``; then its values are checked.

    Args:
        samples: ``(image_path, label_path)`` pairs.
        meta: Classes, names, palette and ignore index.
        transforms: Applied to every sample; ``None`` only converts to CHW float32.
        source: Where the list came from, for the empty-list error.
        label_map: Label value -> class or ignore value (``{255: 1}``), applied after the dataset's encoding;
            values it does not name stay. Checked against ``meta`` (``ConfigError`` naming a bad entry).
    """

    #: The name of the dataset's own label encoding (``"the Cityscapes table"``), when its files do not hold the
    #: classes; ``label_map`` then applies to the classes that encoding gives, so its keys must be classes too.
    encoding: ClassVar[Optional[str]] = None

    def __init__(
        self,
        samples: Sequence[Sample],
        meta: DatasetMeta,
        transforms: Optional[Compose],
        source: str,
        label_map: Optional[Mapping[int, int]] = None,
    ) -> None:
        self.label_map = check_label_map(label_map, meta, type(self).__name__, self.encoding)
        if not samples:
            raise DataError(source, EMPTY_LIST, "the list of samples is empty")
        self.samples = list(samples)
        self._lookups: dict[Optional[LabelTable], LabelLookup] = {}
        self.meta = meta
        self.num_classes = meta.num_classes
        self.ignore_index = meta.ignore_index
        self.class_names = meta.class_names
        self.palette = meta.palette
        self.transforms = transforms if transforms is not None else Compose([])
        self.transforms.fill_labels_with(meta.ignore_index)

    @classmethod
    @abstractmethod
    def describe(cls, cfg: dict) -> DatasetMeta:
        """The classes, names, colours and ignore value of this dataset, from its config alone (no file is read).

        Args:
            cfg: The dataset's config mapping (``data.train``-style); a dataset with fixed classes ignores it.
        """

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.transforms(*self.load(index))

    def image_path(self, index: int) -> str:
        """The image file of sample ``index``."""
        return self.samples[index][0]

    def label_path(self, index: int) -> str:
        """The label file of sample ``index``."""
        return self.samples[index][1]

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Reads sample ``index`` untransformed: HWC RGB uint8 image, HW int64 label, both checked.

        Raises:
            DataError: A file is missing or corrupt, the sizes differ, or a label value is out of range.
        """
        image_path, label_path = self.samples[index]
        image = read_image(image_path)
        label = self.load_label(index)
        if image.shape[:2] != label.shape:
            raise DataError(
                label_path,
                SIZE_MISMATCH,
                f"label is {label.shape[1]}x{label.shape[0]} (WxH) but its image "
                f"{Path(image_path).name} is {image.shape[1]}x{image.shape[0]}",
            )
        return image, label

    def label_table(self, index: int) -> Optional[LabelTable]:
        """The encoding of sample ``index``'s label file; ``None`` (the default) when its values are the classes."""
        return None

    def label_lookup(self, index: int) -> LabelLookup:
        """The one lookup table of sample ``index``: its ``label_table`` followed by ``label_map``."""
        table = self.label_table(index)
        lookup = self._lookups.get(table)
        if lookup is None:
            lookup = self._lookups[table] = LabelLookup(table, self.label_map)
        return lookup

    def read_label_file(self, index: int) -> np.ndarray:
        """The values stored in the label file of sample ``index`` (colours as palette indices), not looked up."""
        return read_label(self.label_path(index), self.palette, self.ignore_index)

    def load_label(self, index: int) -> np.ndarray:
        """Reads the label of sample ``index`` untransformed, as HW int64 classes (looked up), its values checked.

        Raises:
            DataError: The file is missing or corrupt, a value is not in the dataset's encoding, or after the
                lookup a value is neither a class nor ``ignore_index``.
        """
        path = self.label_path(index)
        label = self.label_lookup(index)(self.read_label_file(index), path)
        check_label_values(label, self.num_classes, self.ignore_index, path)
        return label


def dataset_meta(dataset_cfg: dict) -> DatasetMeta:
    """The label semantics of a dataset config (a ``data.train``-style mapping), from its class's ``describe``.

    Its ``label_map`` is checked too, so a map into a value that is neither a class nor the ignore value is refused
    before anything is built.
    """
    if not isinstance(dataset_cfg, dict) or "type" not in dataset_cfg:
        raise ConfigError(f"a dataset config needs a 'type' key, got {dataset_cfg!r}")
    name = dataset_cfg["type"]
    cls = DATASETS.get(name)
    if not (isinstance(cls, type) and issubclass(cls, SegDataset)):
        raise ConfigError(f"dataset '{name}' is {cls!r}, not a subclass of paddlefcn.data.datasets.SegDataset")
    if "describe" in cls.__abstractmethods__:
        raise ConfigError(f"dataset '{name}' does not describe its classes (no describe())")
    meta = cls.describe(dataset_cfg)
    check_label_map(dataset_cfg.get("label_map"), meta, name, cls.encoding)
    return meta


class LabelsAtFileSize(Dataset):
    """Val samples of ``dataset`` whose labels skip the transforms and keep the size of their files.

    The image goes through the dataset's transforms as in ``dataset[i]``; the evaluator resizes the logits
    to the label's size, so a val ``Resize`` changes what the model sees but metrics stay at the original
    resolution (as PaddleSeg and mmsegmentation score them). Without a ``Resize`` nothing changes.

    Args:
        dataset: The val dataset; its transforms must be deterministic, since the label does not follow them.

    Raises:
        PaddleFCNError: A transform is an augmentation (random).
    """

    def __init__(self, dataset: SegDataset) -> None:
        augmentations = [type(t).__name__ for t in dataset.transforms.transforms if getattr(t, "random", False)]
        if augmentations:
            raise ConfigError(
                f"data.val.transforms: {', '.join(augmentations)} is an augmentation; validation needs "
                "deterministic transforms (Resize, Normalize)"
            )
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        image, label = self.dataset.load(index)
        chw, _ = self.dataset.transforms(image, None)
        return chw, np.ascontiguousarray(label, dtype=np.int64)


def check_label_values(label: np.ndarray, num_classes: int, ignore_index: int, path: str) -> None:
    """Raises ``DataError`` if ``label`` holds a value outside ``[0, num_classes)`` that is not ``ignore_index``."""
    bad = ((label < 0) | (label >= num_classes)) & (label != ignore_index)
    if bad.any():
        values = np.unique(label[bad])
        shown = ", ".join(str(v) for v in values[:5]) + (", ..." if len(values) > 5 else "")
        raise DataError(
            path, BAD_VALUE, f"label values {shown} are outside 0..{num_classes - 1} and not ignore ({ignore_index})"
        )


def read_list(list_path: str | os.PathLike, columns: int) -> list[list[str]]:
    """Reads a whitespace-separated list file, skipping blank and ``#`` lines.

    Raises:
        DataError: The file is missing, or a line has the wrong number of columns.
    """
    return [fields for _, fields in read_numbered_list(list_path, columns)]


def read_numbered_list(list_path: str | os.PathLike, columns: int) -> list[tuple[int, list[str]]]:
    """``read_list`` with the line number of each row in the file, for errors that name the line."""
    if not os.path.isfile(list_path):
        raise DataError(list_path, MISSING, "list file not found")
    rows = []
    with open(list_path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            fields = text.split()
            if len(fields) != columns:
                raise DataError(
                    list_path, BAD_LIST, f"line {number} has {len(fields)} fields, expected {columns}: {text!r}"
                )
            rows.append((number, fields))
    return rows


def pairs_by_name(
    image_dir: Path, image_suffix: str, label_dir: Path, label_suffix: str, what: str
) -> list[tuple[str, str]]:
    """Each ``image_dir/<name><image_suffix>`` with ``label_dir/<name><label_suffix>``, sorted by name.

    Args:
        image_dir: The images of a split.
        image_suffix: Their ending (``.jpg``); other files are skipped.
        label_dir: The labels of the split; labels without an image are skipped.
        label_suffix: The ending that replaces ``image_suffix`` in a label's name.
        what: What ``root`` should be, for the missing-folder message (``"ADEChallengeData2016 directory"``).

    Raises:
        DataError: A folder, or the label of an image, is missing.
    """
    for folder in (image_dir, label_dir):
        if not folder.is_dir():
            raise DataError(folder, MISSING, f"folder not found (is root the {what}?)")
    labels = {p.name for p in label_dir.iterdir()}
    pairs = []
    for image in sorted(image_dir.glob(f"*{image_suffix}")):
        label = image.name[: -len(image_suffix)] + label_suffix
        if label not in labels:
            raise DataError(label_dir / label, MISSING, f"label file not found (for {image.name})")
        pairs.append((str(image), str(label_dir / label)))
    return pairs
