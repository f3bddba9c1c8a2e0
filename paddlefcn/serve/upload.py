"""Reading the uploaded image from a request: a multipart form's file or the raw body, at most a given size."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive

from paddlefcn.serve.errors import RequestError

MULTIPART = "multipart/form-data"
RAW_TYPES = ("application/octet-stream",)
HOW_TO_SEND = "send the image as multipart/form-data (curl -F file=@image.jpg) or as the raw body (image/*)"


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
