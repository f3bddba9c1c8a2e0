import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paddlefcn.benchmark.workload import benchmark_config, with_resize
from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils import timing
from paddlefcn.utils.timing import compare_latency

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "configs" / "ablation" / "smoke" / "fcn8s.yml"


def benchmark_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "benchmark.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_tiny_benchmark_writes_every_field(tmp_path):
    root = tmp_path / "data"
    out = tmp_path / "bench.json"
    done = benchmark_cli(
        "-c",
        str(SMOKE),
        "-o",
        f"data.train.root={root}",
        f"data.val.root={root}",
        "--batch-size",
        "2",
        "--size",
        "64",
        "96",
        "--latency-size",
        "32",
        "64",
        "--iters",
        "2",
        "--warmup",
        "1",
        "--val-batches",
        "2",
        "--latency-runs",
        "2",
        "--json",
        str(out),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["batch_size"] == 2 and result["input_size"] == [64, 96]
    assert result["latency_input_size"] == [32, 64]
    assert all(v > 0 for v in result["cpu_time_ips"].values())
    for key in ("raw_train_ips", "train_loop_ips", "val_ips", "peak_memory_mb"):
        assert isinstance(result[key], float) and result[key] > 0, key
    assert set(result["latency_ms"]) == {"dygraph", "paddle_inference", "onnxruntime"}
    for name, value in result["latency_ms"].items():
        assert isinstance(value, float) and value > 0, (name, result["unavailable"])
    assert "training loop" in done.stdout and "latency ONNX Runtime" in done.stdout
    assert "32x64, batch 1" in done.stdout


def test_bad_size_is_one_line_error(tmp_path):
    for flag in ("--size", "--latency-size"):
        done = benchmark_cli("-c", str(SMOKE), flag, "16", "16", cwd=tmp_path)
        assert done.returncode == 2
        assert done.stderr.strip().splitlines()[-1].startswith(f"error: {flag} needs H W of at least 32")


def test_benchmark_config_sets_size_batch_and_random_init():
    cfg = {
        "model": {"backbone": {"type": "ResNet34", "pretrained": "imagenet"}},
        "train": {"batch_size": 8},
        "lr": {"base": 0.01, "warmup_iters": 20},
        "data": {
            "train": {"transforms": [{"type": "RandomHorizontalFlip"}, {"type": "Normalize"}]},
            "val": {"transforms": [{"type": "Resize", "size": 32}, {"type": "Normalize"}]},
        },
    }
    out = benchmark_config(cfg, 10, batch_size=4, size=[64, 96])
    assert out["model"]["backbone"]["pretrained"] is None and out["train"]["batch_size"] == 4
    assert out["lr"] == {"base": 0.01, "warmup_iters": 1}  # shortened to a tenth of the 10 iterations timed
    assert benchmark_config(cfg, 21)["lr"]["warmup_iters"] == 20
    resize = {"type": "Resize", "size": [64, 96]}
    assert out["data"]["train"]["transforms"] == [{"type": "RandomHorizontalFlip"}, resize, {"type": "Normalize"}]
    assert out["data"]["val"]["transforms"] == [resize, {"type": "Normalize"}]
    assert cfg["model"]["backbone"]["pretrained"] == "imagenet"
    assert with_resize([], [64, 64]) == [{"type": "Resize", "size": [64, 64]}]


def test_compare_latency_alternates_rounds_and_times_each_call(monkeypatch):
    monkeypatch.setattr(timing, "SETTLE_SECONDS", 0.0)
    calls = []

    def sleeper(name, seconds):
        def run():
            calls.append(name)
            time.sleep(seconds)

        return run

    result = compare_latency({"slow": sleeper("slow", 0.004), "fast": sleeper("fast", 0.001)}, 1, 5, rounds=2)
    # round 1: 1 warm-up + 3 timed each; round 2: 1 warm-up + 2 timed each
    assert calls == ["slow"] * 4 + ["fast"] * 4 + ["slow"] * 3 + ["fast"] * 3
    assert result["slow"].runs == result["fast"].runs == 5
    assert result["slow"].median >= 4.0 and 1.0 <= result["fast"].median < result["slow"].median


def test_compare_latency_rejects_bad_counts():
    with pytest.raises(PaddleFCNError, match="repeats >= 1"):
        compare_latency({"a": lambda: None}, 0, 0)
    with pytest.raises(PaddleFCNError, match="rounds >= 1"):
        compare_latency({"a": lambda: None}, 0, 1, rounds=0)


def test_compare_latency_warms_up_for_the_settle_time(monkeypatch):
    monkeypatch.setattr(timing, "SETTLE_SECONDS", 0.05)
    calls = []
    compare_latency({"a": lambda: calls.append(time.sleep(0.001))}, warmup=1, repeats=1)
    assert len(calls) >= 20  # 50 ms of 1 ms calls, not the single warm-up call asked for
