"""A user's own data: a text file of ``image_path label_path`` lines."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional, Sequence

from paddlefcn.data.datasets.base import SegDataset, read_list
from paddlefcn.data.meta import IGNORE_INDEX, DatasetMeta, make_meta
from paddlefcn.data.transforms import Compose
from paddlefcn.errors import PaddleFCNError
from paddlefcn.registry import DATASETS


@DATASETS.register()
class FileList(SegDataset):
    """Pairs listed one per line as ``image_path label_path``, relative to ``root`` (or absolute).

    Labels may be palette, grayscale or 16-bit PNGs holding class indices, or colour images whose
    colours are ``palette`` entries.

    Args:
        root: Directory the listed paths are relative to.
        file_list: The list file; a relative path is looked up as given, then inside ``root``.
        num_classes: Number of classes.
        class_names: Optional names (default ``class_0``, ``class_1``, ...).
        palette: Optional ``[r, g, b]`` per class (default: the VOC colour map).
        ignore_index: Label value that is not scored.
        transforms: Applied to every sample.
        label_map: Label value -> class or ignore value, e.g. ``{255: 1}``; other values stay (docs/data.md).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        file_list: str | os.PathLike,
        num_classes: int,
        class_names: Optional[Sequence[str]] = None,
        palette: Optional[Sequence[Sequence[int]]] = None,
        ignore_index: int = IGNORE_INDEX,
        transforms: Optional[Compose] = None,
        label_map: Optional[Mapping[int, int]] = None,
    ) -> None:
        root = Path(root)
        list_path = Path(file_list)
        if not list_path.is_file() and not list_path.is_absolute() and (root / list_path).is_file():
            list_path = root / list_path
        meta = self.describe(
            {"num_classes": num_classes, "class_names": class_names, "palette": palette, "ignore_index": ignore_index}
        )
        samples = [(str(root / image), str(root / label)) for image, label in read_list(list_path, 2)]
        super().__init__(samples, meta, transforms, str(list_path), label_map)
        self.root = str(root)

    @classmethod
    def describe(cls, cfg: dict) -> DatasetMeta:
        """The classes given in the config (``num_classes`` and optional ``class_names``, ``palette``)."""
        if "num_classes" not in cfg:
            raise PaddleFCNError("FileList: missing required key 'num_classes'")
        return make_meta(
            cfg["num_classes"],
            cfg.get("class_names"),
            cfg.get("palette"),
            cfg.get("ignore_index", IGNORE_INDEX),
            source="FileList",
        )
