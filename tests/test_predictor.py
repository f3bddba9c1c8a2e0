"""The Predictor and tools/infer.py: image files end to end, batching, resizing, backends and one-line errors."""

import re
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml
from model_fixtures import TINY_MODEL, scored_model
from PIL import Image
from tool_helpers import run_in_process

from paddlefcn.data import build_transforms, read_image
from paddlefcn.data.transforms import resize_label
from paddlefcn.deploy import Predictor, export_model
from paddlefcn.errors import PaddleFCNError

REPO = Path(__file__).resolve().parents[1]
NORMALIZE = {"type": "Normalize", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
CFG = {"model": TINY_MODEL, "data": {"val": {"type": "FileList", "num_classes": 3, "transforms": [NORMALIZE]}}}
IMAGE_SIZES = {"a.png": (97, 131), "b.jpg": (64, 96), "c.png": (97, 131), "d.bmp": (45, 70)}


@pytest.fixture(scope="module")
def model_and_weights(tmp_path_factory):
    """A tiny model with random score layers, so it predicts several classes."""
    model = scored_model()
    weights = tmp_path_factory.mktemp("weights") / "model.pdparams"
    paddle.save(model.state_dict(), str(weights))
    return model, weights


@pytest.fixture(scope="module")
def export_dir(model_and_weights, tmp_path_factory):
    directory = tmp_path_factory.mktemp("export")
    export_model(CFG, model_and_weights[1], directory, output_op="argmax")
    return directory


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Smooth random images (so classes form regions) of several sizes and formats."""
    directory = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for name, (height, width) in IMAGE_SIZES.items():
        coarse = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
        Image.fromarray(coarse).resize((width, height), Image.BILINEAR).save(directory / name)
    return directory


def dygraph_labels(model, image, transforms):
    chw, _ = build_transforms(transforms)(image, None)
    with paddle.no_grad():
        return model(paddle.to_tensor(chw[None])).numpy()[0].argmax(axis=0)


def infer(argv):
    return run_in_process("infer", *argv)


def test_infer_tool_writes_masks_matching_dygraph_for_every_image(model_and_weights, export_dir, images, tmp_path):
    model, _ = model_and_weights
    assert infer(["--model-dir", export_dir, "--input", images, "--save-dir", tmp_path, "--batch-size", "2"]) == 0
    classes = set()
    for name, size in IMAGE_SIZES.items():
        stem = Path(name).stem
        with Image.open(tmp_path / f"{stem}.png") as mask_image:
            assert mask_image.mode == "P", "masks are palette PNGs whose values are the classes"
            mask = np.asarray(mask_image)
        assert mask.shape == size
        expected = dygraph_labels(model, read_image(images / name), [NORMALIZE])
        assert np.mean(mask == expected) >= 0.999, name
        classes.update(np.unique(mask).tolist())
        with Image.open(tmp_path / f"{stem}_overlay.jpg") as overlay_image:
            assert overlay_image.size == (size[1], size[0])
    assert len(classes) >= 2, "the test model must predict several classes"


def test_infer_tool_without_onednn_gives_the_same_masks(export_dir, images, tmp_path, capsys):
    assert infer(["--model-dir", export_dir, "--input", images, "--save-dir", tmp_path / "a"]) == 0
    assert "oneDNN" in capsys.readouterr().out
    assert infer(["--model-dir", export_dir, "--input", images, "--save-dir", tmp_path / "b", "--no-onednn"]) == 0
    assert "oneDNN" not in capsys.readouterr().out
    for name in IMAGE_SIZES:
        with (
            Image.open(tmp_path / "a" / f"{Path(name).stem}.png") as a,
            Image.open(tmp_path / "b" / f"{Path(name).stem}.png") as b,
        ):
            assert np.mean(np.asarray(a) == np.asarray(b)) >= 0.999, name


def test_mixed_sizes_in_one_batch_give_the_single_image_results(export_dir, images):
    pixels = [read_image(images / name) for name in IMAGE_SIZES]
    batched = Predictor(export_dir, batch_size=3).predict(pixels)
    single = Predictor(export_dir, batch_size=1)
    for image, labels in zip(pixels, batched):
        assert labels.dtype == np.int32 and labels.shape == image.shape[:2]
        np.testing.assert_array_equal(labels, single.predict([image])[0])


class FlagRecorder:
    """Stands in for a Paddle predictor, noting the eager-deletion flag each run sees."""

    def __init__(self, predictor, delay=0.0):
        self.predictor = predictor
        self.delay = delay
        self.seen = []

    def __getattr__(self, name):
        return getattr(self.predictor, name)

    def run(self):
        self.seen.append(paddle.get_flags(["FLAGS_eager_delete_tensor_gb"])["FLAGS_eager_delete_tensor_gb"])
        time.sleep(self.delay)
        return self.predictor.run()


def recorded_predictor(export_dir, delay=0.0, **options):
    """A one-image Predictor whose Paddle predictor is wrapped in a FlagRecorder (sleeping ``delay`` s per run)."""
    predictor = Predictor(export_dir, batch_size=1, **options)
    recorder = FlagRecorder(predictor.engine.predictor, delay)
    predictor.engine.predictor = recorder
    return predictor, recorder


def test_cpu_predictor_builds_its_executor_without_the_collector_thread(model_and_weights, export_dir, images):
    before = paddle.get_flags(["FLAGS_eager_delete_tensor_gb"])
    predictor, recorder = recorded_predictor(export_dir)
    pixels = [read_image(images / name) for name in IMAGE_SIZES]
    labels = predictor.predict(pixels)
    assert recorder.seen[0] < 0  # the executor is built on the first run, with collection off
    assert recorder.seen[1:] == [before["FLAGS_eager_delete_tensor_gb"]] * (len(pixels) - 1)
    assert paddle.get_flags(["FLAGS_eager_delete_tensor_gb"]) == before
    for image, label in zip(pixels, labels):  # shapes change between runs without the collector
        assert np.mean(label == dygraph_labels(model_and_weights[0], image, [NORMALIZE])) >= 0.999


def test_first_runs_in_two_threads_each_see_the_flag_and_restore_the_default(export_dir, images):
    before = paddle.get_flags(["FLAGS_eager_delete_tensor_gb"])
    pairs = [recorded_predictor(export_dir, delay=0.3) for _ in range(2)]
    image = read_image(images / "a.png")
    threads = [threading.Thread(target=predictor.predict, args=([image],)) for predictor, _ in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [recorder.seen[0] < 0 for _, recorder in pairs] == [True, True]
    assert paddle.get_flags(["FLAGS_eager_delete_tensor_gb"]) == before


def test_paddle_kernels_without_onednn_keep_the_collector(export_dir, images):
    before = paddle.get_flags(["FLAGS_eager_delete_tensor_gb"])["FLAGS_eager_delete_tensor_gb"]
    predictor, recorder = recorded_predictor(export_dir, onednn=False)
    predictor.predict([read_image(images / name) for name in IMAGE_SIZES])
    assert recorder.seen == [before] * len(IMAGE_SIZES)


def test_onnx_backend_gives_the_paddle_results(model_and_weights, images, tmp_path):
    pytest.importorskip("paddle2onnx")
    pytest.importorskip("onnxruntime")
    export_model(CFG, model_and_weights[1], tmp_path, output_op="argmax", fmt="onnx")
    pixels = [read_image(images / name) for name in IMAGE_SIZES]
    onnx = Predictor(tmp_path)
    assert onnx.describe().startswith("ONNX Runtime")
    paddle_backend = Predictor(tmp_path, backend="paddle")
    assert paddle_backend.describe().startswith("Paddle Inference")
    for a, b in zip(onnx.predict(pixels), paddle_backend.predict(pixels)):
        assert np.mean(a == b) >= 0.999


@pytest.mark.parametrize("output_op", ["argmax", "softmax"])
def test_resize_preprocessing_returns_labels_at_the_image_size(model_and_weights, images, tmp_path, output_op):
    model, weights = model_and_weights
    cfg = dict(CFG, export={"resize": [64, 64], "input_shape": [1, 3, 64, 64], "output_op": output_op})
    deploy = export_model(cfg, weights, tmp_path)
    assert deploy.transforms == [{"type": "Resize", "size": [64, 64]}, NORMALIZE]
    image = read_image(images / "a.png")
    labels = Predictor(tmp_path).predict([image])[0]
    assert labels.shape == (97, 131)
    expected = resize_label(dygraph_labels(model, image, deploy.transforms), 97, 131)
    # argmax labels are resized by nearest neighbour exactly as expected; softmax scores bilinearly first.
    assert np.mean(labels == expected) >= (0.999 if output_op == "argmax" else 0.9)


def test_a_fixed_size_model_rejects_other_sizes_in_one_line(model_and_weights, images, tmp_path):
    export_model(CFG, model_and_weights[1], tmp_path, input_shape=[1, 3, 64, 96])
    predictor = Predictor(tmp_path)
    assert predictor.predict([read_image(images / "b.jpg")])[0].shape == (64, 96)
    with pytest.raises(PaddleFCNError, match="exported for 64x96 inputs but preprocessing gives 97x131"):
        predictor.predict([read_image(images / "a.png")])


def test_a_fixed_batch_model_gets_full_batches(model_and_weights, images, tmp_path):
    export_model(CFG, model_and_weights[1], tmp_path, input_shape=[2, 3, -1, -1])
    predictor = Predictor(tmp_path, batch_size=5)
    assert predictor.batch_size == 2
    pixels = [read_image(images / name) for name in ("a.png", "c.png", "a.png")]
    labels = predictor.predict(pixels)
    np.testing.assert_array_equal(labels[0], labels[2])
    assert [x.shape for x in labels] == [(97, 131)] * 3


def test_benchmark_reports_latency(export_dir, images, tmp_path, capsys):
    argv = ["--model-dir", export_dir, "--input", images / "a.png", "--save-dir", tmp_path]
    assert infer([*argv, "--benchmark", "--warmup", "1", "--repeats", "3"]) == 0
    out = capsys.readouterr().out
    assert "Paddle Inference" in out and "threads" in out
    assert "latency of a 1x3x97x131 batch: mean" in out and "over 3 runs" in out


def broken_copy(export_dir, tmp_path, edit=None, remove=None):
    target = tmp_path / "model"
    shutil.copytree(export_dir, target)
    if remove:
        (target / remove).unlink()
    if edit:
        deploy = yaml.safe_load((target / "deploy.yaml").read_text())
        edit(deploy)
        (target / "deploy.yaml").write_text(yaml.safe_dump(deploy))
    return target


@pytest.mark.parametrize(
    "setup, extra, message",
    [
        (lambda d, t: t / "missing", [], "error: model dir not found: .*missing$"),
        (lambda d, t: t, [], "error: .* has no deploy.yaml; is it a directory written by tools/export.py\\?$"),
        (
            lambda d, t: broken_copy(d, t, remove="model.pdiparams"),
            [],
            "error: .*deploy.yaml names paddle params file 'model.pdiparams', which does not exist in .*model$",
        ),
        (
            lambda d, t: broken_copy(d, t, edit=lambda y: y.update(format="tflite")),
            [],
            "error: .*deploy.yaml: unsupported model format 'tflite' \\(supported: paddle, onnx\\)$",
        ),
        (
            lambda d, t: broken_copy(d, t, edit=lambda y: y.pop("output_op")),
            [],
            "error: .*deploy.yaml: missing key 'output_op'$",
        ),
        (
            lambda d, t: broken_copy(d, t, edit=lambda y: y.update(output_op="softmax")),
            [],
            "error: .*deploy.yaml: output_op 'softmax' means \\[1, 3, H, W\\] scores, but the model returns shape "
            "\\[1, \\d+, \\d+\\]; does deploy.yaml belong to these model files\\?$",
        ),
        (lambda d, t: d, ["--backend", "tflite"], "error: unsupported model format 'tflite' \\(supported: .*\\)$"),
        (lambda d, t: d, ["--backend", "onnx"], "error: .*deploy.yaml: no onnx model in this export .*onnx\\)$"),
        (lambda d, t: d, ["--precision", "fp16"], "error: TensorRT and fp16 need --device gpu$"),
        (lambda d, t: d, ["--device", "tpu"], "error: unknown device 'tpu' \\(known: cpu, gpu\\)$"),
    ],
    ids=[
        "missing-dir",
        "no-deploy-yaml",
        "missing-file",
        "unsupported-format",
        "missing-key",
        "output-op-not-the-graphs",
        "unknown-backend",
        "format-not-exported",
        "fp16-on-cpu",
        "unknown-device",
    ],
)
def test_infer_tool_errors_are_one_line(export_dir, images, tmp_path, capsys, setup, extra, message):
    model_dir = setup(export_dir, tmp_path)
    argv = ["--model-dir", model_dir, "--input", images, "--save-dir", tmp_path / "out", *extra]
    assert infer(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert re.match(message, lines[0]), lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not paddle.__version__.startswith("2."), reason="only Paddle 2.x cannot read PIR programs")
def test_paddle_2_refuses_a_paddle_3_program_in_one_line(export_dir, tmp_path):
    model_dir = broken_copy(export_dir, tmp_path, edit=lambda y: y["files"]["paddle"].update(model="model.json"))
    (model_dir / "model.json").write_text("{}")
    with pytest.raises(PaddleFCNError, match="model.json is a Paddle 3 \\(PIR\\) program, which Paddle 2.6"):
        Predictor(model_dir)


def test_missing_input_is_one_line(export_dir, tmp_path, capsys):
    assert infer(["--model-dir", export_dir, "--input", tmp_path / "none.jpg", "--save-dir", tmp_path / "o"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"error: input not found: {tmp_path / 'none.jpg'}"]
