"""Decoding an upload with the one image decoder, refusing an oversized image from its header before decoding."""

from __future__ import annotations

import numpy as np

from paddlefcn.serve.errors import RequestError
from paddlefcn.utils.image import ImageDecodeError, ImageTooLargeError, decode_image


def decode_upload(data: bytes, max_pixels: int) -> np.ndarray:
    """An HWC RGB uint8 array of the uploaded image, decoded as ``paddlefcn.data.read_image`` decodes files.

    Raises:
        RequestError: 400 for an empty, unreadable, truncated or corrupt image, 413 for too many pixels.
    """
    if not data:
        raise RequestError(400, "empty body: no image was sent")
    try:
        return decode_image(data, max_pixels)
    except ImageTooLargeError as err:
        raise RequestError(413, str(err)) from None
    except ImageDecodeError as err:
        raise RequestError(400, str(err)) from None
