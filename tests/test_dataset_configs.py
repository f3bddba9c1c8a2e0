"""The Cityscapes, ADE20K and COCO-Stuff configs: each base config trains two iterations on its fixture tree,
and each GPU recipe loads and builds."""

import logging

import numpy as np
import pytest
import yaml
from data_fixtures import make_ade20k, make_cityscapes, make_cocostuff
from tool_helpers import REPO

from paddlefcn import load_config
from paddlefcn.data import dataset_meta
from paddlefcn.engine.training import train
from paddlefcn.models import build_model
from paddlefcn.settings import EvalSettings

BASE = REPO / "configs" / "_base_"
DATASETS = {
    # name: (type, classes, base crop [h, w], fixture writer -> root)
    "cityscapes": (
        "Cityscapes",
        19,
        [512, 1024],
        lambda root: make_cityscapes(root, {"train": {"aachen": 2, "bochum": 2}, "val": {"frankfurt": 2}}),
    ),
    "ade20k": ("ADE20K", 150, [512, 512], lambda root: make_ade20k(root, {"train": 4, "val": 2}, size=(24, 32))),
    "cocostuff": (
        "COCOStuff",
        171,
        [512, 512],
        lambda root: make_cocostuff(root, {"train": 4, "val": 2}, size=(24, 32)),
    ),
}


@pytest.mark.parametrize("name", DATASETS)
def test_the_base_config_trains_two_iterations_on_its_fixture(tmp_path, name):
    type_name, classes, crop, write = DATASETS[name]
    root = tmp_path / name
    write(root)
    config = tmp_path / "run.yml"
    parts = [BASE / "models" / "resnet34.yml", BASE / f"{name}.yml", BASE / "schedule_40k.yml", BASE / "runtime.yml"]
    config.write_text(yaml.safe_dump({"_base_": [str(p) for p in parts]}))
    overrides = [
        f"data.train.root={root}",
        f"data.val.root={root}",
        "data.num_workers=0",
        "model.backbone.pretrained=null",  # tests never download
        "lr.warmup_iters=0",
        "train.iters=2",
        "train.batch_size=2",
        "train.eval_interval=2",
        "train.save_interval=2",
        "train.log_interval=1",
        "train.vis_images=1",
    ]
    cfg = load_config(config, overrides)
    assert cfg["model"]["num_classes"] == classes
    assert cfg["data"]["train"]["type"] == cfg["data"]["val"]["type"] == type_name
    padding_crop = cfg["data"]["train"]["transforms"][1]
    assert padding_crop["type"] == "RandomPaddingCrop" and padding_crop["crop_size"] == crop
    padding_crop["crop_size"] = [32, 64] if name == "cityscapes" else [32, 32]  # the fixtures' images are tiny
    trainer = train(cfg, tmp_path / "run", logger=logging.getLogger(f"test.{name}"))
    assert trainer.completed and trainer.iter == 2 and np.isfinite(trainer.outputs.loss)
    assert trainer.evaluation.meta.num_classes == classes and trainer.evaluation.meta.ignore_index == 255
    assert trainer.last_eval is not None
    assert (tmp_path / "run" / "checkpoints" / "iter_2" / "model.pdparams").is_file()
    saved = load_config(tmp_path / "run" / "config.yml")
    assert saved["data"]["train"]["type"] == type_name and saved["loss"]["ignore_index"] == 255


RECIPES = {
    "cityscapes": REPO / "configs" / "cityscapes" / "fcn8s_resnet34.yml",
    "ade20k": REPO / "configs" / "ade20k" / "fcn8s_resnet34.yml",
    "cocostuff": REPO / "configs" / "cocostuff" / "fcn8s_resnet34.yml",
}


@pytest.mark.parametrize("name", RECIPES)
def test_the_gpu_recipe_loads_builds_and_says_it_was_not_run_here(name):
    path = RECIPES[name]
    type_name, classes, crop, _ = DATASETS[name]
    assert "Not run here" in path.read_text()
    cfg = load_config(path)
    assert cfg["model"]["num_classes"] == classes and cfg["model"]["backbone"]["pretrained"] == "imagenet"
    assert cfg["data"]["train"]["transforms"][0] == {"type": "RandomScale", "min": 0.5, "max": 2.0}
    assert cfg["data"]["train"]["transforms"][1]["crop_size"] == crop
    meta = dataset_meta(cfg["data"]["train"])
    assert meta.num_classes == classes and meta == dataset_meta(cfg["data"]["val"])
    if name == "cityscapes":  # sliding 512x1024 windows over the full 1024x2048 images
        assert EvalSettings.of(cfg).window == ((512, 1024), (341, 683))
    cfg["model"]["backbone"]["pretrained"] = None
    build_model(cfg["model"])
