"""The benchmark's table for the terminal and its JSON file."""

from __future__ import annotations

import json
import os
from typing import Optional

from paddlefcn.utils.files import atomic_write_text


def _ms(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def format_table(result: dict) -> str:
    """The measurements as an aligned two-column text table."""
    latency = result["latency_ms"]
    ratio = result["train_loop_vs_raw"]
    vs_onnx = result["paddle_inference_vs_onnxruntime"]
    rows = [
        ("device", f"{result['device']} ({result['cpu_threads']} CPU threads)"),
        ("input", f"batch {result['batch_size']}, {result['input_size'][0]}x{result['input_size'][1]}"),
        ("raw forward+backward", f"{result['raw_train_ips']:.2f} img/s"),
        ("training loop", f"{result['train_loop_ips']:.2f} img/s ({ratio:.2f}x raw)"),
        ("loop vs raw, CPU time", f"{result['cpu_time_ips']['train_loop_vs_raw']:.2f}x"),
        ("validation", f"{result['val_ips']:.2f} img/s"),
        ("latency input", "{}x{}, batch 1".format(*result["latency_input_size"])),
        ("latency dygraph", _ms(latency["dygraph"])),
        ("latency Paddle Inference", _ms(latency["paddle_inference"])),
        (
            "latency ONNX Runtime",
            _ms(latency["onnxruntime"]) + ("" if vs_onnx is None else f" (Paddle Inference: {vs_onnx:.2f}x)"),
        ),
        (f"peak memory ({result['peak_memory_kind']})", f"{result['peak_memory_mb']:.0f} MB"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def write_json(result: dict, path: str | os.PathLike) -> None:
    """Writes ``result`` as indented JSON (atomically)."""
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")
