"""``ModelProcess``: the ``Predictor`` in a child process, so running the model never blocks the event loop.

Paddle Inference holds Python's GIL for the whole of ``predictor.run``, so a model run on a thread of the
server's process stops its event loop too (measured: ``GET /health`` waited up to a whole batch, 1-2 s for
FCN-8s/ResNet34 at 512x512). In a child process the model runs while the server reads, decodes and answers
requests. Images go to the child and labels come back through a pipe (about a millisecond per megabyte).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Optional, Sequence

import numpy as np

from paddlefcn.deploy.manifest import DeployConfig
from paddlefcn.errors import PaddleFCNError

WARMUP_SIZE = 64  # side of the blank image run once at start-up, where the model does not fix it
START_TIMEOUT = 600.0  # seconds for the child to import Paddle, load the model and run it once


@dataclass
class ModelSummary:
    """What the child tells about the model it loaded."""

    model_dir: str
    deploy: DeployConfig
    backend: str
    runtime: str
    batch_size: int
    paddle_version: str


class ModelProcess:
    """A ``Predictor`` in a child process; ``predict`` sends it images and returns their labels.

    The child loads the model and runs it once on a blank image before the constructor returns, so a broken
    export or a model that does not match its ``deploy.yaml`` fails here, with the Predictor's one-line error.
    A child that dies (killed for memory, say) fails the batch it was running and is started again.

    Args:
        model_dir: The export directory.
        batch_size: Largest batch (``Predictor``'s ``batch_size``).
        options: Further ``Predictor`` arguments (``backend``, ``device``, ``cpu_threads`` ...).
    """

    def __init__(self, model_dir: str | os.PathLike, batch_size: int, options: dict) -> None:
        self._args = (str(model_dir), batch_size, options)
        self._lock = threading.Lock()
        self._process: Optional[multiprocessing.process.BaseProcess] = None
        self.summary = self._start()

    def _start(self) -> ModelSummary:
        context = multiprocessing.get_context("spawn")  # a fork would copy Paddle's and OpenMP's threads' state
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_child, args=(child, *self._args), name="paddlefcn-model", daemon=True)
        self._process.start()
        child.close()
        if not self._conn.poll(START_TIMEOUT):
            self.close()
            raise PaddleFCNError(f"the model process did not start within {START_TIMEOUT:.0f} s")
        status, payload = self._receive()
        if status != "ready":
            self.close()
            raise PaddleFCNError(payload)
        return payload

    def _receive(self) -> tuple[str, object]:
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            if self._process is None:
                return "died", "the model process was stopped"
            self._process.join(5)  # its exit code is known once it is reaped
            return "died", f"the model process exited (exit code {self._process.exitcode})"

    def predict(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Labels ``[H, W]`` uint8 for each HWC RGB image (``Predictor.predict``, run in the child).

        Raises:
            PaddleFCNError: The Predictor refused an image (its message).
            RuntimeError: The model failed, or its process died (it is restarted for the next call).
        """
        with self._lock:
            try:
                self._conn.send(("predict", list(images)))
            except OSError:
                pass  # the child is gone; _receive says how
            status, payload = self._receive()
            if status == "died":
                self.close()
                try:
                    self.summary = self._start()
                except PaddleFCNError as err:
                    raise RuntimeError(f"{payload}; starting it again failed: {err}") from None
                raise RuntimeError(f"{payload}; started it again")
        if status == "refused":
            raise PaddleFCNError(payload)
        if status == "failed":
            raise RuntimeError(payload)
        return payload

    @property
    def pid(self) -> Optional[int]:
        """The child's process id."""
        return self._process.pid if self._process is not None else None

    @property
    def alive(self) -> bool:
        """Whether the child runs."""
        return self._process is not None and self._process.is_alive()

    def close(self) -> None:
        """Stops the child (at once if it does not stop when asked)."""
        if self._process is None:
            return
        try:
            self._conn.send(("stop", None))
        except OSError:
            pass
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()
        self._process = None


def _child(conn: Connection, model_dir: str, batch_size: int, options: dict) -> None:
    """The child's loop: load and warm up the Predictor, then answer ``predict`` messages until ``stop``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; the server stops us
    try:
        import paddle

        from paddlefcn.deploy import Predictor

        predictor = Predictor(model_dir, batch_size=batch_size, **options)
        height, width = (d if d > 0 else WARMUP_SIZE for d in predictor.deploy.input_shape[2:])
        predictor.predict([np.zeros((height, width, 3), dtype=np.uint8)])
    except Exception as err:  # a PaddleFCNError is the one line to show; anything else is named by its type
        conn.send(("error", str(err) if isinstance(err, PaddleFCNError) else f"{type(err).__name__}: {err}"))
        return
    summary = ModelSummary(
        str(predictor.model_dir),
        predictor.deploy,
        predictor.backend,
        predictor.describe(),
        predictor.batch_size,
        paddle.__version__,
    )
    conn.send(("ready", summary))
    while True:
        try:
            kind, images = conn.recv()
        except EOFError:  # the server is gone
            return
        if kind == "stop":
            return
        try:
            answer = ("ok", [labels.astype(np.uint8) for labels in predictor.predict(images)])
        except PaddleFCNError as err:
            answer = ("refused", str(err))
        except Exception as err:  # reported to the server, which answers 500 and goes on
            answer = ("failed", f"{type(err).__name__}: {err}")
        conn.send(answer)
