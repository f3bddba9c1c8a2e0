"""Latency of a callable: warm-up runs, then timed runs summarised by mean and percentiles."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from paddlefcn.errors import PaddleFCNError


@dataclass
class Latency:
    """Wall-clock milliseconds per call.

    Attributes:
        mean: Mean over the timed runs.
        median: 50th percentile.
        p90: 90th percentile.
        runs: Number of timed runs.
    """

    mean: float
    median: float
    p90: float
    runs: int

    def __str__(self) -> str:
        return f"mean {self.mean:.1f} ms, median {self.median:.1f} ms, p90 {self.p90:.1f} ms over {self.runs} runs"


def measure_latency(fn: Callable[[], object], warmup: int = 3, repeats: int = 20) -> Latency:
    """Calls ``fn`` ``warmup`` times untimed (oneDNN/TensorRT pick kernels then), then ``repeats`` times timed."""
    if warmup < 0 or repeats < 1:
        raise PaddleFCNError(f"benchmark needs warmup >= 0 and repeats >= 1, got {warmup} and {repeats}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    ms = np.asarray(times)
    return Latency(float(ms.mean()), float(np.median(ms)), float(np.percentile(ms, 90)), repeats)
