"""Class colours: the PASCAL VOC colour map and the 256-entry colour tables of palette PNGs and drawings."""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from paddlefcn.errors import PaddleFCNError

Palette = Union[np.ndarray, Sequence[Sequence[int]]]
IGNORE_COLOR = (255, 255, 255)


def voc_palette(n: int = 256) -> list[list[int]]:
    """The PASCAL VOC colour map: class ``i``'s bits spread over the high bits of R, G and B."""
    palette = []
    for index in range(n):
        rgb = [0, 0, 0]
        value = index
        for shift in range(7, -1, -1):
            for channel in range(3):
                rgb[channel] |= ((value >> channel) & 1) << shift
            value >>= 3
        palette.append(rgb)
    return palette


def color_table(palette: Optional[Palette] = None, ignore_index: Optional[int] = 255) -> np.ndarray:
    """A ``[256, 3]`` uint8 colour table: ``palette`` first, the VOC colour map for the rest.

    Args:
        palette: Colours of the first indices.
        ignore_index: The index drawn white (``IGNORE_COLOR``); ``None`` keeps its VOC colour.

    Raises:
        PaddleFCNError: ``palette`` holds more than 256 colours or values outside ``[0, 255]``.
    """
    table = np.asarray(voc_palette(256), dtype=np.uint8)
    if palette is not None:
        colours = np.asarray(palette, dtype=np.int64).reshape(-1, 3)
        if len(colours) > 256 or colours.min(initial=0) < 0 or colours.max(initial=0) > 255:
            raise PaddleFCNError("a palette holds at most 256 RGB colours with values in [0, 255]")
        table[: len(colours)] = colours
    if ignore_index is not None and 0 <= ignore_index < 256:
        table[ignore_index] = IGNORE_COLOR
    return table
