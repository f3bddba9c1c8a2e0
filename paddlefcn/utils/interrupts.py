"""Holding Ctrl-C back while a training step updates the model, so a saved checkpoint is never half a step."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Delays Ctrl-C (SIGINT) to the end of the block; a second Ctrl-C interrupts at once.

    Has no effect outside the main thread, or when SIGINT does not raise ``KeyboardInterrupt`` (a custom
    or ignoring handler is left alone).
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: object) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if received:
        raise KeyboardInterrupt
