"""Decoding an uploaded image, refusing oversized ones from their header before any pixel is decoded."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from paddlefcn.serve.errors import RequestError

# The decoders the server exposes: the formats tools/infer.py reads (paddlefcn.data.io.IMAGE_SUFFIXES).
FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP")


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """An HWC RGB uint8 array of the image in ``data``, as ``paddlefcn.data.read_image`` would read it.

    Grayscale is repeated to three channels, alpha is dropped, 16-bit samples are scaled to 8 bits and
    EXIF orientation is ignored. The size is read from the header (PIL opens lazily) and checked against
    ``max_pixels`` before decoding; PIL's decompression-bomb check is answered the same way.

    Raises:
        RequestError: 400 for an empty, unreadable, truncated or corrupt image, 413 for too many pixels.
    """
    if not data:
        raise RequestError(400, "empty body: no image was sent")
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise RequestError(
                    413, f"image is {width}x{height} = {width * height} pixels, more than the limit of {max_pixels}"
                )
            image.load()
            return _to_rgb(image)
    except Image.DecompressionBombError as err:
        raise RequestError(413, f"image declares more pixels than the limit of {max_pixels}: {err}") from None
    except Image.UnidentifiedImageError:
        raise RequestError(400, f"not an image (readable formats: {', '.join(FORMATS)})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise RequestError(400, f"corrupt or truncated image ({err})") from None


def _to_rgb(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16L", "I;16B", "I"):
        gray = np.round(np.asarray(image, dtype=np.float64) / 257.0).clip(0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    return np.asarray(image.convert("RGB"))
