"""bf16 and int8 exports: quantization calibrated on the dataset, the accuracy gate, and int8 wherever fp32 runs.

The data set is labelled by the fp32 model itself (its argmax on each image), so the fp32 export scores mIoU 1.0
and a reduced-precision export's mIoU measures how far it strays from fp32.
"""

import io

import numpy as np
import onnx
import paddle
import pytest
import yaml
from model_fixtures import TINY_MODEL, scored_model
from PIL import Image
from serve_fixtures import smooth_image
from tool_helpers import run_in_process

from paddlefcn.data import build_transforms, read_image
from paddlefcn.deploy import Predictor, export_model, read_deploy_config
from paddlefcn.deploy import precision as precision_module
from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.image import write_label

pytest.importorskip("paddle2onnx")
pytest.importorskip("onnxruntime.quantization", reason="needs ml_dtypes: pip install -e '.[onnx]'")

NORMALIZE = {"type": "Normalize", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
# Sizes of the data set's images; 64x96 has sides that are multiples of 32 (no padding: the bf16 regression).
SIZES = [(97, 131), (64, 96)]
# The floors of this model: random weights give near-ties that quantization noise flips, so a trained model agrees
# more (the CamVid probe lost 0.2 points of mIoU).
INT8_AGREEMENT = 0.95
BF16_AGREEMENT = 0.98
HAS_BF16 = precision_module.cpu_features()["avx512_bf16"]


def dataset(root, split):
    return {
        "type": "FileList",
        "root": str(root),
        "file_list": f"{split}.txt",
        "num_classes": 3,
        "transforms": [NORMALIZE],
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Weights, a config and a data set labelled by the fp32 model: 8 train, 4 val and 4 blank images."""
    root = tmp_path_factory.mktemp("precision")
    model = scored_model()
    paddle.save(model.state_dict(), str(root / "model.pdparams"))
    transforms = build_transforms([NORMALIZE])
    lists = {"train": [], "val": [], "blank": []}
    (root / "images").mkdir()
    (root / "labels").mkdir()
    for index in range(12):
        image = smooth_image(*SIZES[index % 2], seed=index)
        Image.fromarray(image).save(root / "images" / f"{index}.png")
        with paddle.no_grad():
            logits = model(paddle.to_tensor(transforms(image, None)[0][None])).numpy()
        write_label(root / "labels" / f"{index}.png", logits[0].argmax(axis=0))
        lists["train" if index < 8 else "val"].append(f"images/{index}.png labels/{index}.png")
    Image.fromarray(np.full((64, 96, 3), 128, np.uint8)).save(root / "images" / "blank.png")
    write_label(root / "labels" / "blank.png", np.zeros((64, 96), np.int64))
    lists["blank"] = ["images/blank.png labels/blank.png"] * 4
    for split, lines in lists.items():
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    cfg = {"model": TINY_MODEL, "data": {"train": dataset(root, "train"), "val": dataset(root, "val")}}
    config_file = root / "tiny.yml"
    config_file.write_text(yaml.safe_dump(cfg))
    return {"root": root, "cfg": cfg, "weights": root / "model.pdparams", "config": config_file}


@pytest.fixture(scope="module")
def exported(workspace, tmp_path_factory):
    """``exported(precision)``: an export of the workspace model (fp32 with ONNX), made once per module."""
    cache = {}

    def get(precision):
        if precision not in cache:
            target = tmp_path_factory.mktemp(f"export_{precision}")
            options = {"fmt": "onnx"} if precision == "fp32" else {"check_images": 4, "max_miou_drop": None}
            if precision == "int8":
                options["calib_images"] = 6
            export_model(workspace["cfg"], workspace["weights"], target, precision=precision, **options)
            cache[precision] = target
        return cache[precision]

    return get


@pytest.fixture(scope="module")
def images(workspace):
    """Images of the data set, plus sizes it does not have."""
    root = workspace["root"]
    paths = [root / "images" / f"{i}.png" for i in (8, 9)]
    for height, width in ((45, 70), (128, 160)):
        path = root / f"extra_{height}x{width}.png"
        Image.fromarray(smooth_image(height, width, seed=height)).save(path)
        paths.append(path)
    return paths


def agreement(a, b):
    return float(np.mean(a == b))


def test_int8_export_holds_only_the_quantized_model_and_records_how_it_was_made(exported):
    directory = exported("int8")
    assert sorted(p.name for p in directory.iterdir()) == ["deploy.yaml", "model.int8.onnx"]
    raw = yaml.safe_load((directory / "deploy.yaml").read_text())
    assert raw["format"] == "onnx" and raw["files"] == {"onnx": {"model": "model.int8.onnx"}}
    assert raw["precision"] == "int8"
    assert raw["calibration"] == {"split": "train", "images": 6, "method": "minmax"}
    quantization = raw["quantization"]
    assert quantization["format"] == "QDQ" and quantization["op_types"] == ["Conv", "Relu", "MaxPool"]
    assert quantization["weights"] == "int8 per channel" and quantization["activations"] == "uint8"
    accuracy = raw["accuracy"]
    assert set(accuracy) == {"split", "images", "miou_fp32", "miou", "miou_drop", "mask_agreement"}
    assert accuracy["split"] == "val" and accuracy["images"] == 4
    assert accuracy["miou_fp32"] == 1.0, "the val labels are the fp32 model's own masks"
    assert accuracy["miou_drop"] == pytest.approx((accuracy["miou_fp32"] - accuracy["miou"]) * 100, abs=0.01)
    assert accuracy["mask_agreement"] >= INT8_AGREEMENT
    assert raw["exported_with"]["onnxruntime"]
    graph = onnx.load(str(directory / "model.int8.onnx")).graph
    ops = {node.op_type for node in graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv", "ConvTranspose", "ArgMax"} <= ops
    weights = [t for t in graph.initializer if t.data_type == onnx.TensorProto.INT8 and len(t.dims) == 4]
    convolutions = [node for node in graph.node if node.op_type == "Conv"]
    assert len(weights) == len(convolutions) > 10, "every convolution's weights are int8, one scale per channel"


def test_int8_predictor_infer_and_serve_give_masks_agreeing_with_fp32(exported, images, tmp_path):
    fp32 = Predictor(exported("fp32"), backend="onnx")
    int8 = Predictor(exported("int8"))
    assert int8.backend == "onnx" and int8.precision == "int8" and "int8" in int8.describe()
    pixels = [read_image(path) for path in images]
    reference = fp32.predict(pixels)
    masks = int8.predict(pixels)
    for path, image, mask, expected in zip(images, pixels, masks, reference):
        assert mask.shape == image.shape[:2], path.name
        assert agreement(mask, expected) >= INT8_AGREEMENT, path.name
    argv = ["--model-dir", exported("int8"), "--input", images[0], "--save-dir", tmp_path / "masks"]
    assert run_in_process("infer", *argv) == 0
    with Image.open(tmp_path / "masks" / f"{images[0].stem}.png") as written:
        np.testing.assert_array_equal(np.asarray(written), masks[0])

    pytest.importorskip("fastapi", reason="needs the serve extra: pip install -e '.[serve]'")
    from fastapi.testclient import TestClient

    from paddlefcn.serve import create_app

    with TestClient(create_app(exported("int8"), max_batch=2)) as client:
        info = client.get("/model").json()
        assert info["precision"] == "int8" and info["backend"] == "onnx" and "int8" in info["runtime"]
        assert info["calibration"]["images"] == 6 and info["accuracy"]["mask_agreement"] >= INT8_AGREEMENT
        for path, expected in zip(images, reference):
            response = client.post("/predict", files={"file": (path.name, path.read_bytes(), "image/png")})
            assert response.status_code == 200, response.text
            with Image.open(io.BytesIO(response.content)) as mask:
                served = np.asarray(mask)
            assert served.shape == expected.shape and agreement(served, expected) >= INT8_AGREEMENT


def test_the_accuracy_gate_refuses_an_int8_model_calibrated_on_blank_images(workspace, tmp_path):
    cfg = dict(workspace["cfg"], data=dict(workspace["cfg"]["data"], train=dataset(workspace["root"], "blank")))
    target = tmp_path / "out"
    with pytest.raises(PaddleFCNError) as refused:
        export_model(cfg, workspace["weights"], target, precision="int8", calib_images=4, check_images=4)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("int8 export refused, nothing written: val mIoU 1.0000 (fp32) -> 0.")
    assert "more than --max-miou-drop 1 " in message and "--max-miou-drop none" in message
    drop = float(message.split("a drop of ")[1].split(" points")[0])
    assert drop > 1.0
    assert not target.exists(), "nothing is written, not even the directory"
    # An existing directory keeps what it held, and nothing is added.
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(PaddleFCNError, match="int8 export refused"):
        export_model(cfg, workspace["weights"], target, precision="int8", calib_images=4, check_images=4)
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    # --max-miou-drop none writes it anyway, with its cost on record.
    deploy = export_model(
        cfg, workspace["weights"], target, precision="int8", calib_images=4, check_images=4, max_miou_drop="none"
    )
    assert deploy.accuracy["miou_drop"] == pytest.approx(drop, abs=0.01)
    assert read_deploy_config(target).accuracy == deploy.accuracy


def test_the_export_tool_prints_the_calibration_and_the_accuracy_cost(workspace, tmp_path, capsys):
    argv = ["-c", workspace["config"], "--weights", workspace["weights"], "--save-dir", tmp_path / "out"]
    argv += ["--precision", "int8", "--calib-images", "3", "--check-images", "2", "--max-miou-drop", "none"]
    assert run_in_process("export", *argv) == 0
    out = capsys.readouterr().out
    assert "exported model.int8.onnx and deploy.yaml" in out and "(int8, output argmax" in out
    assert "calibrated on 3 train images (minmax)" in out
    assert "accuracy: val mIoU 1.0000 (fp32) -> " in out and "(int8) on 2 images, a drop of" in out
    assert read_deploy_config(tmp_path / "out").calibration["images"] == 3


def test_the_export_tool_refusal_is_one_line_and_writes_nothing(workspace, tmp_path, capsys):
    cfg = dict(workspace["cfg"], data=dict(workspace["cfg"]["data"], train=dataset(workspace["root"], "blank")))
    config = tmp_path / "blank.yml"
    config.write_text(yaml.safe_dump(cfg))
    argv = ["-c", config, "--weights", workspace["weights"], "--save-dir", tmp_path / "out", "--precision", "int8"]
    assert run_in_process("export", *argv, "--calib-images", "2", "--check-images", "4") == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: int8 export refused, nothing written: val mIoU 1.0000")
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"precision": "int8", "fmt": "paddle"}, "an int8 export runs on ONNX Runtime only"),
        ({"precision": "bf16", "fmt": "onnx"}, "a bf16 export runs on Paddle Inference only"),
        ({"precision": "int8", "check_images": 0}, "--max-miou-drop needs --check-images of at least 1"),
        ({"precision": "int8", "max_miou_drop": -1}, "--max-miou-drop must be points of mIoU >= 0"),
        ({"precision": "fp16"}, "export.precision must be one of fp32, bf16, int8"),
        ({"precision": "int8", "calib_split": "test"}, "--calib-split test: the config has no data.test section"),
    ],
)
def test_bad_precision_options_fail_before_writing(workspace, tmp_path, kwargs, message):
    with pytest.raises(PaddleFCNError, match=message):
        export_model(workspace["cfg"], workspace["weights"], tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_an_int8_export_without_the_accuracy_check_says_so(workspace, tmp_path, capsys):
    argv = ["-c", workspace["config"], "--weights", workspace["weights"], "--save-dir", tmp_path, "--precision"]
    argv += ["int8", "--calib-images", "2", "--check-images", "0", "--max-miou-drop", "none"]
    assert run_in_process("export", *argv) == 0
    assert "accuracy: not measured (--check-images 0)" in capsys.readouterr().out
    assert read_deploy_config(tmp_path).accuracy is None


def test_bf16_on_a_cpu_without_avx512_bf16_is_one_line(workspace, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_features", lambda: {"avx512_bf16": False, "vnni": True})
    argv = ["-c", workspace["config"], "--weights", workspace["weights"], "--save-dir", tmp_path / "out"]
    assert run_in_process("export", *argv, "--precision", "bf16") == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: bf16 needs a CPU with AVX-512 BF16 (avx512_bf16), which this one lacks: oneDNN would emulate "
        "bfloat16, slower than fp32; export fp32, or int8 (--precision int8)"
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not HAS_BF16, reason="this CPU has no AVX-512 BF16")
def test_bf16_export_runs_with_onednn_bfloat16_and_agrees_with_fp32(exported, images, monkeypatch, capsys):
    directory = exported("bf16")
    deploy = read_deploy_config(directory)
    assert deploy.precision == "bf16" and deploy.format == "paddle" and list(deploy.files) == ["paddle"]
    assert deploy.calibration is None and deploy.accuracy["mask_agreement"] >= BF16_AGREEMENT
    bf16 = Predictor(directory)
    assert bf16.precision == "bf16" and "bf16" in bf16.describe()
    fp32 = Predictor(exported("fp32"), backend="paddle")
    pixels = [read_image(path) for path in images]  # 64x96 and 128x160: sides that need no padding
    for path, mask, expected in zip(images, bf16.predict(pixels), fp32.predict(pixels)):
        assert mask.shape == expected.shape and agreement(mask, expected) >= BF16_AGREEMENT, path.name
    # The machine that serves it needs AVX-512 BF16 too.
    monkeypatch.setattr(precision_module, "cpu_features", lambda: {"avx512_bf16": False, "vnni": True})
    argv = ["--model-dir", directory, "--input", images[0], "--save-dir", directory.parent / "masks"]
    assert run_in_process("infer", *argv) == 2
    assert capsys.readouterr().err.strip().startswith("error: bf16 needs a CPU with AVX-512 BF16")


@pytest.mark.parametrize(
    "export, options, message",
    [
        ("int8", {"backend": "paddle"}, "deploy.yaml: an int8 export runs on ONNX Runtime only"),
        ("int8", {"device": "gpu"}, "an int8 export runs on the CPU only; for a GPU export fp32"),
        ("int8", {"precision": "fp32"}, "deploy.yaml: this is an int8 export, which runs in int8 only, not fp32"),
        ("fp32", {"precision": "int8"}, "this is an fp32 export; int8 is chosen at export"),
        ("fp32", {"precision": "fp8"}, "unknown precision 'fp8' \\(known: fp32, fp16, bf16, int8\\)"),
    ],
)
def test_a_backend_device_or_precision_that_cannot_run_the_export_is_one_line(exported, export, options, message):
    with pytest.raises(PaddleFCNError, match=message) as refused:
        Predictor(exported(export), **options)
    assert "\n" not in str(refused.value)


def test_infer_on_the_wrong_backend_is_one_line(exported, images, tmp_path, capsys):
    argv = ["--model-dir", exported("int8"), "--input", images[0], "--save-dir", tmp_path, "--backend", "paddle"]
    assert run_in_process("infer", *argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "an int8 export runs on ONNX Runtime only" in lines[0]


def test_an_export_without_precision_in_deploy_yaml_is_fp32(exported, tmp_path):
    import shutil

    target = tmp_path / "old"
    shutil.copytree(exported("fp32"), target)
    raw = yaml.safe_load((target / "deploy.yaml").read_text())
    for key in ("precision", "calibration", "quantization", "accuracy"):
        raw.pop(key)
    (target / "deploy.yaml").write_text(yaml.safe_dump(raw))
    assert read_deploy_config(target).precision == "fp32"
    assert Predictor(target).precision == "fp32"


def test_a_cpu_without_vnni_gets_one_warning(monkeypatch):
    warned = []
    monkeypatch.setattr(precision_module, "cpu_features", lambda: {"avx512_bf16": False, "vnni": False})
    monkeypatch.setattr(precision_module, "_warned", set())
    monkeypatch.setattr(precision_module.logger, "warning", warned.append)  # whatever handlers earlier tests set
    precision_module.warn_without_vnni()
    precision_module.warn_without_vnni()
    assert warned == [
        "this CPU has no AVX-512 VNNI (int8 dot products): an int8 model may be no faster than fp32 here; "
        "measure with tools/benchmark.py"
    ]


def test_calibration_and_check_images_are_spread_over_the_split():
    from paddlefcn.deploy.quantize import spread

    assert spread(4, 101) == [0, 33, 67, 100], "first and last included, evenly between"
    assert spread(1000, 101) == list(range(101)), "more than the split has: all of them"
    assert spread(64, 367)[:3] == [0, 6, 12] and len(spread(64, 367)) == 64
    assert spread(0, 10) == [] and spread(3, 0) == []


@pytest.mark.parametrize(
    "value, limit", [(1.0, 1.0), ("2.5", 2.5), (0, 0.0), (None, None), ("none", None), ("None", None)]
)
def test_max_miou_drop_is_points_or_none(value, limit):
    assert precision_module.miou_drop_limit(value) == limit


@pytest.mark.parametrize("value", [-0.5, "abc", True, float("inf"), float("nan")])
def test_a_bad_max_miou_drop_is_one_line(value):
    with pytest.raises(PaddleFCNError, match="--max-miou-drop must be points of mIoU >= 0, or none"):
        precision_module.miou_drop_limit(value)
