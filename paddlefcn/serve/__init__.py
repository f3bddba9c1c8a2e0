"""Serving an exported model over HTTP: ``create_app(model_dir)`` (FastAPI), run by ``tools/serve.py``.

``serve(app, sock)`` runs an app with uvicorn on a socket from ``paddlefcn.serve.server.bind``; ``ServeLimits`` are
how much work and data the server accepts at once.

``create_app`` and ``serve`` need the ``serve`` extra (``pip install 'paddlefcn[serve]'``) and import it on
first use, so ``ServeLimits`` and the tool's ``--help`` work without it.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass

from paddlefcn.checks import check_int
from paddlefcn.errors import PaddleFCNError

MIB = 1 << 20
_LAZY = {"create_app": "paddlefcn.serve.app", "serve": "paddlefcn.serve.server"}

__all__ = ["ServeLimits", "create_app", "serve"]


@dataclass(frozen=True)
class ServeLimits:
    """The server's bounds; each is checked when the app is created.

    Attributes:
        max_batch: Most images run in one model call (1 turns micro-batching off).
        max_queue: Most requests waiting for the model; one more is answered 503.
        max_pixels: Most pixels (width x height) of an image, checked on its header before decoding.
        max_upload_mb: Largest request body, in MiB.
    """

    max_batch: int = 4
    max_queue: int = 16
    max_pixels: int = 4096 * 4096
    max_upload_mb: int = 32

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            check_int(value, name, error=PaddleFCNError)

    @property
    def max_upload_bytes(self) -> int:
        """``max_upload_mb`` in bytes."""
        return self.max_upload_mb * MIB


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'paddlefcn.serve' has no attribute '{name}'")
