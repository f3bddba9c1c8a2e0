"""What a dataset's labels mean (classes, names, colours), computed from its config without reading data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from paddlefcn.checks import check_int, is_int
from paddlefcn.errors import ConfigError
from paddlefcn.utils.palette import voc_palette

IGNORE_INDEX = 255


@dataclass
class DatasetMeta:
    """The label semantics a model, its exports and its visualisations need.

    Attributes:
        num_classes: Number of classes; labels are ``0..num_classes-1`` or ``ignore_index``.
        class_names: One name per class.
        palette: One ``[r, g, b]`` colour per class.
        ignore_index: Label value that is not scored.
    """

    num_classes: int
    class_names: list[str]
    palette: list[list[int]]
    ignore_index: int = IGNORE_INDEX


def make_meta(
    num_classes: int,
    class_names: Optional[Sequence[str]] = None,
    palette: Optional[Sequence[Sequence[int]]] = None,
    ignore_index: int = IGNORE_INDEX,
    source: str = "dataset",
) -> DatasetMeta:
    """Validates and completes label semantics: names default to ``class_<i>``, colours to the VOC map.

    Args:
        num_classes: Number of classes.
        class_names: Optional names, one per class.
        palette: Optional colours, one ``[r, g, b]`` per class.
        ignore_index: The label value to ignore.
        source: Names the config in errors.
    """
    check_int(num_classes, f"{source}: num_classes", maximum=256)
    if not is_int(ignore_index) or 0 <= ignore_index < num_classes:
        raise ConfigError(f"{source}: ignore_index must be an integer outside 0..{num_classes - 1}")
    names = [f"class_{i}" for i in range(num_classes)] if class_names is None else [str(n) for n in class_names]
    if len(names) != num_classes:
        raise ConfigError(f"{source}: class_names has {len(names)} names for {num_classes} classes")
    colours = voc_palette(num_classes) if palette is None else palette
    if len(colours) != num_classes or not all(_is_colour(c) for c in colours):
        raise ConfigError(f"{source}: palette must be {num_classes} [r, g, b] colours with values 0..255")
    return DatasetMeta(num_classes, names, [[int(v) for v in c] for c in colours], ignore_index)


def _is_colour(colour: object) -> bool:
    return isinstance(colour, (list, tuple)) and len(colour) == 3 and all(is_int(v) and 0 <= v <= 255 for v in colour)


def class_count_mismatch(model_classes: int, split: str, dataset_classes: int) -> Optional[str]:
    """The message for a model whose ``num_classes`` is not that of ``data.<split>``, or ``None`` if they agree."""
    if model_classes == dataset_classes:
        return None
    return f"model.num_classes is {model_classes} but data.{split} has {dataset_classes} classes"
