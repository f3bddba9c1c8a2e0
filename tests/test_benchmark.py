import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paddlefcn.benchmark.workload import benchmark_config, with_resize
from paddlefcn.deploy.precision import cpu_features
from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils import timing
from paddlefcn.utils.timing import compare_latency

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "configs" / "ablation" / "smoke" / "fcn8s.yml"
HAS_BF16 = cpu_features()["avx512_bf16"]


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
    engines = {(row["backend"], row["precision"]) for row in result["latency_rows"]}
    assert engines == {("paddle_inference", "fp32"), ("onnxruntime", "fp32"), ("onnxruntime", "int8")} | (
        {("paddle_inference", "bf16")} if HAS_BF16 else set()
    ), result["unavailable"]


def test_latency_only_has_a_row_per_engine_precision_size_and_batch(tmp_path):
    root = tmp_path / "data"
    out = tmp_path / "bench.json"
    sizes = ["32", "64", "64", "64"]
    done = benchmark_cli(
        *("-c", str(SMOKE), "-o", f"data.train.root={root}", f"data.val.root={root}", "export.calib_images=2"),
        *("--latency-only", "--latency-size", *sizes, "--latency-batch", "1", "2", "--latency-runs", "2"),
        *("--warmup", "1", "--json", str(out)),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["raw_train_ips"] is None and result["val_ips"] is None and result["latency_ms"]["dygraph"] is None
    assert result["latency_input_size"] == [32, 64]
    rows = result["latency_rows"]
    precisions = {"paddle_inference": ["fp32", "bf16"] if HAS_BF16 else ["fp32"], "onnxruntime": ["fp32", "int8"]}
    expected = [
        (backend, precision, [batch, 3, height, width])
        for height, width in ((32, 64), (64, 64))
        for batch in (1, 2)
        for backend in precisions
        for precision in precisions[backend]
    ]
    assert sorted((r["backend"], r["precision"], r["input"]) for r in rows) == sorted(expected)
    for row in rows:
        assert row["median_ms"] > 0 and row["runs"] == 2
        assert row["vs_fp32"] == pytest.approx(
            row["median_ms"]
            / next(
                r["median_ms"]
                for r in rows
                if r["backend"] == row["backend"] and r["input"] == row["input"] and r["precision"] == "fp32"
            )
        )
    assert "training loop" not in done.stdout
    table = done.stdout[done.stdout.index("latency, median") :].splitlines()
    assert table[1].split() == ["input", "backend", "fp32", "bf16", "int8"]
    assert len(table) >= 1 + 1 + 8, "one line per input and backend"


def test_a_cpu_without_avx512_bf16_times_no_bf16_and_says_why(tmp_path, monkeypatch):
    from paddlefcn import Experiment
    from paddlefcn.benchmark import BenchmarkOptions
    from paddlefcn.deploy import precision

    monkeypatch.setattr(precision, "cpu_features", lambda: {"avx512_bf16": False, "vnni": True})
    root = tmp_path / "data"
    experiment = Experiment.from_file(SMOKE, [f"data.train.root={root}", f"data.val.root={root}"])
    options = BenchmarkOptions(
        latency_sizes=[[32, 32]], precisions=["fp32", "bf16"], latency_only=True, latency_runs=1, warmup=1
    )
    result = experiment.benchmark(options, tmp_path / "work")
    assert {(r["backend"], r["precision"]) for r in result["latency_rows"]} == {
        ("paddle_inference", "fp32"),
        ("onnxruntime", "fp32"),
    }
    assert result["unavailable"]["paddle_inference bf16"].startswith("bf16 needs a CPU with AVX-512 BF16")


def test_bad_size_is_one_line_error(tmp_path):
    for flag in ("--size", "--latency-size"):
        done = benchmark_cli("-c", str(SMOKE), flag, "16", "16", cwd=tmp_path)
        assert done.returncode == 2
        assert done.stderr.strip().splitlines()[-1].startswith(f"error: {flag} needs H W of at least 32")


def test_benchmark_config_sets_size_batch_and_random_init_and_turns_a_time_budget_off():
    cfg = {
        "model": {"backbone": {"type": "ResNet34", "pretrained": "imagenet"}},
        "train": {"batch_size": 8, "time_budget": "25m"},
        "lr": {"base": 0.01, "warmup_iters": 20},
        "data": {
            "train": {"transforms": [{"type": "RandomHorizontalFlip"}, {"type": "Normalize"}]},
            "val": {"transforms": [{"type": "Resize", "size": 32}, {"type": "Normalize"}]},
        },
    }
    out = benchmark_config(cfg, 10, batch_size=4, size=[64, 96])
    assert out["model"]["backbone"]["pretrained"] is None and out["train"]["batch_size"] == 4
    assert out["train"]["time_budget"] is None and cfg["train"]["time_budget"] == "25m"
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
