"""Build, train, export and infer in one go: the pipeline the Paddle 2.6 stage of .ci/run checks (3.x here)."""

import logging

import numpy as np
import paddle
import pytest

from paddlefcn import load_config
from paddlefcn.data import build_transforms, dataset_meta, read_image
from paddlefcn.deploy import Predictor, export_model
from paddlefcn.engine.inference import predict_mask
from paddlefcn.engine.training import train
from paddlefcn.engine.weights import load_trained_model

SHORT_RUN = ["train.iters=2", "train.eval_interval=2", "train.save_interval=2"]


@pytest.mark.parametrize("fmt", ["paddle", "onnx"])
def test_a_trained_checkpoint_exports_and_predicts_like_dygraph(tmp_path, tiny_config, fmt):
    if fmt == "onnx":
        pytest.importorskip("paddle2onnx")
        pytest.importorskip("onnxruntime")
    cfg = load_config(tmp_path / "tiny.yml", SHORT_RUN)
    trainer = train(cfg, tmp_path / "run", logger=logging.getLogger("test.compat"))
    assert trainer.completed and trainer.iter == 2
    weights = tmp_path / "run" / "checkpoints" / "iter_2"

    deploy = export_model(cfg, weights, tmp_path / "deploy", fmt=fmt)
    model_file = deploy.files["paddle"]["model"]
    assert model_file == ("model.json" if int(paddle.__version__.split(".")[0]) >= 3 else "model.pdmodel")
    assert deploy.class_names == dataset_meta(cfg["data"]["val"]).class_names

    model = load_trained_model(cfg["model"], weights)
    transforms = build_transforms(cfg["data"]["val"]["transforms"])
    predictor = Predictor(tmp_path / "deploy", batch_size=2)
    images = [read_image(p) for p in sorted((tmp_path / "synthetic").glob("val-*/JPEGImages/*.jpg"))[:3]]
    assert images, "training wrote the synthetic images"
    for image, labels in zip(images, predictor.predict(images)):
        assert labels.shape == image.shape[:2]
        assert np.mean(labels == predict_mask(model, image, transforms)) >= 0.999
