"""Training on CamVid: the dataset's void reaches loss and evaluation, class weights, the CPU recipe and configs."""

import logging
import re
from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml
from data_fixtures import make_camvid, save_image
from tool_helpers import REPO, run_in_process, run_subprocess
from train_hooks import InterruptAt, RecordLoss

from paddlefcn import load_config
from paddlefcn.ablation.suite import resolve_variants
from paddlefcn.data import dataset_meta
from paddlefcn.engine.optim import fit_warmup
from paddlefcn.engine.training import train
from paddlefcn.errors import ConfigError, PaddleFCNError
from paddlefcn.models import build_model
from paddlefcn.models.losses import build_loss, loss_config, loss_terms

VOID = 11
TRAIN = ["0001TP_006690", "0001TP_006720", "0006R0_f00930", "Seq05VD_f00000"]
VAL = ["0016E5_07959", "0016E5_07961"]
RUNTIME = str(REPO / "configs" / "_base_" / "runtime.yml")


@pytest.fixture
def camvid(tmp_path):
    """A CamVid tree at ``tmp_path/CamVid`` (4 train labels covering the 11 classes); ``(root, {name: arrays})``."""
    root = tmp_path / "CamVid"
    return root, make_camvid(root, {"train": TRAIN, "val": VAL, "test": ["0001TP_008550"]})


def write_config(tmp_path, root, name="camvid.yml", **sections):
    """A tiny FCN-8s/ResNet34 CamVid config (24x32 images, batch 2, 2 iterations); ``sections`` replace keys."""
    data = {split: {"type": "CamVid", "root": str(root), "split": split} for split in ("train", "val")}
    data["train"]["transforms"] = [{"type": "RandomHorizontalFlip"}, {"type": "Normalize"}]
    data["val"]["transforms"] = [{"type": "Normalize"}]
    cfg = {
        "_base_": [RUNTIME],
        "model": {"num_classes": 11, "backbone": {"type": "ResNet34"}, "head": {"type": "FCN8s"}},
        "optimizer": {"type": "SGD", "momentum": 0.9, "weight_decay": 1.0e-4},
        "lr": {"type": "poly", "base": 0.01, "warmup_iters": 0},
        "loss": {"type": "CrossEntropyLoss"},
        "train": {
            "iters": 2,
            "batch_size": 2,
            "eval_interval": 2,
            "save_interval": 2,
            "log_interval": 1,
            "vis_images": 1,
        },
        "data": {**data, "num_workers": 0},
        **sections,
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def run(config, save_dir, overrides=(), **kwargs):
    cfg = load_config(config, list(overrides))
    return train(cfg, save_dir, logger=logging.getLogger(f"test.{Path(save_dir).name}"), **kwargs)


def error_lines(stderr):
    """The ``error:`` lines of a tool's stderr (Paddle may add warning lines of its own)."""
    return [line for line in stderr.splitlines() if line.startswith("error:")]


# --- The ignore value comes from the dataset -------------------------------------------------------------


def test_the_schedule_no_longer_sets_an_ignore_index():
    assert load_config(REPO / "configs" / "_base_" / "schedule_40k.yml")["loss"] == {"type": "CrossEntropyLoss"}
    cfg = load_config(REPO / "configs" / "camvid" / "fcn8s_resnet34_cpu.yml")
    assert "ignore_index" not in cfg["loss"]


def test_loss_config_takes_the_datasets_ignore_value_and_refuses_another():
    assert loss_config(None, 11, 11) == {"type": "CrossEntropyLoss", "ignore_index": 11}
    assert loss_config({"ignore_index": 11, "weight": "inverse_log"}, 11, 11)["weight"] == "inverse_log"
    with pytest.raises(ConfigError, match=re.escape("loss.ignore_index is 255 but the training set ignores label 11")):
        loss_config({"type": "CrossEntropyLoss", "ignore_index": 255}, 11, 11)
    with pytest.raises(ConfigError, match="must be computed from the train labels"):
        build_loss(loss_config({"weight": "median_frequency"}, 11, 11))


def test_the_built_loss_ignores_void_and_applies_the_weights():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, 11, 3, 4)).astype("float32")
    labels = rng.integers(0, 12, (2, 3, 4))  # 11 (void) among them
    labels[0, 0, :] = VOID
    weights = rng.uniform(0.5, 2.0, 11).round(6).tolist()
    shifted = logits - logits.max(1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    scored = labels != VOID
    nll = -np.take_along_axis(log_softmax, np.where(scored, labels, 0)[:, None], 1)[:, 0]
    w = np.array(weights)[np.where(scored, labels, 0)] * scored
    for weight, expected in ((None, nll[scored].mean()), (weights, (w * nll).sum() / w.sum())):
        loss_fn = build_loss(loss_config({"weight": weight} if weight else None, VOID, 11))
        loss = loss_fn(paddle.to_tensor(logits), paddle.to_tensor(labels))
        assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_training_uses_the_void_of_camvid_in_loss_evaluation_and_config_yml(tmp_path, camvid):
    root, _ = camvid
    trainer = run(write_config(tmp_path, root), tmp_path / "run")
    assert trainer.completed and trainer.iter == 2
    assert [loss.ignore_index for loss in trainer.loss_fn.losses] == [VOID]
    assert trainer.evaluation.meta.ignore_index == VOID and trainer.evaluation.meta.num_classes == 11
    assert load_config(tmp_path / "run" / "config.yml")["loss"] == {"type": "CrossEntropyLoss", "ignore_index": VOID}
    assert trainer.last_eval is not None


def test_another_loss_ignore_index_is_refused_before_anything_is_built(tmp_path, camvid):
    root, _ = camvid
    config = write_config(tmp_path, root, loss={"ignore_index": 255})
    with pytest.raises(ConfigError, match=r"loss.ignore_index is 255 .*ignores label 11"):
        run(config, tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoints").exists() and not (tmp_path / "run" / "config.yml").exists()
    # The check comes before the datasets are built: with no data at all the error is still this one.
    nowhere = write_config(tmp_path, tmp_path / "nowhere", name="nowhere.yml", loss={"ignore_index": 255})
    with pytest.raises(ConfigError, match=r"loss.ignore_index is 255 .*ignores label 11"):
        run(nowhere, tmp_path / "run2")


def test_train_tool_refuses_another_ignore_index_in_one_line_starting_with_the_config(tmp_path, camvid):
    root, _ = camvid
    config = write_config(tmp_path, root)
    done = run_subprocess(
        "train", "-c", config, "--save-dir", tmp_path / "run", "-o", "loss.ignore_index=255", cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr[-2000:]
    lines = error_lines(done.stderr)
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {config}: loss.ignore_index is 255"), lines[0]
    assert "ignores label 11" in lines[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run" / "checkpoints").exists()


# --- A label value that is neither a class nor void ------------------------------------------------------


@pytest.mark.parametrize("weight", [None, "median_frequency"])
def test_a_label_value_outside_the_classes_stops_training_naming_the_file(tmp_path, camvid, weight):
    root, written = camvid
    label = written[TRAIN[1]][1].copy()
    label[5, 7] = 12
    bad = root / "trainannot" / f"{TRAIN[1]}.png"
    save_image(bad, label)
    loss = {"type": "CrossEntropyLoss", **({"weight": weight} if weight else {})}
    config = write_config(tmp_path, root, loss=loss)
    done = run_subprocess("train", "-c", config, "--save-dir", tmp_path / "run", cwd=tmp_path, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = error_lines(done.stderr)
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {bad}: label values 12 are outside 0..10 and not ignore (11)"), lines[0]
    assert "Traceback" not in done.stderr


# --- Class weights from the train labels ---------------------------------------------------------------


def median_frequency_of(labels):
    """The median-frequency weights of ``labels``, computed here from the arrays."""
    counts = np.array([sum(int((lab == c).sum()) for lab in labels) for c in range(11)], float)
    holding = np.array([sum(int((lab != VOID).sum()) for lab in labels if (lab == c).any()) for c in range(11)], float)
    freq = counts / holding
    return np.median(freq) / freq


def test_median_frequency_weights_are_computed_recorded_and_kept_on_resume(tmp_path, camvid):
    root, written = camvid
    config = write_config(tmp_path, root, loss={"type": "CrossEntropyLoss", "weight": "median_frequency"})
    expected = np.round(median_frequency_of([written[name][1] for name in TRAIN]), 6)
    trainer = run(config, tmp_path / "run")
    recorded = load_config(tmp_path / "run" / "config.yml")["loss"]
    assert recorded["ignore_index"] == VOID
    assert isinstance(recorded["weight"], list) and len(recorded["weight"]) == 11
    np.testing.assert_allclose(recorded["weight"], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(trainer.loss_fn.losses[0].weight.numpy(), expected, rtol=1e-6)

    changed = written[TRAIN[0]][1].copy()
    changed[changed != VOID] = 0  # every scored pixel of the first label becomes Sky
    save_image(root / "trainannot" / f"{TRAIN[0]}.png", changed)
    resumed = run(config, tmp_path / "run", ["train.iters=3"], resume="auto")
    assert resumed.completed and resumed.iter == 3
    np.testing.assert_allclose(resumed.loss_fn.losses[0].weight.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(load_config(tmp_path / "run" / "config.yml")["loss"]["weight"], expected, atol=1e-12)

    # A new run does read the changed label, so the resumed run's weights came from config.yml.
    fresh = run(config, tmp_path / "fresh", ["train.iters=1", "train.eval_interval=1", "train.save_interval=1"])
    now = np.round(median_frequency_of([changed] + [written[name][1] for name in TRAIN[1:]]), 6)
    assert not np.allclose(now, expected, atol=1e-3)
    np.testing.assert_allclose(fresh.loss_fn.losses[0].weight.numpy(), now, rtol=1e-6)


def inverse_log_of(labels):
    """NumPy reference of ENet's weighting: 1 / ln(1.02 + share of the class among the scored pixels)."""
    counts = np.array([sum(int((label == c).sum()) for label in labels) for c in range(11)], dtype=np.float64)
    return 1.0 / np.log(1.02 + counts / counts.sum())


def test_each_loss_term_keeps_its_own_class_weights_through_resume(tmp_path, camvid, caplog):
    root, written = camvid
    loss = [
        {"type": "CrossEntropyLoss", "weight": "median_frequency"},
        {"type": "DiceLoss", "weight": "inverse_log", "coef": 0.5},
    ]
    schedule = {"iters": 4, "batch_size": 2, "eval_interval": 4, "save_interval": 2, "log_interval": 1}
    config = write_config(tmp_path, root, loss=loss, train={**schedule, "vis_images": 0})
    labels = [written[name][1] for name in TRAIN]
    expected = [np.round(median_frequency_of(labels), 6), np.round(inverse_log_of(labels), 6)]
    assert not np.allclose(expected[0], expected[1], atol=1e-2)

    straight, resumed = RecordLoss(), RecordLoss()
    run(config, tmp_path / "straight", extra_hooks=[straight])
    assert not run(config, tmp_path / "resumed", extra_hooks=[InterruptAt(2)]).completed
    with caplog.at_level(logging.INFO):
        trainer = run(config, tmp_path / "resumed", resume="auto", extra_hooks=[resumed])
    messages = [record.getMessage() for record in caplog.records]
    read_back = [m.split(")")[0] for m in messages if m.startswith("class weights (") and " from " in m]
    assert read_back == ["class weights (median_frequency", "class weights (inverse_log"]

    assert trainer.completed and trainer.iter == 4 and len(resumed.losses) == 2
    saved = load_config(tmp_path / "resumed" / "config.yml")["loss"]
    assert saved == load_config(tmp_path / "straight" / "config.yml")["loss"]
    for term, built, vector in zip(saved, trainer.loss_fn.losses, expected):
        np.testing.assert_allclose(term["weight"], vector, rtol=0, atol=1e-12)
        np.testing.assert_allclose(built.weight.numpy(), vector, rtol=1e-6)
    assert resumed.losses[0] == pytest.approx(straight.losses[2], rel=1e-5)


def test_a_class_missing_from_the_train_labels_is_named(tmp_path, camvid):
    root, _ = camvid
    (root / "train.txt").write_text((root / "train.txt").read_text().splitlines()[0] + "\n")  # classes 0-5 only
    config = write_config(tmp_path, root, loss={"type": "CrossEntropyLoss", "weight": "inverse_log"})
    with pytest.raises(PaddleFCNError, match="inverse_log needs every class .* SignSymbol, Fence, Car, Pedestrian"):
        run(config, tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoints").exists()


# --- A warm-up longer than the run ---------------------------------------------------------------------


def test_fit_warmup_shortens_only_a_warmup_that_does_not_fit():
    lr = {"warmup_iters": 50}
    assert fit_warmup(lr, 50) == (
        "lr.warmup_iters 50 is not shorter than train.iters 50: warming up for 5 iterations instead"
    )
    assert lr == {"warmup_iters": 5}
    lr = {"warmup_iters": 49}
    assert fit_warmup(lr, 50) is None and lr == {"warmup_iters": 49}
    assert fit_warmup(None, 3) is None and fit_warmup({}, 3) is None


def _warmup_lines(text):
    return [line for line in text.splitlines() if "lr.warmup_iters 50" in line]


def test_train_tool_iters_below_the_warmup_shortens_it_with_one_warning(tmp_path, camvid, capsys):
    root, _ = camvid
    config = write_config(tmp_path, root, lr={"type": "poly", "base": 0.01, "warmup_iters": 50})
    save_dir = tmp_path / "run"
    assert run_in_process("train", "-c", config, "--save-dir", save_dir, "--iters", 3) == 0
    [line] = _warmup_lines(capsys.readouterr().out)
    assert " WARNING " in line and "not shorter than train.iters 3: warming up for 0 iterations" in line
    assert len(_warmup_lines((save_dir / "train.log").read_text())) == 1
    saved = load_config(save_dir / "config.yml")
    assert saved["lr"]["warmup_iters"] == 0 and saved["train"]["iters"] == 3
    assert load_config(config)["lr"]["warmup_iters"] == 50
    assert (save_dir / "checkpoints" / "iter_3").is_dir()


def test_ablate_tool_iters_below_the_warmup_shortens_it_with_one_warning(tmp_path, camvid, capsys):
    root, _ = camvid
    variant = write_config(tmp_path, root, name="warm.yml", lr={"type": "poly", "base": 0.01, "warmup_iters": 50})
    out = tmp_path / "ablation"
    assert run_in_process("ablate", variant, "--iters", 2, "--out", out) == 0
    assert len(_warmup_lines(capsys.readouterr().out)) == 1
    run_dir = out / "warm" / "seed0"
    [line] = _warmup_lines((run_dir / "train.log").read_text())
    assert " WARNING " in line and "warming up for 0 iterations" in line
    assert load_config(run_dir / "config.yml")["lr"]["warmup_iters"] == 0
    assert (run_dir / "result.json").is_file()


# --- The CPU recipe and the CamVid configs ---------------------------------------------------------------


@pytest.mark.parametrize("recipe", ["fcn8s_resnet34_cpu.yml", "fcn8s_resnet18_cpu.yml"])
def test_the_cpu_recipes_train_on_the_fixture(tmp_path, camvid, recipe):
    root, _ = camvid
    save_dir = tmp_path / "run"
    overrides = [
        f"data.train.root={root}",
        f"data.val.root={root}",
        "train.batch_size=2",
        "train.eval_interval=2",
        "train.save_interval=2",
        "train.vis_images=1",
        "data.num_workers=0",
    ]
    recipe = REPO / "configs" / "camvid" / recipe
    assert run_in_process("train", "-c", recipe, "--save-dir", save_dir, "--iters", 2, "-o", *overrides) == 0
    assert (save_dir / "checkpoints" / "iter_2" / "model.pdparams").is_file()
    saved = load_config(save_dir / "config.yml")
    assert saved["loss"]["ignore_index"] == VOID and len(saved["loss"]["weight"]) == 11
    assert saved["data"]["train"]["transforms"][1]["crop_size"] == [192, 256]  # the recipe's own augmentation


CAMVID_CONFIGS = sorted((REPO / "configs" / "camvid").glob("*.yml")) + sorted(
    (REPO / "configs" / "ablation" / "camvid").glob("*.yml")
)


def test_there_are_camvid_configs():
    assert len(CAMVID_CONFIGS) == 19


@pytest.mark.parametrize("path", CAMVID_CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_camvid_configs_load_and_build(path):
    cfg = load_config(path)
    assert cfg["model"]["num_classes"] == 11
    for split in ("train", "val"):
        assert cfg["data"][split]["type"] == "CamVid"
    meta = dataset_meta(cfg["data"]["train"])
    assert meta.ignore_index == VOID
    first_loss = loss_terms(loss_config(cfg["loss"], meta.ignore_index, 11))[0]
    assert first_loss["type"] == "CrossEntropyLoss" and first_loss["weight"] == "median_frequency"
    cfg["model"]["backbone"]["pretrained"] = None
    build_model(cfg["model"])


@pytest.mark.parametrize(
    ("suite", "count"), [("camvid_skips", 3), ("camvid_upsamplers", 7), ("camvid_backbones", 5), ("camvid_losses", 3)]
)
def test_camvid_suites_resolve(suite, count):
    variants = resolve_variants(suite=suite)
    assert len(variants) == count
    assert all(v.config.parent == REPO / "configs" / "ablation" / "camvid" for v in variants)
    for variant in variants:
        assert load_config(variant.config)["train"]["iters"] == 200
