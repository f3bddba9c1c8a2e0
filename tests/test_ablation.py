import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from paddlefcn import PaddleFCNError
from paddlefcn.ablation import aggregate, resolve_variants, run_ablation, write_report
from paddlefcn.ablation import run as ablation_run
from paddlefcn.ablation.report import markdown_table

REPO = Path(__file__).resolve().parents[1]
SUITES = REPO / "configs" / "ablation" / "suites.yml"


def tiny_overrides(tmp_path):
    root = str(tmp_path / "data")
    return [f"data.train.root={root}", f"data.val.root={root}", "train.iters=3", "train.eval_interval=2"]


def fake_result(variant, seed, mious, params=100, seconds=10.0):
    curve = [{"iter": 10 * (i + 1), "miou": m, "pa": 0.9, "mpa": 0.8, "fwiou": 0.7} for i, m in enumerate(mious)]
    best = max(curve, key=lambda p: p["miou"])
    return {
        "variant": variant,
        "seed": seed,
        "iters": 10 * len(mious),
        "final": {k: curve[-1][k] for k in ("miou", "pa", "mpa", "fwiou")},
        "best": best,
        "curve": curve,
        "params": params,
        "train_time_s": seconds,
    }


def test_smoke_suite_writes_report_and_skips_finished_runs(tmp_path, monkeypatch):
    variants = resolve_variants(suite="smoke", suites_file=SUITES)
    assert [v.name for v in variants] == ["fcn32s", "fcn8s"]
    out = tmp_path / "out"
    results = run_ablation(variants, out, overrides=tiny_overrides(tmp_path))
    assert [(r["variant"], r["seed"], r["iters"]) for r in results] == [("fcn32s", 0, 3), ("fcn8s", 0, 3)]
    for result in results:
        assert [p["iter"] for p in result["curve"]] == [2, 3]
        assert result["train_time_s"] > 0 and result["params"] > 0
        assert (out / result["variant"] / "seed0" / "vdl").is_dir()
    # FCN-8s adds score layers on 256 and 128 channels and two learned 4x4 deconvs (7 classes) to FCN-32s;
    # the last upsampler is frozen in both.
    assert results[1]["params"] - results[0]["params"] == (256 + 128) * 7 + 2 * 7 + 2 * 7 * 7 * 4 * 4

    written = write_report(results, out)
    table = written["markdown"].read_text()
    assert "| fcn32s |" in table and "| fcn8s |" in table
    with open(written["csv"]) as f:
        rows = list(csv.DictReader(f))
    assert [r["variant"] for r in rows] == ["fcn32s", "fcn8s"]
    assert float(rows[0]["miou"]) == pytest.approx(results[0]["final"]["miou"])
    assert written["plot"].read_bytes().startswith(b"\x89PNG")

    # A second run reads the finished results back instead of training.
    def no_training(*args, **kwargs):
        raise AssertionError("a finished variant was trained again")

    monkeypatch.setattr(ablation_run, "train", no_training)
    again = run_ablation(variants, out, overrides=tiny_overrides(tmp_path))
    assert again == json.loads(json.dumps(results))


def test_a_bad_config_value_names_the_variant_config(tmp_path):
    config = REPO / "configs" / "ablation" / "smoke" / "fcn32s.yml"
    overrides = [*tiny_overrides(tmp_path), "model.head.type=FCN4s"]
    with pytest.raises(PaddleFCNError, match=rf"^{re.escape(str(config))}: unknown head 'FCN4s'"):
        run_ablation(resolve_variants([config]), tmp_path / "out", overrides=overrides)


def test_finished_run_refuses_another_config(tmp_path):
    variants = resolve_variants([REPO / "configs" / "ablation" / "smoke" / "fcn32s.yml"])
    out = tmp_path / "out"
    run_ablation(variants, out, overrides=tiny_overrides(tmp_path), iters=2)
    with pytest.raises(PaddleFCNError, match="another config"):
        run_ablation(variants, out, overrides=tiny_overrides(tmp_path), iters=3)


def test_interrupted_run_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    variants = resolve_variants([REPO / "configs" / "ablation" / "smoke" / "fcn32s.yml"])
    out = tmp_path / "out"
    overrides = [*tiny_overrides(tmp_path), "train.iters=4", "train.save_interval=2"]
    real_train = ablation_run.train
    calls = []

    def train_then_stop(cfg, save_dir, **kwargs):
        calls.append(kwargs["resume"])
        if len(calls) == 1:
            cfg = {**cfg, "train": {**cfg["train"], "iters": 2}}  # stops after the first checkpoint
            trainer = real_train(cfg, save_dir, **kwargs)
            trainer.completed = False
            return trainer
        return real_train(cfg, save_dir, **kwargs)

    monkeypatch.setattr(ablation_run, "train", train_then_stop)
    with pytest.raises(ablation_run.TrainingInterruptedError):
        run_ablation(variants, out, overrides=overrides)
    assert not (out / "fcn32s" / "seed0" / "result.json").exists()
    (result,) = run_ablation(variants, out, overrides=overrides)
    assert calls == ["auto", "auto"]
    assert result["iters"] == 4 and [p["iter"] for p in result["curve"]] == [2, 4]


def test_aggregate_means_and_sample_std_over_seeds():
    results = [fake_result("a", 0, [0.2, 0.5]), fake_result("a", 1, [0.3, 0.7]), fake_result("b", 0, [0.4])]
    rows = aggregate(results)
    assert [(r.variant, r.seeds) for r in rows] == [("a", 2), ("b", 1)]
    assert rows[0].miou == pytest.approx(0.6) and rows[0].miou_std == pytest.approx(0.1414, abs=1e-4)
    assert rows[0].best_miou == pytest.approx(0.6) and rows[1].miou_std == 0.0


def test_an_undefined_miou_is_reported_as_nan_not_a_crash():
    undefined = fake_result("a", 0, [None])
    (row,) = aggregate([undefined])
    assert np.isnan(row.miou) and np.isnan(row.best_miou)
    assert "| a | nan | nan |" in markdown_table([row])


def test_variants_need_configs_or_a_known_suite(tmp_path):
    with pytest.raises(PaddleFCNError, match="one of the two"):
        resolve_variants()
    with pytest.raises(PaddleFCNError, match="unknown suite 'nope'.*upsamplers"):
        resolve_variants(suite="nope", suites_file=SUITES)
    with pytest.raises(PaddleFCNError, match="not found"):
        resolve_variants([tmp_path / "missing.yml"])


def test_the_default_suites_file_is_found_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    variants = resolve_variants(suite="smoke")
    assert [v.config.resolve() for v in variants] == [
        (SUITES.parent / "smoke" / f"{n}.yml").resolve() for n in ("fcn32s", "fcn8s")
    ]


SUITE_SIZES = {
    "upsamplers": 7,
    "skips": 3,
    "voc_upsamplers": 7,
    "voc_skips": 3,
    "camvid_upsamplers": 7,
    "camvid_skips": 3,
    "camvid_backbones": 5,
    "camvid_losses": 3,
}


@pytest.mark.parametrize("suite", SUITE_SIZES)
def test_suites_load_and_build(suite):
    from paddlefcn.config import load_config
    from paddlefcn.models import build_model
    from paddlefcn.models.losses import loss_config

    variants = resolve_variants(suite=suite, suites_file=SUITES)
    assert len(variants) == SUITE_SIZES[suite]
    for variant in variants:
        cfg = load_config(variant.config)
        cfg["model"]["backbone"]["pretrained"] = None
        build_model(cfg["model"])
        loss_config(cfg.get("loss"), 255, cfg["model"]["num_classes"])
