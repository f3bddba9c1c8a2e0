"""The image of a ``POST /predict``: read from the upload (bounded in size) and decoded, or a ``RequestError``."""

from __future__ import annotations

import numpy as np
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive

from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.image import ImageDecodeError, ImageTooLargeError, decode_image

MULTIPART = "multipart/form-data"
RAW_TYPES = ("application/octet-stream",)
HOW_TO_SEND = "send the image as multipart/form-data (curl -F file=@image.jpg) or as the raw body (image/*)"


class RequestError(PaddleFCNError):
    """A request the server refuses, with the HTTP status to answer it with.

    Args:
        status: The HTTP status code (4xx for the client's mistakes, 503 when the queue is full).
        message: One line naming the problem.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_upload(request: Request, max_bytes: int) -> bytes:
    """The image bytes of ``request``: the form's one file if it is multipart, else the body (no type: raw).

    Raises:
        RequestError: 413 for a body over ``max_bytes``, 415 for another content type, 400 for a multipart
            body that is malformed or holds no file and for a client that disconnects mid-upload.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (media_type in ("", MULTIPART, *RAW_TYPES) or media_type.startswith("image/")):
        raise RequestError(415, f"unsupported content type '{media_type}': {HOW_TO_SEND}")
    bounded = Request(request.scope, _bounded(request.receive, max_bytes))
    try:
        return await (_form_file(bounded) if media_type == MULTIPART else bounded.body())
    except ClientDisconnect:
        raise RequestError(400, "the client disconnected before the upload ended") from None


def decode_upload(data: bytes, max_pixels: int) -> np.ndarray:
    """An HWC RGB uint8 array of the uploaded image, decoded as ``paddlefcn.data.read_image`` decodes files.

    Raises:
        RequestError: 400 for an empty, unreadable, truncated or corrupt image, 413 for too many pixels (read from
            the header, before any pixel is decoded).
    """
    if not data:
        raise RequestError(400, "empty body: no image was sent")
    try:
        return decode_image(data, max_pixels)
    except ImageTooLargeError as err:
        raise RequestError(413, str(err)) from None
    except ImageDecodeError as err:
        raise RequestError(400, str(err)) from None


async def _form_file(request: Request) -> bytes:
    try:
        form = await request.form(max_files=1, max_fields=16)
    except (RequestError, ClientDisconnect):
        raise
    except Exception as err:  # Starlette and python-multipart raise several types for a malformed body
        raise RequestError(400, f"malformed multipart body ({getattr(err, 'detail', err)})") from None
    try:
        upload = next((value for value in form.values() if isinstance(value, UploadFile)), None)
        if upload is None:
            raise RequestError(400, f"the multipart form holds no file: {HOW_TO_SEND}")
        data = await upload.read()
        if not data:
            raise RequestError(400, f"the uploaded file '{upload.filename}' is empty")
        return data
    finally:
        await form.close()


def _bounded(receive: Receive, max_bytes: int) -> Receive:
    """``receive`` that raises a 413 once the body passes ``max_bytes`` (a chunked body declares no length)."""
    seen = 0

    async def bounded() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > max_bytes:
            raise _too_large(max_bytes)
        return message

    return bounded


def _too_large(max_bytes: int) -> RequestError:
    return RequestError(413, f"upload larger than {max_bytes // (1 << 20)} MiB (the server's --max-upload-mb)")
