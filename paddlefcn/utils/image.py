"""The image codec of data, infer and serve: bytes to HWC RGB uint8, and RGB images and palette label PNGs to bytes.

OpenCV decodes and encodes the pixels; PIL reads the header of an upload, so that its size is checked before any
pixel is decoded.
"""

from __future__ import annotations

import io
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import cv2
import numpy as np
from PIL import Image

from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.files import atomic_path
from paddlefcn.utils.palette import Palette, color_table

# The formats read when a pixel limit is given: those of the files tools/infer.py reads
# (``paddlefcn.data.io.IMAGE_SUFFIXES``), whose size PIL reads from the header.
FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP")


class ImageDecodeError(PaddleFCNError):
    """Bytes that are not an image, or a corrupt or truncated one."""


class ImageTooLargeError(PaddleFCNError):
    """An image whose header declares more pixels than allowed."""


def decode_image(data: bytes, max_pixels: Optional[int] = None) -> np.ndarray:
    """An HWC RGB uint8 array of the image in ``data``.

    Grayscale is repeated to three channels, alpha is dropped, 16-bit samples are scaled to 8 bits and EXIF
    orientation is ignored, so images stay aligned with their label maps.

    Args:
        data: The encoded image.
        max_pixels: If given, the image must be one of ``FORMATS`` and have at most this many pixels, read from
            its header before anything is decoded (for untrusted uploads).

    Raises:
        ImageDecodeError: Not an image, or a corrupt or truncated one, or one of unsupported sample type.
        ImageTooLargeError: More pixels than ``max_pixels``.
    """
    if max_pixels is None:
        pixels = _decode_pixels(data)
        if pixels is None:
            raise ImageDecodeError("cannot decode image (corrupt or not an image)")
        return _to_rgb(pixels)
    with _open_header(data, max_pixels) as header:
        pixels = _decode_pixels(data)
        if pixels is None:
            raise ImageDecodeError(f"corrupt or truncated image ({_why_undecodable(header)})")
    return _to_rgb(pixels)


@contextmanager
def _open_header(data: bytes, max_pixels: int) -> Iterator[Image.Image]:
    """The image of ``data`` opened lazily by PIL (header read, no pixel decoded), its size checked."""
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLargeError(
                    f"image is {width}x{height} = {width * height} pixels, more than the limit of {max_pixels}"
                )
            yield image
    except Image.DecompressionBombError as err:
        raise ImageTooLargeError(f"image declares more pixels than the limit of {max_pixels}: {err}") from None
    except Image.UnidentifiedImageError:
        raise ImageDecodeError(f"not an image (readable formats: {', '.join(FORMATS)})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise ImageDecodeError(f"corrupt or truncated image ({err})") from None


def _why_undecodable(header: Image.Image) -> str:
    """PIL's reason why the pixels of an image with a readable header cannot be decoded."""
    try:
        header.load()
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        return str(err)
    return "its pixel data cannot be decoded"


def _decode_pixels(data: bytes) -> Optional[np.ndarray]:
    """OpenCV's decoding of ``data`` as stored (BGR order, any depth), or ``None`` if it cannot decode it."""
    return cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED) if data else None


def _to_rgb(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint16:
        image = np.round(image / 257.0).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ImageDecodeError(f"unsupported image sample type {image.dtype}")
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    channels = image.shape[2]
    if channels in (1, 2):
        return np.ascontiguousarray(np.repeat(image[:, :, :1], 3, axis=2))
    code = cv2.COLOR_BGRA2RGB if channels == 4 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(image, code)


def encode_image(image: np.ndarray, ext: str, quality: int = 95) -> bytes:
    """An HWC RGB uint8 image encoded in the format of the extension ``ext`` (``.png``, ``.jpg`` at ``quality`` ...).

    Raises:
        PaddleFCNError: OpenCV cannot encode it.
    """
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext in (".jpg", ".jpeg") else []
    ok, encoded = cv2.imencode(ext, cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise PaddleFCNError(f"cannot encode the image as {ext}")
    return encoded.tobytes()


def encode_label_png(label: np.ndarray, table: np.ndarray) -> bytes:
    """A palette ("P") PNG whose pixel values are ``label`` (``[H, W]`` uint8), coloured by ``table`` (``[256, 3]``)."""
    image = Image.fromarray(label)
    image.putpalette(table.ravel().tolist())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_image(path: str | os.PathLike, image: np.ndarray, quality: int = 95) -> None:
    """Writes an HWC RGB uint8 image atomically, in the format of the extension of ``path`` (JPEG at ``quality``)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise PaddleFCNError(f"{path}: expected an [H, W, 3] uint8 image, got {image.shape} {image.dtype}")
    ext = os.path.splitext(str(path))[1].lower()
    if not ext or not cv2.haveImageWriter(f"image{ext}"):
        raise PaddleFCNError(f"{path}: cannot write an image with extension '{ext}' (use .png or .jpg)")
    try:
        encoded = encode_image(image, ext, quality)
    except PaddleFCNError as err:
        raise PaddleFCNError(f"{path}: {err}") from None
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(encoded)


def write_label(path: str | os.PathLike, label: np.ndarray, palette: Optional[Palette] = None) -> None:
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
    encoded = encode_label_png(label.astype(np.uint8), color_table(palette, ignore_index=None))
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(encoded)
