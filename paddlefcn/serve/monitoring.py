"""``ServeMetrics``: the server's Prometheus metrics, in a registry of its own (one per app)."""

from __future__ import annotations

from typing import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServeMetrics:
    """Requests by status, request latency, batch sizes, batch run time and queue depth.

    Args:
        max_batch: The largest batch (one histogram bucket per batch size).
        queue_depth: Reads the number of images waiting for the model.
    """

    def __init__(self, max_batch: int, queue_depth: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "paddlefcn_predict_requests", "POST /predict requests by HTTP status", ["status"], registry=self.registry
        )
        self.latency = Histogram(
            "paddlefcn_predict_latency_seconds",
            "Time to answer a successful POST /predict, from its start to its answer",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "paddlefcn_batch_size",
            "Images per model run",
            buckets=tuple(range(1, max_batch + 1)),
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "paddlefcn_batch_seconds", "Duration of one model run", buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.queue_depth = Gauge("paddlefcn_queue_depth", "Images waiting for the model", registry=self.registry)
        self.queue_depth.set_function(queue_depth)

    def observe_batch(self, size: int, seconds: float) -> None:
        """Records one model run."""
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)

    def render(self) -> bytes:
        """All metrics in the Prometheus text format."""
        return generate_latest(self.registry)
