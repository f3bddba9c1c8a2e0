"""Running every measurement of the benchmark in order and collecting them in one dict."""

from __future__ import annotations

import os
import resource
import sys
import tempfile
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import paddle

from paddlefcn.benchmark.latency import dygraph_latency, exported_latency
from paddlefcn.benchmark.throughput import raw_train_ips, train_loop_ips, val_ips
from paddlefcn.benchmark.workload import benchmark_config, training_input_size
from paddlefcn.checks import check_int
from paddlefcn.engine.builder import Builder
from paddlefcn.engine.trainer import seed_everything
from paddlefcn.errors import PaddleFCNError
from paddlefcn.runtime import setup_runtime
from paddlefcn.settings import TrainSettings
from paddlefcn.utils.env import on_gpu


@dataclass
class BenchmarkOptions:
    """What to measure and for how long.

    Attributes:
        batch_size: Training batch; default ``train.batch_size``.
        size: ``[H, W]`` of every input; default the size of the training loader's samples.
        latency_size: ``[H, W]`` of the single image timed for latency; default ``size``. Deployment
            latency depends on the input size (see ``docs/performance.md``), so time it at the size you serve.
        iters: Timed training iterations (raw and loop each).
        warmup: Untimed iterations before them (and runs before each latency measurement).
        val_batches: Timed val batches.
        latency_runs: Timed single-image inferences per backend.
    """

    batch_size: Optional[int] = None
    size: Optional[Sequence[int]] = None
    latency_size: Optional[Sequence[int]] = None
    iters: int = 20
    warmup: int = 3
    val_batches: int = 50
    latency_runs: int = 30

    def check(self) -> None:
        """Raises on a count below its minimum or a malformed size."""
        for name, low in (("iters", 1), ("warmup", 1), ("val_batches", 1), ("latency_runs", 1)):
            check_int(getattr(self, name), f"benchmark {name}", minimum=low, error=PaddleFCNError)
        for flag, value in (("--size", self.size), ("--latency-size", self.latency_size)):
            if value is not None and (len(value) != 2 or min(value) < 32):
                raise PaddleFCNError(f"{flag} needs H W of at least 32 each, got {list(value)}")
        if self.batch_size is not None and self.batch_size < 1:
            raise PaddleFCNError(f"--batch-size must be positive, got {self.batch_size}")


def peak_memory() -> tuple[float, str]:
    """``(megabytes, kind)``: max allocated GPU memory on a GPU, else the process's peak resident set."""
    if on_gpu():
        return paddle.device.cuda.max_memory_allocated() / 2**20, "gpu max allocated"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10), "rss"  # bytes on macOS, KiB on Linux


def run_benchmark(cfg: dict, options: BenchmarkOptions, work_dir: Optional[str | os.PathLike] = None) -> dict:
    """Measures training, validation and inference speed and peak memory of ``cfg`` on the current device.

    Args:
        cfg: A loaded config.
        options: Sizes and counts.
        work_dir: Where the training run and the export go; default a temporary directory removed afterwards.

    Returns:
        ``raw_train_ips``, ``train_loop_ips``, ``val_ips``, ``latency_ms`` (median per backend: ``dygraph``,
        ``paddle_inference``, ``onnxruntime``; ``None`` if unavailable, see ``unavailable``),
        ``peak_memory_mb`` and the settings and ratios they were measured with.
    """
    options.check()
    cfg = benchmark_config(cfg, options.warmup + options.iters, options.batch_size, options.size)
    setup_runtime(cfg)
    threads = None if on_gpu() else int(os.environ["OMP_NUM_THREADS"])  # set by setup_runtime
    size = tuple(options.size) if options.size is not None else training_input_size(cfg)
    scratch = nullcontext(work_dir) if work_dir is not None else tempfile.TemporaryDirectory(prefix="paddlefcn-bench-")
    with scratch as directory:
        root = Path(directory)
        # Raw speed is measured before and after the loop and the higher is kept: the ceiling is then not
        # lowered by a process still warming up or by a burst of load from elsewhere.
        raw_runs = [raw_train_ips(cfg, size, options.iters, options.warmup)]
        loop, loop_cpu = train_loop_ips(cfg, root / "train", options.iters, options.warmup)
        raw_runs.append(raw_train_ips(cfg, size, options.iters, options.warmup))
        raw, raw_cpu = max(r[0] for r in raw_runs), max(r[1] for r in raw_runs)
        val = val_ips(cfg, options.val_batches)
        seed_everything(0)
        model = Builder(cfg).model().without_aux()
        latency_size = tuple(options.latency_size) if options.latency_size is not None else size
        image = np.random.default_rng(0).standard_normal((1, 3, *latency_size)).astype("float32")
        dygraph = dygraph_latency(model, image, options.warmup, options.latency_runs)
        exported, unavailable = exported_latency(cfg, model, image, root, options.warmup, options.latency_runs)
    latencies = {"dygraph": dygraph, **exported}
    memory, kind = peak_memory()
    # Medians: a burst of load from elsewhere shifts a few runs, and the mean with them.
    medians = {name: (None if value is None else value.median) for name, value in latencies.items()}
    both = medians["paddle_inference"] is not None and medians["onnxruntime"] is not None
    return {
        "device": paddle.device.get_device(),
        "cpu_threads": threads,
        "paddle_version": paddle.__version__,
        "batch_size": TrainSettings.of(cfg).batch_size,
        "input_size": list(size),
        "latency_input_size": list(latency_size),
        "options": asdict(options),
        "raw_train_ips": raw,
        "raw_train_ips_runs": [r[0] for r in raw_runs],
        "train_loop_ips": loop,
        "train_loop_vs_raw": loop / raw,
        "cpu_time_ips": {"raw_train": raw_cpu, "train_loop": loop_cpu, "train_loop_vs_raw": loop_cpu / raw_cpu},
        "val_ips": val,
        "latency_ms": medians,
        "latency_detail": {name: (None if v is None else asdict(v)) for name, v in latencies.items()},
        "paddle_inference_vs_onnxruntime": medians["paddle_inference"] / medians["onnxruntime"] if both else None,
        "unavailable": unavailable,
        "peak_memory_mb": memory,
        "peak_memory_kind": kind,
    }
