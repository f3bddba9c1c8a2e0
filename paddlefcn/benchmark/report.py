"""The benchmark's table for the terminal and its JSON file."""

from __future__ import annotations

import json
import os
from typing import Optional

from paddlefcn.utils.files import atomic_write_text


def _ms(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def format_table(result: dict) -> str:
    """The measurements as an aligned two-column text table, then the latency of every engine and precision."""
    latency = result["latency_ms"]
    vs_onnx = result["paddle_inference_vs_onnxruntime"]
    rows = [("device", f"{result['device']} ({result['cpu_threads']} CPU threads)")]
    if result["raw_train_ips"] is not None:  # not with --latency-only
        ratio = result["train_loop_vs_raw"]
        rows += [
            ("input", f"batch {result['batch_size']}, {result['input_size'][0]}x{result['input_size'][1]}"),
            ("raw forward+backward", f"{result['raw_train_ips']:.2f} img/s"),
            ("training loop", f"{result['train_loop_ips']:.2f} img/s ({ratio:.2f}x raw)"),
            ("loop vs raw, CPU time", f"{result['cpu_time_ips']['train_loop_vs_raw']:.2f}x"),
            ("validation", f"{result['val_ips']:.2f} img/s"),
        ]
    first = result["latency_rows"][0]["input"] if result["latency_rows"] else [1, 3, *result["latency_input_size"]]
    rows += [
        ("latency input", f"{first[2]}x{first[3]}, batch {first[0]}"),
        ("latency dygraph", _ms(latency["dygraph"])),
        ("latency Paddle Inference", _ms(latency["paddle_inference"])),
        (
            "latency ONNX Runtime",
            _ms(latency["onnxruntime"]) + ("" if vs_onnx is None else f" (Paddle Inference: {vs_onnx:.2f}x)"),
        ),
        (f"peak memory ({result['peak_memory_kind']})", f"{result['peak_memory_mb']:.0f} MB"),
    ]
    width = max(len(name) for name, _ in rows)
    table = "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
    return table + "\n\n" + format_latency_rows(result["latency_rows"], result["unavailable"])


def format_latency_rows(rows: list[dict], unavailable: dict[str, str]) -> str:
    """One line per input and backend with its fp32, bf16 and int8 medians side by side (ratios to fp32)."""
    names = {"paddle_inference": "Paddle Inference", "onnxruntime": "ONNX Runtime"}
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:
        ratio = "" if row["precision"] == "fp32" or row["vs_fp32"] is None else f" ({row['vs_fp32']:.2f}x)"
        key = ("x".join(str(d) for d in row["input"]), names.get(row["backend"], row["backend"]))
        cells.setdefault(key, {})[row["precision"]] = f"{row['median_ms']:.1f} ms{ratio}"
    header = ("input", "backend", "fp32", "bf16", "int8")
    lines = [header] + [(*key, *(found.get(p, "-") for p in header[2:])) for key, found in cells.items()]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["latency, median of the timed runs (engines of one input timed in alternating rounds):"]
    text += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]
    text += [f"not timed: {name}: {why}" for name, why in unavailable.items() if name != "dygraph"]
    return "\n".join(text)


def write_json(result: dict, path: str | os.PathLike) -> None:
    """Writes ``result`` as indented JSON (atomically)."""
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")
