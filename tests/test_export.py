"""Export: parity of the exported Paddle and ONNX models with dygraph, output ops, deploy.yaml, self-check, errors."""

import shutil
from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml
from model_fixtures import TINY_MODEL, scored_model
from tool_helpers import run_in_process

from paddlefcn.deploy import export as export_module
from paddlefcn.deploy import export_model, read_deploy_config
from paddlefcn.deploy.engines import RuntimeOptions, create_engine
from paddlefcn.deploy.export import deploy_transforms
from paddlefcn.errors import PaddleFCNError

REPO = Path(__file__).resolve().parents[1]
CLASS_NAMES = ["background", "cat", "dog"]
PALETTE = [[0, 0, 0], [200, 10, 10], [10, 200, 10]]
NORMALIZE = {"type": "Normalize", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
CFG = {
    "model": TINY_MODEL,
    "data": {
        "val": {
            "type": "FileList",
            "root": "unused",
            "file_list": "unused/val.txt",
            "num_classes": 3,
            "class_names": CLASS_NAMES,
            "palette": PALETTE,
            "transforms": [NORMALIZE],
        }
    },
}
SIZES = [(1, 3, 97, 131), (2, 3, 64, 96), (1, 3, 250, 330)]
PADDLE_MODEL_FILE = "model.json" if int(paddle.__version__.split(".")[0]) >= 3 else "model.pdmodel"


def dygraph_logits(model, x):
    with paddle.no_grad():
        return model(paddle.to_tensor(x)).numpy()


def sample(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    model = scored_model()
    weights = tmp_path_factory.mktemp("weights") / "model.pdparams"
    paddle.save(model.state_dict(), str(weights))
    classes = np.bincount(dygraph_logits(model, sample(SIZES[2])).argmax(axis=1).ravel(), minlength=3)
    assert (classes > 0.05 * classes.sum()).sum() >= 2, "the test model must predict several classes"
    return model, weights


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    """``exported(fmt, op)``: an export directory, made once per module."""
    cache = {}

    def get(fmt, op):
        if (fmt, op) not in cache:
            if fmt == "onnx":
                pytest.importorskip("paddle2onnx")
                pytest.importorskip("onnxruntime")
            target = tmp_path_factory.mktemp(f"export_{fmt}_{op}")
            export_model(CFG, trained[1], target, output_op=op, fmt=fmt)
            cache[fmt, op] = target
        return cache[fmt, op]

    return get


def run_exported(directory, backend, x):
    deploy = read_deploy_config(directory)
    return create_engine(deploy.model_files(directory, backend), backend, RuntimeOptions()).run(x)


@pytest.mark.parametrize("fmt", ["paddle", "onnx"])
@pytest.mark.parametrize("shape", SIZES, ids=lambda s: "x".join(map(str, s)))
def test_exported_logits_match_dygraph_at_odd_sizes(trained, exported, fmt, shape):
    model, _ = trained
    x = sample(shape)
    expected = dygraph_logits(model, x)
    logits = run_exported(exported(fmt, "none"), fmt, x)
    assert logits.shape == expected.shape
    scale = np.abs(expected).max()
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4 * scale)
    assert np.mean(logits.argmax(axis=1) == expected.argmax(axis=1)) >= 0.999


@pytest.mark.parametrize("fmt", ["paddle", "onnx"])
def test_argmax_output_is_int32_labels_matching_dygraph(trained, exported, fmt):
    model, _ = trained
    x = sample(SIZES[1], seed=1)
    labels = run_exported(exported(fmt, "argmax"), fmt, x)
    assert labels.dtype == np.int32 and labels.shape == (2, 64, 96)
    assert np.mean(labels == dygraph_logits(model, x).argmax(axis=1)) >= 0.999


@pytest.mark.parametrize("fmt", ["paddle", "onnx"])
def test_softmax_output_is_probabilities_matching_dygraph(trained, exported, fmt):
    model, _ = trained
    x = sample(SIZES[0], seed=2)
    probs = run_exported(exported(fmt, "softmax"), fmt, x)
    assert probs.dtype == np.float32 and probs.shape == (1, 3, 97, 131)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probs, softmax(dygraph_logits(model, x)), atol=1e-4)


FAMILY_MODELS = {
    "resnet": {"num_classes": 3, "backbone": {"type": "ResNet18"}, "head": {"type": "FCN8s"}},
    "vgg": {"num_classes": 3, "backbone": {"type": "VGG11", "fc_channels": 16}, "head": {"type": "FCN16s"}},
    "mobilenet": {"num_classes": 3, "backbone": {"type": "MobileNetV3Small"}, "head": {"type": "FCN8s"}},
    # A head at stride 16, resized in the graph, and an aux head that must not be exported.
    "strided_head_with_aux": {
        "num_classes": 3,
        "backbone": {"type": "ResNet18"},
        "head": {"type": "ConvHead", "feature": 16, "channels": 16},
        "aux_heads": [{"type": "ConvHead", "feature": 8, "channels": 8}],
    },
}


@pytest.mark.parametrize("fmt", ["paddle", "onnx"])
@pytest.mark.parametrize("family", FAMILY_MODELS)
def test_each_family_exports_matching_dygraph(tmp_path, family, fmt):
    if fmt == "onnx":
        pytest.importorskip("paddle2onnx")
        pytest.importorskip("onnxruntime")
    model_cfg = FAMILY_MODELS[family]
    model = scored_model(model_cfg)
    paddle.save(model.state_dict(), str(tmp_path / "w.pdparams"))
    export_model({"model": model_cfg}, tmp_path / "w.pdparams", tmp_path / "out", output_op="none", fmt=fmt)
    x = sample((1, 3, 75, 100))
    expected = dygraph_logits(model, x)
    np.testing.assert_allclose(
        run_exported(tmp_path / "out", fmt, x), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max()
    )
    if "aux_heads" in model_cfg:  # the graph and its weights are those of the model without its aux heads
        plain_cfg = {key: value for key, value in model_cfg.items() if key != "aux_heads"}
        plain = {key: value for key, value in model.state_dict().items() if not key.startswith("aux_heads.")}
        paddle.save(plain, str(tmp_path / "plain.pdparams"))
        export_model({"model": plain_cfg}, tmp_path / "plain.pdparams", tmp_path / "plain", output_op="none", fmt=fmt)
        params = [(tmp_path / run / "model.pdiparams").read_bytes() for run in ("out", "plain")]
        assert params[0] == params[1]


def test_deploy_yaml_names_the_files_paddle_wrote_and_the_label_semantics(exported):
    directory = exported("onnx", "none")
    raw = yaml.safe_load((directory / "deploy.yaml").read_text())
    assert raw["format"] == "onnx"
    assert raw["files"] == {
        "paddle": {"model": PADDLE_MODEL_FILE, "params": "model.pdiparams"},
        "onnx": {"model": "model.onnx"},
    }
    for files in raw["files"].values():
        for name in files.values():
            assert (directory / name).is_file() and (directory / name).stat().st_size > 0
    assert raw["input_shape"] == [-1, 3, -1, -1]
    assert raw["output_op"] == "none"
    assert raw["transforms"] == [NORMALIZE]
    assert raw["num_classes"] == 3 and raw["class_names"] == CLASS_NAMES and raw["palette"] == PALETTE
    assert raw["exported_with"]["paddle"] == paddle.__version__
    assert not [p for p in directory.iterdir() if p.name.startswith(".export-")], "the temporary dir is removed"


@pytest.mark.parametrize("colour", [[255, 0], [0, 300, 0], "red"])
def test_a_bad_palette_entry_in_deploy_yaml_is_named(exported, tmp_path, colour):
    target = tmp_path / "model"
    shutil.copytree(exported("paddle", "argmax"), target)
    manifest = yaml.safe_load((target / "deploy.yaml").read_text())
    manifest["palette"][1] = colour
    (target / "deploy.yaml").write_text(yaml.safe_dump(manifest))
    with pytest.raises(PaddleFCNError, match=r"deploy.yaml: palette\[1\] must be \[r, g, b\] integers in 0..255"):
        read_deploy_config(target)


def test_paddle_format_writes_no_onnx(exported):
    directory = exported("paddle", "argmax")
    deploy = read_deploy_config(directory)
    assert deploy.format == "paddle" and list(deploy.files) == ["paddle"]
    assert not (directory / "model.onnx").exists()


def test_fixed_input_shape_is_kept_in_the_graph_and_deploy_yaml(trained, tmp_path):
    model, weights = trained
    deploy = export_model(CFG, weights, tmp_path, output_op="none", input_shape=[2, 3, 64, 96])
    assert deploy.input_shape == [2, 3, 64, 96]
    x = sample((2, 3, 64, 96))
    np.testing.assert_allclose(run_exported(tmp_path, "paddle", x), dygraph_logits(model, x), rtol=1e-4, atol=1e-3)


def test_deploy_transforms_drop_random_ones_and_apply_export_resize():
    cfg = {
        "data": {
            "val": {
                "transforms": [
                    {"type": "Resize", "size": [100, 100]},
                    {"type": "RandomHorizontalFlip"},
                    {"type": "ColorJitter", "brightness": 0.2},
                    NORMALIZE,
                ]
            }
        }
    }
    assert deploy_transforms(cfg) == [{"type": "Resize", "size": [100, 100]}, NORMALIZE]
    assert deploy_transforms(cfg, resize=[64, 80]) == [{"type": "Resize", "size": [64, 80]}, NORMALIZE]
    assert deploy_transforms({}) == [{"type": "Normalize"}]
    with pytest.raises(PaddleFCNError, match="unknown transform 'Normalise'"):
        deploy_transforms({"data": {"val": {"transforms": [{"type": "Normalise"}]}}})
    with pytest.raises(PaddleFCNError, match="^export.resize: Resize: size must be"):
        deploy_transforms(cfg, resize="abc")


def test_self_check_rejects_an_export_that_differs_from_dygraph(trained, tmp_path, monkeypatch):
    class Skewed:
        """An engine whose output is off by one logit at one pixel, as a broken converter might be."""

        def __init__(self, engine):
            self.engine = engine

        def run(self, batch):
            out = self.engine.run(batch)
            out[0, :, 0, 0] += np.array([5.0, -5.0, 0.0], dtype=out.dtype)
            return out

    real = export_module.create_engine
    monkeypatch.setattr(export_module, "create_engine", lambda *args: Skewed(real(*args)))
    with pytest.raises(PaddleFCNError, match="exported paddle model .* does not match the dygraph model"):
        export_model(CFG, trained[1], tmp_path / "out", output_op="none")
    assert not (tmp_path / "out").exists(), "a failed export leaves nothing behind, not even the directory it made"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"fmt": "tflite"}, "unsupported model format 'tflite' \\(supported: paddle, onnx\\)"),
        ({"output_op": "sigmoid"}, "unknown output op 'sigmoid' \\(known: argmax, softmax, none\\)"),
        ({"input_shape": [1, 4, -1, -1]}, "input shape must be N 3 H W"),
        ({"input_shape": [1, 3, 0, 64]}, "input shape must be N 3 H W"),
    ],
)
def test_bad_arguments_fail_before_writing(trained, tmp_path, kwargs, message):
    with pytest.raises(PaddleFCNError, match=message):
        export_model(CFG, trained[1], tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_a_model_that_cannot_be_traced_is_one_line(trained, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("\n\nIn transformed code:\n  reshape with a Python int")

    monkeypatch.setattr(paddle.jit, "save", fail)
    with pytest.raises(PaddleFCNError, match=r"cannot trace the model .*\(AssertionError: In transformed code:\)"):
        export_model(CFG, trained[1], tmp_path)
    assert not (tmp_path / "deploy.yaml").exists()


def test_num_classes_must_agree_with_the_dataset(trained, tmp_path):
    cfg = {"model": TINY_MODEL, "data": {"val": dict(CFG["data"]["val"], num_classes=4, class_names=None)}}
    cfg["data"]["val"].pop("palette")
    with pytest.raises(PaddleFCNError, match="model.num_classes is 3 but data.val has 4 classes"):
        export_model(cfg, trained[1], tmp_path)


# --- tools/export.py ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "tiny.yml"
    cfg = {"model": dict(TINY_MODEL, backbone=dict(TINY_MODEL["backbone"], pretrained="imagenet"))}
    path.write_text(yaml.safe_dump(dict(cfg, export={"output_op": "softmax"})))
    return path


def test_export_tool_writes_a_checked_model(trained, config_file, tmp_path, capsys):
    argv = ["-c", config_file, "--weights", trained[1], "--save-dir", tmp_path, "--input-shape", "-1", "3", "-1", "-1"]
    assert run_in_process("export", *argv) == 0
    assert "checked against dygraph" in capsys.readouterr().out
    deploy = read_deploy_config(tmp_path)
    assert deploy.output_op == "softmax", "export.output_op of the config is the default"
    assert deploy.files["paddle"]["model"] == PADDLE_MODEL_FILE


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--format", "tflite"], "error: unsupported model format 'tflite' (supported: paddle, onnx)"),
        (["--output-op", "max"], "error: unknown output op 'max' (known: argmax, softmax, none)"),
    ],
)
def test_export_tool_user_errors_are_one_line(trained, config_file, tmp_path, capsys, extra, message):
    argv = ["-c", config_file, "--weights", trained[1], "--save-dir", tmp_path / "out", *extra]
    assert run_in_process("export", *argv) == 2
    assert capsys.readouterr().err.strip().splitlines() == [message]


def test_export_tool_missing_weights_is_one_line(config_file, tmp_path, capsys):
    argv = ["-c", config_file, "--weights", tmp_path / "nope.pdparams", "--save-dir", tmp_path]
    assert run_in_process("export", *argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: weights not found") and "nope.pdparams" in err[0]
