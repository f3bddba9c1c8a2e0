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

from paddlefcn.benchmark.latency import dygraph_latency, engine_predictors, export_precisions, precision_latency
from paddlefcn.benchmark.throughput import raw_train_ips, train_loop_ips, val_ips
from paddlefcn.benchmark.workload import benchmark_config, training_input_size
from paddlefcn.checks import check_int
from paddlefcn.deploy.precision import PRECISIONS
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
        latency_sizes: ``[[H, W], ...]`` of the inputs timed for latency; default ``[size]``. Deployment latency
            depends on the input size (see ``docs/performance.md``), so time it at the sizes you serve.
        latency_batches: Batch sizes of the latency inputs.
        precisions: Exports timed besides fp32 (which is always timed, as the baseline of the ratios): ``bf16``
            (Paddle Inference, on CPUs with AVX-512 BF16) and ``int8`` (ONNX Runtime, calibrated as the config's
            ``export`` section says).
        weights: Weights of the exports timed (a ``.pdparams`` file or checkpoint directory); default random.
        latency_only: Time the exports only (no training, validation or dygraph measurement).
        iters: Timed training iterations (raw and loop each).
        warmup: Untimed iterations before them (and runs before each latency measurement).
        val_batches: Timed val batches.
        latency_runs: Timed inferences per engine and input.
    """

    batch_size: Optional[int] = None
    size: Optional[Sequence[int]] = None
    latency_sizes: Optional[Sequence[Sequence[int]]] = None
    latency_batches: Sequence[int] = (1,)
    precisions: Sequence[str] = ("fp32", "bf16", "int8")
    weights: Optional[str] = None
    latency_only: bool = False
    iters: int = 20
    warmup: int = 3
    val_batches: int = 50
    latency_runs: int = 30

    def check(self) -> None:
        """Raises on a count below its minimum, a malformed size or an unknown precision."""
        for name, low in (("iters", 1), ("warmup", 1), ("val_batches", 1), ("latency_runs", 1)):
            check_int(getattr(self, name), f"benchmark {name}", minimum=low, error=PaddleFCNError)
        sizes = [("--size", self.size)] + [("--latency-size", size) for size in self.latency_sizes or ()]
        for flag, value in sizes:
            if value is not None and (len(value) != 2 or min(value) < 32):
                raise PaddleFCNError(f"{flag} needs H W of at least 32 each, got {list(value)}")
        if self.batch_size is not None and self.batch_size < 1:
            raise PaddleFCNError(f"--batch-size must be positive, got {self.batch_size}")
        if not self.latency_batches or min(self.latency_batches) < 1:
            raise PaddleFCNError(f"--latency-batch needs batch sizes of at least 1, got {list(self.latency_batches)}")
        unknown = sorted(set(self.precisions) - set(PRECISIONS))
        if unknown:
            raise PaddleFCNError(f"unknown precision '{unknown[0]}' (known: {', '.join(PRECISIONS)})")


FP32_ENGINES = ("paddle_inference", "onnxruntime")


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
        options: Sizes, counts and precisions.
        work_dir: Where the training run and the exports go; default a temporary directory removed afterwards.

    Returns:
        ``raw_train_ips``, ``train_loop_ips``, ``val_ips`` (``None`` with ``latency_only``), ``latency_ms`` (fp32
        medians at the first latency size and batch: ``dygraph``, ``paddle_inference``, ``onnxruntime``; ``None`` if
        unavailable, see ``unavailable``), ``latency_rows`` (every engine and precision at every latency size and
        batch, with ``vs_fp32``), ``peak_memory_mb`` and the settings and ratios they were measured with.
    """
    options.check()
    cfg = benchmark_config(cfg, options.warmup + options.iters, options.batch_size, options.size)
    setup_runtime(cfg)
    threads = None if on_gpu() else int(os.environ["OMP_NUM_THREADS"])  # set by setup_runtime
    size = tuple(options.size) if options.size is not None else training_input_size(cfg)
    latency_sizes = [list(s) for s in options.latency_sizes] if options.latency_sizes else [list(size)]
    first = np.random.default_rng(0).standard_normal((options.latency_batches[0], 3, *latency_sizes[0]))
    scratch = nullcontext(work_dir) if work_dir is not None else tempfile.TemporaryDirectory(prefix="paddlefcn-bench-")
    training: dict = {key: None for key in ("raw_train_ips", "train_loop_ips", "val_ips")}
    with scratch as directory:
        root = Path(directory)
        seed_everything(0)
        full = Builder(cfg).model(options.weights)
        model = full.without_aux()
        if not options.latency_only:
            training = _training_speed(cfg, root, size, options)
            dygraph = dygraph_latency(model, first.astype("float32"), options.warmup, options.latency_runs)
        weights = Path(options.weights) if options.weights else root / "weights.pdparams"
        if not options.weights:
            paddle.save(
                full.state_dict(), str(weights)
            )  # with any auxiliary heads: the export loads the config's model
        exports, unavailable = export_precisions(cfg, weights, root / "export", options.precisions)
        predictors = engine_predictors(exports, unavailable)
        rows = precision_latency(
            predictors, latency_sizes, options.latency_batches, options.warmup, options.latency_runs
        )
    if options.latency_only:
        unavailable["dygraph"] = "not measured (--latency-only)"
    first_rows = {
        row["backend"]: row for row in rows if row["precision"] == "fp32" and row["input"] == list(first.shape)
    }
    medians = {"dygraph": None if options.latency_only else dygraph.median}
    medians.update({name: (first_rows[name]["median_ms"] if name in first_rows else None) for name in FP32_ENGINES})
    memory, kind = peak_memory()
    both = medians["paddle_inference"] is not None and medians["onnxruntime"] is not None
    return {
        "device": paddle.device.get_device(),
        "cpu_threads": threads,
        "paddle_version": paddle.__version__,
        "batch_size": TrainSettings.of(cfg).batch_size,
        "input_size": list(size),
        "latency_input_size": latency_sizes[0],
        "options": asdict(options),
        **training,
        "latency_ms": medians,
        "latency_detail": {"dygraph": None if options.latency_only else asdict(dygraph)},
        "latency_rows": rows,
        "paddle_inference_vs_onnxruntime": medians["paddle_inference"] / medians["onnxruntime"] if both else None,
        "unavailable": unavailable,
        "peak_memory_mb": memory,
        "peak_memory_kind": kind,
    }


def _training_speed(cfg: dict, root: Path, size: Sequence[int], options: BenchmarkOptions) -> dict:
    """Raw and loop training throughput (images/s, wall and CPU time) and validation throughput."""
    # Raw speed is measured before and after the loop and the higher is kept: the ceiling is then not
    # lowered by a process still warming up or by a burst of load from elsewhere.
    raw_runs = [raw_train_ips(cfg, size, options.iters, options.warmup)]
    loop, loop_cpu = train_loop_ips(cfg, root / "train", options.iters, options.warmup)
    raw_runs.append(raw_train_ips(cfg, size, options.iters, options.warmup))
    raw, raw_cpu = max(r[0] for r in raw_runs), max(r[1] for r in raw_runs)
    return {
        "raw_train_ips": raw,
        "raw_train_ips_runs": [r[0] for r in raw_runs],
        "train_loop_ips": loop,
        "train_loop_vs_raw": loop / raw,
        "cpu_time_ips": {"raw_train": raw_cpu, "train_loop": loop_cpu, "train_loop_vs_raw": loop_cpu / raw_cpu},
        "val_ips": val_ips(cfg, options.val_batches),
    }
