"""Shared test settings: deterministic, quiet Paddle on the CPU threads this machine has."""

import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("GLOG_minloglevel", "2")


RUNTIME = str(Path(__file__).resolve().parents[1] / "configs" / "_base_" / "runtime.yml")


def write_tiny_config(tmp_path: Path, **train: object) -> Path:
    """Writes ``tmp_path/tiny.yml``: FCN-8s/ResNet34, 7 synthetic classes at 64x64, batch 2; returns its path."""
    data_root = str(tmp_path / "synthetic")
    cfg = {
        "_base_": [RUNTIME],
        "model": {"num_classes": 7, "backbone": {"type": "ResNet34"}, "head": {"type": "FCN8s"}},
        "optimizer": {"type": "SGD", "momentum": 0.9, "weight_decay": 1.0e-4, "no_decay": ["bias", "norm"]},
        "lr": {"type": "poly", "base": 0.02, "power": 0.9, "warmup_iters": 1},
        "train": {
            "iters": 4,
            "batch_size": 2,
            "eval_interval": 2,
            "save_interval": 2,
            "log_interval": 1,
            "vis_images": 2,
            **train,
        },
        "data": {
            "train": {
                "type": "SyntheticShapes",
                "root": data_root,
                "split": "train",
                "num_images": 6,
                "size": 64,
                "transforms": [{"type": "RandomHorizontalFlip"}, {"type": "Normalize"}],
            },
            "val": {
                "type": "SyntheticShapes",
                "root": data_root,
                "split": "val",
                "num_images": 3,
                "size": 64,
                "seed": 1,
                "transforms": [{"type": "Normalize"}],
            },
            "num_workers": 0,
        },
    }
    path = tmp_path / "tiny.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture
def tiny_config(tmp_path):
    """Writes the tiny training config into ``tmp_path``; call it with ``train`` keys to rewrite it."""
    write_tiny_config(tmp_path)
    return lambda **train: write_tiny_config(tmp_path, **train)
