"""Running an app with uvicorn on a socket bound first, so a busy port is a one-line error before the model loads."""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI

from paddlefcn.errors import PaddleFCNError


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one).

    Raises:
        PaddleFCNError: The address cannot be listened on (in use, not this machine's, no permission).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise PaddleFCNError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    sock.listen(2048)
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(app: FastAPI, sock: socket.socket, log_level: str = "info") -> None:
    """Serves ``app`` on ``sock`` until interrupted (Ctrl-C or SIGTERM finish the requests in progress, then stop).

    Args:
        app: The app (``create_app``).
        sock: A listening socket (``bind``).
        log_level: uvicorn's log level (``info`` logs every request).
    """
    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=10)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn raises Ctrl-C again once it has shut down gracefully: the normal way out
        return
