"""Speed measurements: the latency of callables (warm-up, then timed runs) and percentiles of recorded times.

Used by the benchmark, ``tools/infer.py --benchmark`` and the load test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from paddlefcn.errors import PaddleFCNError

# OpenMP threads keep spinning for up to 200 ms after their last parallel region (Intel OpenMP's default
# KMP_BLOCKTIME): an engine timed within that window shares its cores with the previous engine's threads.
# Warming up for longer than that (rather than pausing, which lets the cores idle) keeps the timing steady.
SETTLE_SECONDS = 0.25


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
    _check_runs(warmup, repeats)
    _warm_up(fn, warmup)
    return _summary(_timed_runs(fn, repeats))


def compare_latency(
    fns: dict[str, Callable[[], object]], warmup: int = 3, repeats: int = 20, rounds: int = 5
) -> dict[str, Latency]:
    """Times several callables in alternating rounds, so that a change of machine load affects all of them.

    In each round every callable is called untimed ``warmup`` times and for at least ``SETTLE_SECONDS``
    (until the previous callable's threads have stopped spinning), then for its share of ``repeats`` timed calls.
    """
    _check_runs(warmup, repeats)
    if rounds < 1:
        raise PaddleFCNError(f"benchmark needs rounds >= 1, got {rounds}")
    rounds = min(rounds, repeats)
    shares = [repeats // rounds + (i < repeats % rounds) for i in range(rounds)]
    times: dict[str, list[float]] = {name: [] for name in fns}
    for share in shares:
        for name, fn in fns.items():
            _warm_up(fn, warmup, SETTLE_SECONDS)
            times[name] += _timed_runs(fn, share)
    return {name: _summary(ms) for name, ms in times.items()}


def _check_runs(warmup: int, repeats: int) -> None:
    if warmup < 0 or repeats < 1:
        raise PaddleFCNError(f"benchmark needs warmup >= 0 and repeats >= 1, got {warmup} and {repeats}")


def _warm_up(fn: Callable[[], object], calls: int, seconds: float = 0.0) -> None:
    end = time.perf_counter() + seconds
    done = 0
    while done < calls or time.perf_counter() < end:
        fn()
        done += 1


def _timed_runs(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def percentiles(times: Sequence[float], *percents: float) -> list[float]:
    """The ``percents`` (0-100) of ``times``, linearly interpolated between the nearest two."""
    return [float(value) for value in np.percentile(np.asarray(times), percents)]


def _summary(times: list[float]) -> Latency:
    ms = np.asarray(times)
    return Latency(float(ms.mean()), float(np.median(ms)), *percentiles(ms, 90), len(times))
