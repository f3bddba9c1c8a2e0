"""Label encodings: how the values in a label file become classes.

Two steps, composed into one lookup table per label file (``LabelLookup``):

1. the dataset's own encoding (``LabelTable``), for datasets distributed with values that are not the classes:
   Cityscapes ``labelIds``, ADE20K (0 = other objects), COCO-Stuff (182 ids, 11 unused). A value the table
   does not list is an error naming the file. Datasets whose files hold the classes have no table.
2. the user's ``label_map`` (``{255: 1}``), applied to what step 1 gives; values it does not name stay.

Then the base dataset checks that every value is a class or the ignore value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from paddlefcn.checks import is_int
from paddlefcn.data.io import BAD_VALUE, DataError
from paddlefcn.data.meta import DatasetMeta
from paddlefcn.errors import ConfigError

UNKNOWN = np.iinfo(np.int64).min  # what a table gives for a value it does not list
MAX_LABEL_VALUE = 65535  # label files are 8- or 16-bit


def value_ranges(values: Sequence[int]) -> str:
    """``[-1, 0, 1, 2, 5, 255]`` as ``"-1..2, 5, 255"``: runs of consecutive values as ranges."""
    runs: list[list[int]] = []
    for value in sorted(set(values)):
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return ", ".join(str(a) if a == b else f"{a}..{b}" if b > a + 1 else f"{a}, {b}" for a, b in runs)


def shown_values(values: Sequence[int], limit: int = 5) -> str:
    """The first ``limit`` values, comma-separated, with ``...`` when there are more."""
    values = [int(v) for v in values]
    return ", ".join(str(v) for v in values[:limit]) + (", ..." if len(values) > limit else "")


@dataclass(frozen=True, eq=False)
class LabelTable:
    """A dataset's own encoding: each value its label files may hold, and the class (or ignore value) it means.

    Attributes:
        name: What the files hold, for messages ("Cityscapes labelIds").
        mapping: File value -> class or ignore value. Any other value in a file is an error naming the file.
        summary: How it maps, in a few words after "read" ("through the official table: ..."), for ``check_data``.
    """

    name: str
    mapping: Mapping[int, int]
    summary: str
    accepted: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "accepted", value_ranges(list(self.mapping)))


class LabelLookup:
    """One lookup table from label-file values to classes: a dataset's ``LabelTable`` (if any), then a ``label_map``.

    Args:
        table: The dataset's encoding of this file, or ``None`` when the file holds the classes.
        label_map: Checked user map (``check_label_map``) applied after ``table``; values it does not name stay.
    """

    def __init__(self, table: Optional[LabelTable], label_map: Optional[Mapping[int, int]] = None) -> None:
        label_map = dict(label_map or {})
        self.table = table
        self.label_map = label_map
        self.strict = table is not None
        if table is None:
            pairs = label_map
        else:
            pairs = {value: label_map.get(cls, cls) for value, cls in table.mapping.items()}
        self.identity = not self.strict and all(key == value for key, value in pairs.items())
        low, high = min([0, *pairs]), max([255, *pairs])
        self.offset = low
        if self.strict:
            self.lut = np.full(high - low + 1, UNKNOWN, dtype=np.int64)
        else:
            self.lut = np.arange(low, high + 1, dtype=np.int64)
        for key, value in pairs.items():
            self.lut[key - low] = value

    def map(self, label: np.ndarray) -> np.ndarray:
        """``label`` (integers) looked up; a value a dataset table does not list becomes ``UNKNOWN``."""
        label = np.asarray(label)
        if self.identity:
            return label.astype(np.int64, copy=False)
        if label.size == 0:
            return np.zeros(label.shape, np.int64)
        index = label.astype(np.int64, copy=False)
        if self.offset:
            index = index - self.offset
        if index.min() >= 0 and index.max() < len(self.lut):
            return self.lut[index]
        inside = (index >= 0) & (index < len(self.lut))
        found = self.lut[np.clip(index, 0, len(self.lut) - 1)]
        return np.where(inside, found, UNKNOWN if self.strict else label.astype(np.int64))

    def unknown_values(self, label: np.ndarray, mapped: np.ndarray) -> np.ndarray:
        """The distinct values of ``label`` its table does not list (``mapped`` is ``self.map(label)``)."""
        if not self.strict:
            return np.zeros(0, np.int64)
        return np.unique(np.asarray(label)[mapped == UNKNOWN])

    def unknown_error(self, values: np.ndarray, path: str | os.PathLike) -> DataError:
        """The one-line error for a file holding ``values`` its table does not list."""
        assert self.table is not None
        return DataError(
            path,
            BAD_VALUE,
            f"label values {shown_values(values)} are not {self.table.name} values ({self.table.accepted})",
        )

    def __call__(self, label: np.ndarray, path: str | os.PathLike) -> np.ndarray:
        """``label`` looked up; raises ``DataError`` naming ``path`` for a value its table does not list."""
        mapped = self.map(label)
        if self.strict:
            unknown = self.unknown_values(label, mapped)
            if unknown.size:
                raise self.unknown_error(unknown, path)
        return mapped


def check_label_map(label_map: Any, meta: DatasetMeta, source: str, table: Optional[str] = None) -> dict[int, int]:
    """A ``label_map`` as ``{int: int}``, or ``ConfigError`` naming the entry that cannot be one.

    Args:
        label_map: The config value (``None`` or a mapping of label values to classes).
        meta: The dataset's classes and ignore value: every target must be a class or the ignore value.
        source: Names the dataset in the message (``"FileList"``).
        table: The name of the dataset's own encoding (``"the Cityscapes table"``), when it has one: the map then
            applies to what that table gives, so its keys must be classes or the ignore value too.
    """
    if label_map is None:
        return {}
    classes = f"a class (0..{meta.num_classes - 1})"
    if not isinstance(label_map, Mapping):
        raise ConfigError(f"{source}: label_map must map label values to classes, e.g. {{255: 1}}, got {label_map!r}")
    checked = {}
    for key, value in label_map.items():
        entry = f"{source}: label_map entry {{{key!r}: {value!r}}}"
        if not is_int(key):
            spacing = " (YAML needs a space after the colon: {255: 1})" if isinstance(key, str) and ":" in key else ""
            raise ConfigError(f"{entry}: the key must be an integer label value{spacing}")
        if not 0 <= key <= MAX_LABEL_VALUE:
            raise ConfigError(f"{entry}: the key must be a label value in 0..{MAX_LABEL_VALUE}")
        if table is not None and not (0 <= key < meta.num_classes or key == meta.ignore_index):
            raise ConfigError(
                f"{entry}: label_map applies after {table}, which gives classes 0..{meta.num_classes - 1} and "
                f"{meta.ignore_index}, so {key} never occurs"
            )
        if not is_int(value) or not (0 <= value < meta.num_classes or value == meta.ignore_index):
            raise ConfigError(f"{entry}: {value!r} is neither {classes} nor the ignore value ({meta.ignore_index})")
        checked[int(key)] = int(value)
    return checked


def compose_label_maps(first: Mapping[int, int], then: Mapping[int, int]) -> dict[int, int]:
    """The one ``label_map`` that does ``first`` and then ``then``, without the entries that change nothing."""
    composed = {key: then.get(value, value) for key, value in first.items()}
    composed.update({key: value for key, value in then.items() if key not in first})
    return {key: value for key, value in sorted(composed.items()) if key != value}


@dataclass(frozen=True)
class Suggestion:
    """A ``label_map`` that would turn the values found into classes, and why it is a likely fix."""

    label_map: dict[int, int]
    reason: str


def suggest_label_map(values: Sequence[int], num_classes: int, ignore_index: int) -> Optional[Suggestion]:
    """A ``label_map`` for the usual encodings of labels whose ``values`` are not all classes, or ``None``.

    Recognised: labels counted from 1 (``1..num_classes``, with 0 meaning "unlabelled" when present), binary
    masks saved as 0/255, and, more generally, at most ``num_classes`` distinct values taken as the classes in order.

    Args:
        values: The distinct values of a split's labels, after the dataset's encoding and its ``label_map``.
        num_classes: The dataset's classes.
        ignore_index: Its ignore value.
    """
    used = sorted({int(v) for v in values} - {ignore_index})
    if all(0 <= v < num_classes for v in used):
        return None
    if set(used) <= set(range(num_classes + 1)) and num_classes in used:
        shift = {v: v - 1 for v in range(1, num_classes + 1)}
        if 0 in used:
            return Suggestion(
                {0: ignore_index, **shift},
                f"values 0..{num_classes} for {num_classes} classes look 1-based with 0 as unlabelled",
            )
        return Suggestion(shift, f"values 1..{num_classes} for {num_classes} classes look 1-based")
    if len(used) <= num_classes:
        remap = {v: i for i, v in enumerate(used) if v != i}
        if used == [0, 255]:
            reason = "binary masks saved as 0/255"
        else:
            reason = f"{len(used)} values ({shown_values(used)}) for {num_classes} classes, as the classes in order"
        return Suggestion(remap, reason)
    return None


def format_label_map(label_map: Mapping[int, int]) -> str:
    """``{255: 1}`` as YAML flow text."""
    return "{" + ", ".join(f"{key}: {value}" for key, value in label_map.items()) + "}"
