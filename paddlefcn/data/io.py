"""Reading images and label maps and listing image files, with one-line errors naming the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.image import ImageDecodeError, decode_image
from paddlefcn.utils.palette import voc_palette

# The kinds of data problem, as reported by ``DataError.kind`` and counted by the checker.
MISSING = "missing file"
CORRUPT = "corrupt image"
SIZE_MISMATCH = "image/label size mismatch"
BAD_VALUE = "label value out of range"
EMPTY_LIST = "empty list"
BAD_LIST = "malformed list"


class DataError(PaddleFCNError):
    """A problem with one data file or list.

    Args:
        path: The offending file.
        kind: One of the kinds above (``MISSING``, ``CORRUPT``, ...).
        detail: What is wrong, for the message.
    """

    def __init__(self, path: str | os.PathLike, kind: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = str(path)
        self.kind = kind


class UnknownColoursError(DataError):
    """A colour label holding colours that are not in the dataset palette.

    Attributes:
        colours: Every such colour of the file, ``(r, g, b)``, most pixels first.
    """

    def __init__(self, path: str | os.PathLike, colours: list[tuple[int, int, int]]) -> None:
        shown = ", ".join(str(c) for c in colours[:3]) + (f" and {len(colours) - 3} more" if len(colours) > 3 else "")
        if len(colours) == 1:
            detail = f"label colour {shown} is not in the dataset palette"
        else:
            detail = f"label colours {shown} are not in the dataset palette"
        super().__init__(path, BAD_VALUE, detail)
        self.colours = colours


def _require_file(path: str | os.PathLike, what: str) -> None:
    if not os.path.isfile(path):
        raise DataError(path, MISSING, f"{what} file not found")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Reads an image as HWC RGB uint8 (``paddlefcn.utils.image.decode_image``, as the server decodes uploads).

    Raises:
        DataError: The file is missing or cannot be decoded.
    """
    _require_file(path, "image")
    try:
        return decode_image(Path(path).read_bytes())
    except ImageDecodeError as err:
        raise DataError(path, CORRUPT, str(err)) from None


def read_label(
    path: str | os.PathLike,
    palette: Optional[Sequence[Sequence[int]]] = None,
    ignore_index: int = 255,
) -> np.ndarray:
    """Reads a label map as HW int64 class indices.

    Palette ("P") PNGs give their indices, grayscale and 16-bit images their values. Colour (RGB/RGBA)
    images are mapped through ``palette``: colour ``palette[i]`` is class ``i``, and the VOC colour of
    ``ignore_index`` ((224, 224, 192) for 255) is ``ignore_index``.

    Raises:
        DataError: The file is missing or corrupt; ``UnknownColoursError`` when a colour label has colours not in the
            palette.
    """
    _require_file(path, "label")
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in ("PA", "LA"):
                img = img.convert("P" if mode == "PA" else "L")
            elif mode == "RGBA":
                img = img.convert("RGB")
            elif mode not in ("P", "L", "I", "I;16", "I;16L", "I;16B", "RGB", "1"):
                raise DataError(path, CORRUPT, f"unsupported label image mode '{mode}'")
            array = np.asarray(img)
    except (OSError, ValueError, SyntaxError) as err:
        raise DataError(path, CORRUPT, f"cannot decode label image ({err})") from err
    if array.ndim == 3:
        return _colours_to_indices(array, palette, ignore_index, path)
    return array.astype(np.int64)


def _colours_to_indices(
    rgb: np.ndarray,
    palette: Optional[Sequence[Sequence[int]]],
    ignore_index: int,
    path: str | os.PathLike,
) -> np.ndarray:
    if not palette:
        raise DataError(path, CORRUPT, "colour label image but the dataset has no palette to map it")
    table = {_code(c): i for i, c in reversed(list(enumerate(palette)))}
    if 0 <= ignore_index < 256:
        table.setdefault(_code(voc_palette(256)[ignore_index]), ignore_index)
    codes = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    uniques, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    unknown = [(int(n), int(c)) for c, n in zip(uniques, counts) if int(c) not in table]
    if unknown:
        unknown.sort(key=lambda item: -item[0])
        raise UnknownColoursError(path, [(c >> 16, (c >> 8) & 255, c & 255) for _, c in unknown])
    lookup = np.array([table[int(c)] for c in uniques], dtype=np.int64)
    return lookup[inverse.reshape(codes.shape)]


def _code(colour: Sequence[int]) -> int:
    r, g, b = (int(v) for v in colour)
    return (r << 16) | (g << 8) | b


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def list_images(source: str | os.PathLike) -> list[Path]:
    """``source`` itself if it is a file, else the images directly inside the directory, sorted by name."""
    path = Path(os.path.expanduser(str(source)))
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise PaddleFCNError(f"input not found: {path}")
    images = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise PaddleFCNError(f"{path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    stems = [p.stem for p in images]
    duplicate = next((s for s in stems if stems.count(s) > 1), None)
    if duplicate is not None:
        raise PaddleFCNError(f"{path}: several images are named '{duplicate}.*'; their outputs would collide")
    return images
