"""Serving an exported model over HTTP: ``create_app(model_dir)`` (FastAPI), run by ``tools/serve.py``.

``serve(app, sock)`` runs an app with uvicorn on a socket from ``paddlefcn.serve.server.bind``.

``create_app`` and ``serve`` need the ``serve`` extra (``pip install 'paddlefcn[serve]'``) and import it on
first use, so ``ServeLimits`` and the tool's ``--help`` work without it.
"""

from __future__ import annotations

import importlib

from paddlefcn.serve.limits import ServeLimits

_LAZY = {"create_app": "paddlefcn.serve.app", "serve": "paddlefcn.serve.server"}

__all__ = ["ServeLimits", "create_app", "serve"]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'paddlefcn.serve' has no attribute '{name}'")
