"""Weight loading and the tools/val.py and tools/predict.py command lines."""

import json

import numpy as np
import paddle
import pytest
import yaml
from PIL import Image
from tool_helpers import run_in_process, run_subprocess

import paddlefcn
import paddlefcn.data
from paddlefcn.engine.evaluator import evaluate
from paddlefcn.engine.inference import predict_mask
from paddlefcn.engine.weights import load_model_weights, load_trained_model
from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.visualize import overlay

TINY_MODEL = {"num_classes": 3, "backbone": {"type": "VGG16", "fc_channels": 16}, "head": {"type": "FCN8s"}}


def build(num_classes=3):
    return paddlefcn.build_model(dict(TINY_MODEL, num_classes=num_classes))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny model and its weights saved as a file and in the checkpoint layout."""
    paddle.seed(0)
    model = build()
    root = tmp_path_factory.mktemp("run")
    (root / "checkpoints" / "iter_10").mkdir(parents=True)
    (root / "best").mkdir()
    for path in (
        root / "w.pdparams",
        root / "checkpoints" / "iter_10" / "model.pdparams",
        root / "best" / "model.pdparams",
    ):
        paddle.save(model.state_dict(), str(path))
    return model, root


@pytest.mark.parametrize("where", ["w.pdparams", "checkpoints/iter_10", "best"])
def test_load_model_weights_from_a_file_or_a_checkpoint_dir(saved, where):
    model, root = saved
    paddle.seed(1)
    fresh = build()
    assert not bool(paddle.allclose(fresh.backbone.fc6.weight, model.backbone.fc6.weight))
    loaded = load_model_weights(fresh, root / where)
    assert loaded.name in ("w.pdparams", "model.pdparams")
    for name, value in model.state_dict().items():
        assert bool(paddle.equal_all(fresh.state_dict()[name], value)), name


def test_missing_weights_name_the_path_and_hint_at_best(saved, tmp_path):
    _, root = saved
    with pytest.raises(PaddleFCNError, match="weights not found: .*nope.pdparams"):
        load_model_weights(build(), tmp_path / "nope.pdparams")
    with pytest.raises(PaddleFCNError, match=r"has no model.pdparams; did you mean .*best\?"):
        load_model_weights(build(), root)


def test_wrong_shape_names_the_first_bad_key(saved):
    _, root = saved
    with pytest.raises(PaddleFCNError, match=r"w.pdparams: weight '[^']+' has shape \[3, .*needs \[5, "):
        load_model_weights(build(num_classes=5), root / "w.pdparams")


def test_wrong_keys_name_the_first_bad_key(saved, tmp_path):
    model, _ = saved
    state = dict(model.state_dict())
    first = next(iter(state))
    path = tmp_path / "renamed.pdparams"
    paddle.save({("x" + k if k == first else k): v for k, v in state.items()}, str(path))
    with pytest.raises(PaddleFCNError, match=f"renamed.pdparams: 1 weights of the model are missing, first '{first}'"):
        load_model_weights(build(), path)
    paddle.save(dict(state, extra=state[first]), str(path))
    with pytest.raises(PaddleFCNError, match="1 weights do not belong to the model, first 'extra'"):
        load_model_weights(build(), path)


def test_weights_of_another_type_name_the_key(saved, tmp_path):
    model, _ = saved
    state = dict(model.state_dict())
    first = next(iter(state))
    path = tmp_path / "odd.pdparams"
    paddle.save(dict(state, **{first: 3}), str(path))
    with pytest.raises(PaddleFCNError, match=f"odd.pdparams: weight '{first}' is of type int, not an array"):
        load_model_weights(build(), path)
    paddle.save({k: v.astype("float64") for k, v in state.items()}, str(path))
    with pytest.raises(PaddleFCNError, match=f"odd.pdparams: weight '{first}' is float64, the model needs float32"):
        load_model_weights(build(), path)


def test_a_file_that_is_not_weights_is_a_user_error(tmp_path):
    path = tmp_path / "junk.pdparams"
    path.write_bytes(b"not a pickle")
    with pytest.raises(PaddleFCNError, match="junk.pdparams: cannot read weights"):
        load_model_weights(build(), path)


def test_load_trained_model_ignores_the_pretrained_backbone_and_sets_eval_mode(saved):
    model, root = saved
    cfg = dict(TINY_MODEL, backbone={"type": "VGG16", "fc_channels": 16, "pretrained": "/no/such/file.pdparams"})
    loaded = load_trained_model(cfg, root / "best")
    assert not loaded.training
    assert bool(paddle.equal_all(loaded.backbone.fc6.weight, model.backbone.fc6.weight))
    assert cfg["backbone"]["pretrained"] == "/no/such/file.pdparams"  # the caller's config is untouched


# --- tools/val.py and tools/predict.py -------------------------------------------------------------

NUM_SHAPES = 7  # SyntheticShapes: background and six shapes


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A tiny synthetic val set, a config for it and the weights of a freshly built model."""
    root = tmp_path_factory.mktemp("project")
    val = {
        "type": "SyntheticShapes",
        "root": str(root / "data"),
        "split": "val",
        "num_images": 3,
        "size": 64,
        "transforms": [{"type": "Normalize"}],
    }
    cfg = {
        "model": dict(
            TINY_MODEL, num_classes=NUM_SHAPES, backbone={"type": "VGG16", "fc_channels": 16, "pretrained": "imagenet"}
        ),
        "data": {"val": val},
        "eval": {"batch_size": 2},
    }
    config = root / "tiny.yml"
    config.write_text(yaml.safe_dump(cfg))
    paddle.seed(3)
    model = build(NUM_SHAPES)
    for name, param in model.named_parameters():
        if name.startswith("head.scores") and name.endswith("weight"):  # zero-initialised: all background
            param.set_value(paddle.randn(param.shape))
    weights = root / "model.pdparams"
    paddle.save(model.state_dict(), str(weights))
    model.eval()
    return {"root": root, "config": config, "weights": weights, "model": model, "val": val}


def test_val_prints_the_table_and_writes_the_metrics_of_evaluate(project, capsys):
    out = project["root"] / "metrics" / "m.json"
    assert run_in_process("val", "-c", project["config"], "--weights", project["weights"], "--out", out) == 0
    metrics = json.loads(out.read_text())
    assert list(metrics) == ["miou", "pa", "mpa", "fwiou", "class_iou", "class_acc", "confusion_matrix"]
    dataset = paddlefcn.data.build_dataset(project["val"])
    loader = paddlefcn.data.build_dataloader(dataset, 1, shuffle=False, drop_last=False)
    assert metrics == evaluate(project["model"], loader, NUM_SHAPES)
    scored = sum(int((dataset[i][1] != dataset.ignore_index).sum()) for i in range(len(dataset)))
    assert 0 < scored < 3 * 64 * 64, "outline pixels of the synthetic labels are void"
    assert np.sum(metrics["confusion_matrix"]) == scored
    printed = capsys.readouterr().out
    assert "background" in printed and "triangle" in printed and str(out) in printed


def test_val_flags_override_the_config(project):
    out = project["root"] / "slide.json"
    flags = ["--mode", "slide", "--crop-size", "32", "32", "--stride", "32", "32", "--flip", "--out", out]
    assert run_in_process("val", "-c", project["config"], "--weights", project["weights"], *flags) == 0
    dataset = paddlefcn.data.build_dataset(project["val"])
    loader = paddlefcn.data.build_dataloader(dataset, 2, shuffle=False, drop_last=False)
    expected = evaluate(
        project["model"], loader, NUM_SHAPES, mode="slide", crop_size=(32, 32), stride=(32, 32), flip=True
    )
    assert json.loads(out.read_text()) == expected
    assert expected != evaluate(project["model"], loader, NUM_SHAPES)  # the flags made a difference


def test_val_with_a_resize_scores_the_labels_at_their_file_size(project):
    out = project["root"] / "resized.json"
    transforms = "data.val.transforms=[{type: Resize, size: 32}, {type: Normalize}]"
    assert (
        run_in_process("val", "-c", project["config"], "--weights", project["weights"], "-o", transforms, "--out", out)
        == 0
    )
    metrics = json.loads(out.read_text())
    # Reference: predict_mask on each image as read (logits resized back to 64x64), against the label as read.
    resized_val = dict(project["val"], transforms=[{"type": "Resize", "size": 32}, {"type": "Normalize"}])
    dataset = paddlefcn.data.build_dataset(resized_val)
    matrix = np.zeros((NUM_SHAPES, NUM_SHAPES), dtype=np.int64)
    for i in range(len(dataset)):
        image, label = dataset.load(i)
        mask = predict_mask(project["model"], image, dataset.transforms)
        keep = label != dataset.ignore_index
        np.add.at(matrix, (label[keep], mask[keep]), 1)
    assert label.shape == (64, 64)
    assert metrics["confusion_matrix"] == matrix.tolist()


def test_predict_writes_palette_masks_and_overlays_at_the_image_size(project, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (50, 70, 3), dtype=np.uint8)).save(inputs / "odd.png")
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(inputs / "square.jpg")
    (inputs / "notes.txt").write_text("not an image")
    save_dir = tmp_path / "out"
    args = ["-c", project["config"], "--weights", project["weights"], "--input", inputs, "--save-dir", save_dir]
    assert run_in_process("predict", *args) == 0
    assert sorted(p.name for p in save_dir.iterdir()) == [
        "odd.png",
        "odd_overlay.jpg",
        "square.png",
        "square_overlay.jpg",
    ]
    transforms = paddlefcn.data.build_transforms([{"type": "Normalize"}])
    for stem, ext in (("odd", ".png"), ("square", ".jpg")):
        image = paddlefcn.data.read_image(inputs / f"{stem}{ext}")
        mask = Image.open(save_dir / f"{stem}.png")
        assert mask.mode == "P" and mask.size == (image.shape[1], image.shape[0])
        np.testing.assert_array_equal(np.asarray(mask), predict_mask(project["model"], image, transforms))
        assert mask.getpalette()[3:6] == [220, 20, 60]  # SyntheticShapes' colour of class 1
        blend = np.asarray(Image.open(save_dir / f"{stem}_overlay.jpg")).astype(float)
        expected = overlay(image, np.asarray(mask), mask.getpalette()[: 3 * NUM_SHAPES])
        assert blend.shape == expected.shape
        # The noise images do not survive JPEG pixel by pixel, but their mean colours do.
        np.testing.assert_allclose(blend.mean(axis=(0, 1)), expected.mean(axis=(0, 1)), atol=2)


@pytest.mark.parametrize(
    ("tool", "argv", "message"),
    [
        ("val", ["-c", "missing.yml", "--weights", "w.pdparams"], "error: config file not found: "),
        ("val", ["-c", "{config}", "--weights", "{root}/nope.pdparams"], "error: weights not found: "),
        (
            "val",
            ["-c", "{config}", "--weights", "{weights}", "-o", "eval.colour=red"],
            "unknown config key 'eval.colour'",
        ),
        (
            "predict",
            ["-c", "{config}", "--weights", "{weights}", "--input", "{root}/none", "--save-dir", "{root}/o"],
            "error: input not found: ",
        ),
    ],
)
def test_user_errors_print_one_line_and_exit_2(project, tool, argv, message):
    argv = [a.format(config=project["config"], root=project["root"], weights=project["weights"]) for a in argv]
    result = run_subprocess(tool, *argv)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
