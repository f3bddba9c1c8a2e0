"""Reading images and label maps, and writing palette label PNGs, with one-line errors naming the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np
from PIL import Image

from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.io import atomic_path
from paddlefcn.utils.palette import color_table, voc_palette

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


def _require_file(path: str | os.PathLike, what: str) -> None:
    if not os.path.isfile(path):
        raise DataError(path, MISSING, f"{what} file not found")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Reads an image as HWC RGB uint8.

    Grayscale is repeated to three channels, alpha is dropped and 16-bit samples are scaled to 8 bits.
    EXIF orientation is ignored, so images stay aligned with their label maps.

    Raises:
        DataError: The file is missing or cannot be decoded.
    """
    _require_file(path, "image")
    raw = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED) if raw.size else None
    if image is None:
        raise DataError(path, CORRUPT, "cannot decode image (corrupt or not an image)")
    if image.dtype == np.uint16:
        image = np.round(image / 257.0).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise DataError(path, CORRUPT, f"unsupported image sample type {image.dtype}")
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    channels = image.shape[2]
    if channels in (1, 2):
        return np.ascontiguousarray(np.repeat(image[:, :, :1], 3, axis=2))
    code = cv2.COLOR_BGRA2RGB if channels == 4 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(image, code)


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
        DataError: The file is missing or corrupt, or a colour label has a colour not in the palette.
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
    uniques, inverse = np.unique(codes, return_inverse=True)
    unknown = [int(c) for c in uniques if int(c) not in table]
    if unknown:
        colour = (unknown[0] >> 16, (unknown[0] >> 8) & 255, unknown[0] & 255)
        raise DataError(path, BAD_VALUE, f"label colour {colour} is not in the dataset palette")
    lookup = np.array([table[int(c)] for c in uniques], dtype=np.int64)
    return lookup[inverse.reshape(codes.shape)]


def _code(colour: Sequence[int]) -> int:
    r, g, b = (int(v) for v in colour)
    return (r << 16) | (g << 8) | b


def write_label(path: str | os.PathLike, label: np.ndarray, palette: Optional[Sequence[Sequence[int]]] = None) -> None:
    """Writes a label map as a palette PNG whose pixel values are the class indices, atomically.

    Args:
        path: Destination ``.png``.
        label: HW integer class indices in 0..255.
        palette: Colours of the first indices; the rest follow the VOC colour map (``color_table``).
    """
    label = np.asarray(label)
    if label.ndim != 2 or not np.issubdtype(label.dtype, np.integer):
        raise PaddleFCNError(f"{path}: a label map must be a 2-D integer array, got {label.shape} {label.dtype}")
    if label.size and (label.min() < 0 or label.max() > 255):
        raise PaddleFCNError(
            f"{path}: label values must be in 0..255 to write a palette PNG, got [{label.min()}, {label.max()}]"
        )
    image = Image.fromarray(label.astype(np.uint8))
    image.putpalette(color_table(palette, ignore_index=None).ravel().tolist())
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def write_image(path: str | os.PathLike, image: np.ndarray, quality: int = 95) -> None:
    """Writes an HWC RGB uint8 image atomically, in the format of the extension of ``path`` (JPEG at ``quality``)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise PaddleFCNError(f"{path}: expected an [H, W, 3] uint8 image, got {image.shape} {image.dtype}")
    ext = os.path.splitext(str(path))[1].lower()
    if not ext or not cv2.haveImageWriter(f"image{ext}"):
        raise PaddleFCNError(f"{path}: cannot write an image with extension '{ext}' (use .png or .jpg)")
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext in (".jpg", ".jpeg") else []
    ok, encoded = cv2.imencode(ext, cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise PaddleFCNError(f"{path}: cannot encode the image as {ext}")
    with atomic_path(path) as tmp:
        encoded.tofile(tmp)


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
