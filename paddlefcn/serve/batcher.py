"""``MicroBatcher``: a bounded queue of images and one worker thread that runs them through the model in batches."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable, Hashable, Optional, Sequence

import numpy as np

from paddlefcn.serve.request import RequestError

Predict = Callable[[Sequence[np.ndarray]], list[np.ndarray]]


@dataclass
class _Job:
    image: np.ndarray
    key: Hashable
    future: Future = field(default_factory=Future)


class MicroBatcher:
    """Runs ``predict`` off the event loop, on one worker thread, over batches of queued images.

    The worker takes the oldest waiting image and, with it, the next waiting images of the same size, up to
    ``max_batch``; images of other sizes wait for a later batch, so a batch never mixes sizes and the oldest
    request always goes first. Nothing waits on purpose: requests that arrive while a batch runs form the next.

    Args:
        predict: Labels for a list of HWC images of equal size (``ModelProcess.predict``).
        max_batch: Most images per ``predict`` call.
        max_queue: Most images waiting; ``submit`` refuses one more with a 503.
        on_batch: Called after each batch with its size and its duration in seconds.
    """

    def __init__(
        self,
        predict: Predict,
        max_batch: int,
        max_queue: int,
        on_batch: Optional[Callable[[int, float], None]] = None,
    ) -> None:
        self.predict = predict
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.on_batch = on_batch
        self._waiting: deque[_Job] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        """Starts the worker thread."""
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="paddlefcn-serve-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Lets the worker finish the waiting images, then stops it."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @property
    def alive(self) -> bool:
        """Whether the worker thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def depth(self) -> int:
        """Images waiting for the model (not counting the batch being run)."""
        return len(self._waiting)

    async def submit(self, image: np.ndarray) -> np.ndarray:
        """The labels of ``image``, once the worker has run it.

        Raises:
            RequestError: 503 when ``max_queue`` images are waiting already, or the worker is not running.
        """
        job = _Job(image, image.shape)
        with self._ready:
            if self._closed or not self.alive:
                raise RequestError(503, "the server is not running its model worker (starting or shutting down)")
            if len(self._waiting) >= self.max_queue:
                raise RequestError(
                    503, f"server busy: {self.max_queue} images are already waiting for the model; retry shortly"
                )
            self._waiting.append(job)
            self._ready.notify()
        return await asyncio.wrap_future(job.future)

    def _take(self) -> list[_Job]:
        """Removes and returns the oldest job and the next ones of its size, up to ``max_batch``."""
        key = self._waiting[0].key
        batch: list[_Job] = []
        rest: deque[_Job] = deque()
        for job in self._waiting:
            (batch if job.key == key and len(batch) < self.max_batch else rest).append(job)
        self._waiting = rest
        return batch

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._waiting and not self._closed:
                    self._ready.wait()
                if not self._waiting:
                    return
                batch = self._take()
            jobs = [job for job in batch if job.future.set_running_or_notify_cancel()]
            if jobs:
                self._run(jobs)

    def _run(self, jobs: list[_Job]) -> None:
        start = time.perf_counter()
        try:
            labels = self.predict([job.image for job in jobs])
        except Exception as err:  # answered per request; the worker keeps serving
            for job in jobs:
                job.future.set_exception(err)
            return
        for job, label in zip(jobs, labels):
            job.future.set_result(label)
        if self.on_batch is not None:
            self.on_batch(len(jobs), time.perf_counter() - start)
