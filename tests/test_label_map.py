"""label_map on every dataset: one lookup after the dataset's encoding, checked before training, recorded."""

import logging
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from data_fixtures import make_binary_masks, make_camvid, make_voc
from tool_helpers import REPO, run_subprocess

from paddlefcn import load_config
from paddlefcn.data import DataError, build_dataset, dataset_meta
from paddlefcn.data.encoding import (
    LabelLookup,
    LabelTable,
    check_label_map,
    compose_label_maps,
    suggest_label_map,
    value_ranges,
)
from paddlefcn.data.meta import make_meta
from paddlefcn.engine.trainer import Hook
from paddlefcn.engine.training import train
from paddlefcn.errors import ConfigError

RUNTIME = str(REPO / "configs" / "_base_" / "runtime.yml")


# --- The lookup ---------------------------------------------------------------------------------------------


def test_a_label_map_changes_the_values_it_names_and_keeps_the_others():
    label = np.array([[0, 255, 3], [255, 1, 0]])
    np.testing.assert_array_equal(LabelLookup(None, {255: 1})(label, "x.png"), [[0, 1, 3], [1, 1, 0]])
    np.testing.assert_array_equal(
        LabelLookup(None, {0: 255, 1: 0, 2: 1})(label, "x.png"), [[255, 255, 3], [255, 0, 255]]
    )
    # Values beyond the table's range (16-bit labels) stay too; no map at all is the identity.
    wide = np.array([[0, 40000, 255]])
    np.testing.assert_array_equal(LabelLookup(None, {255: 1})(wide, "x.png"), [[0, 40000, 1]])
    assert LabelLookup(None, {}).identity and LabelLookup(None, {3: 3}).identity
    np.testing.assert_array_equal(LabelLookup(None, None)(label, "x.png"), label)


def test_a_dataset_table_then_the_label_map_is_one_lookup_and_refuses_values_it_does_not_list():
    table = LabelTable("Toy ids", {-1: 255, 0: 255, 1: 0, 2: 1, 3: 2}, "0 and -1 ignored, 1..3 -> 0..2")
    assert table.accepted == "-1..3"
    lookup = LabelLookup(table, {2: 255, 0: 1})  # the map speaks the classes the table gives
    label = np.array([[-1, 0, 1], [2, 3, 3]])
    reference = np.vectorize(lambda v: {-1: 255, 0: 255, 1: 1, 2: 1, 3: 255}[v])(label)  # class 0 -> 1, 2 -> 255
    np.testing.assert_array_equal(lookup(label, "x.png"), reference)
    with pytest.raises(DataError, match=re.escape("x.png: label values 4, 200 are not Toy ids values (-1..3)")):
        lookup(np.array([[1, 4, 200]]), "x.png")


def test_check_label_map_names_the_entry_it_refuses():
    meta = make_meta(2)
    assert check_label_map(None, meta, "FileList") == {}
    assert check_label_map({255: 1, 7: 255}, meta, "FileList") == {255: 1, 7: 255}
    refused = {
        "FileList: label_map entry {255: 3}: 3 is neither a class (0..1) nor the ignore value (255)": {0: 0, 255: 3},
        "FileList: label_map entry {255: -1}: -1 is neither a class": {255: -1},
        "FileList: label_map entry {'255:1': None}: the key must be an integer label value (YAML needs a space": {
            "255:1": None
        },
        "FileList: label_map entry {-2: 1}: the key must be a label value in 0..65535": {-2: 1},
        "FileList: label_map must map label values to classes, e.g. {255: 1}, got [255, 1]": [255, 1],
    }
    for message, label_map in refused.items():
        with pytest.raises(ConfigError, match="^" + re.escape(message)):
            check_label_map(label_map, meta, "FileList")
    with pytest.raises(
        ConfigError,
        match=re.escape("label_map applies after the Toy table, which gives classes 0..1 and 255, so 33 never occurs"),
    ):
        check_label_map({33: 255}, meta, "Toy", "the Toy table")


def test_suggestions_for_the_usual_encodings():
    assert suggest_label_map([0, 1, 255], 2, 255) is None  # nothing out of range
    binary = suggest_label_map([0, 255], 2, 254)
    assert binary.label_map == {255: 1} and binary.reason == "binary masks saved as 0/255"
    assert suggest_label_map([1, 2, 3], 3, 255).label_map == {1: 0, 2: 1, 3: 2}
    one_based = suggest_label_map([0, 1, 2, 3, 255], 3, 255)
    assert one_based.label_map == {0: 255, 1: 0, 2: 1, 3: 2} and "1-based with 0 as unlabelled" in one_based.reason
    assert suggest_label_map([0, 128, 200], 3, 255).label_map == {128: 1, 200: 2}
    assert suggest_label_map([0, 7, 8, 9], 3, 255) is None  # no usual encoding: no guess
    assert compose_label_maps({255: 1}, {1: 0, 2: 1}) == {1: 0, 2: 1, 255: 0}
    assert value_ranges([255, 0, 1, 2, 5, -1, 7, 8]) == "-1..2, 5, 7, 8, 255"


# --- On every dataset type ----------------------------------------------------------------------------------


def test_filelist_binary_masks_become_classes_0_and_1(tmp_path):
    masks = make_binary_masks(tmp_path, ["a", "b"])
    cfg = {"type": "FileList", "root": str(tmp_path), "file_list": "list.txt", "num_classes": 2}
    plain = build_dataset(cfg)
    np.testing.assert_array_equal(plain.load_label(0), masks["a"])  # 255 is the ignore value: foreground lost
    mapped = build_dataset({**cfg, "label_map": {255: 1}})
    for index, name in enumerate(["a", "b"]):
        np.testing.assert_array_equal(mapped.load_label(index), (masks[name] == 255).astype(np.int64))
        np.testing.assert_array_equal(mapped[index][1], (masks[name] == 255).astype(np.int64))
    assert mapped.label_map == {255: 1}


def test_voc_label_map_merges_and_ignores_classes(tmp_path):
    written = make_voc(tmp_path, {"train": ["a", "b"]})
    merged, ignored = sorted(set(np.unique(written["a"][1])) - {0, 255})[:2]  # two classes label a holds
    dataset = build_dataset({"type": "VOC", "root": str(tmp_path), "label_map": {int(merged): 0, int(ignored): 255}})
    for index, name in enumerate(["a", "b"]):
        label = written[name][1].astype(np.int64)
        expected = np.where(label == merged, 0, np.where(label == ignored, 255, label))
        np.testing.assert_array_equal(dataset.load_label(index), expected)
    assert not np.array_equal(dataset.load_label(0), written["a"][1])
    vocaug = make_voc(tmp_path / "aug", {"train_aug": ["c"]}, label_dir="SegmentationClassAug")
    aug = build_dataset({"type": "VOCAug", "root": str(tmp_path / "aug"), "label_map": {255: 0}})
    np.testing.assert_array_equal(aug.load_label(0), np.where(vocaug["c"][1] == 255, 0, vocaug["c"][1]))


def test_camvid_label_map_and_its_void(tmp_path):
    root = tmp_path / "CamVid"
    written = make_camvid(root, {"train": ["0001TP_006690", "0006R0_f00930"]})
    # Sky becomes void (11), Bicyclist is merged into Pedestrian.
    dataset = build_dataset({"type": "CamVid", "root": str(root), "label_map": {0: 11, 10: 9}})
    for index, name in enumerate(["0001TP_006690", "0006R0_f00930"]):
        label = written[name][1].astype(np.int64)
        np.testing.assert_array_equal(
            dataset.load_label(index), np.where(label == 0, 11, np.where(label == 10, 9, label))
        )
    with pytest.raises(
        ConfigError,
        match=re.escape("CamVid: label_map entry {0: 255}: 255 is neither a class (0..10) nor the ignore value (11)"),
    ):
        build_dataset({"type": "CamVid", "root": str(root), "label_map": {0: 255}})


def test_synthetic_shapes_takes_a_label_map(tmp_path):
    cfg = {"type": "SyntheticShapes", "root": str(tmp_path), "num_images": 2, "size": 32}
    plain, merged = build_dataset(cfg), build_dataset({**cfg, "label_map": {2: 1}})  # ring counts as disc
    label = plain.load_label(0)
    np.testing.assert_array_equal(merged.load_label(0), np.where(label == 2, 1, label))


def test_dataset_meta_checks_the_label_map_without_reading_a_file(tmp_path):
    nowhere = {"type": "VOC", "root": str(tmp_path / "nowhere")}
    assert dataset_meta({**nowhere, "label_map": {15: 0}}).num_classes == 21
    with pytest.raises(ConfigError, match=re.escape("VOC: label_map entry {15: 21}: 21 is neither a class (0..20)")):
        dataset_meta({**nowhere, "label_map": {15: 21}})


# --- Training -----------------------------------------------------------------------------------------------


def binary_config(tmp_path, root, label_map=None, name="binary.yml", **sections):
    """FCN-8s/ResNet18 on 32x32 0/255 masks, 2 classes, batch 2, 2 iterations."""
    dataset = {"type": "FileList", "root": str(root), "file_list": "list.txt", "num_classes": 2}
    if label_map is not None:
        dataset["label_map"] = label_map
    cfg = {
        "_base_": [RUNTIME],
        "model": {"num_classes": 2, "backbone": {"type": "ResNet18"}, "head": {"type": "FCN8s"}},
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
        "data": {
            "train": {**dataset, "transforms": [{"type": "RandomHorizontalFlip"}, {"type": "Normalize"}]},
            "val": {**dataset, "transforms": [{"type": "Normalize"}]},
            "num_workers": 0,
        },
        **sections,
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


class LabelsSeenByTheLoss(Hook):
    """Records the label values of every batch the loss receives."""

    def __init__(self):
        self.values = set()

    def before_train(self, trainer):
        loss_fn = trainer.loss_fn

        def recording(logits, labels):
            self.values.update(int(v) for v in np.unique(labels.numpy()))
            return loss_fn(logits, labels)

        trainer.loss_fn = recording


def run(config, save_dir, **kwargs):
    return train(load_config(config), save_dir, logger=logging.getLogger(f"test.{Path(save_dir).name}"), **kwargs)


def test_binary_masks_train_with_label_map_and_the_foreground_reaches_the_loss(tmp_path):
    root = tmp_path / "masks"
    make_binary_masks(root, ["a", "b", "c", "d"])
    without, mapped = LabelsSeenByTheLoss(), LabelsSeenByTheLoss()
    run(binary_config(tmp_path, root, name="plain.yml"), tmp_path / "plain", extra_hooks=[without])
    assert without.values == {0, 255}  # the foreground is ignored: what the label_map is for
    trainer = run(binary_config(tmp_path, root, {255: 1}), tmp_path / "run", extra_hooks=[mapped])
    assert trainer.completed and trainer.iter == 2
    assert mapped.values == {0, 1}
    assert trainer.last_eval is not None
    saved = load_config(tmp_path / "run" / "config.yml")
    assert saved["data"]["train"]["label_map"] == {255: 1} and saved["data"]["val"]["label_map"] == {255: 1}


def test_a_bad_label_map_is_refused_before_training(tmp_path):
    root = tmp_path / "masks"
    make_binary_masks(root, ["a", "b"])
    config = binary_config(tmp_path, root, {255: 7})
    with pytest.raises(ConfigError, match=re.escape("FileList: label_map entry {255: 7}: 7 is neither a class (0..1)")):
        run(config, tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoints").exists() and not (tmp_path / "run" / "config.yml").exists()

    done = run_subprocess("train", "-c", config, "--save-dir", tmp_path / "run2", cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert lines == [
        f"error: {config}: FileList: label_map entry {{255: 7}}: 7 is neither a class (0..1) nor the ignore value (255)"
    ], done.stderr[-2000:]
    assert "Traceback" not in done.stderr and not (tmp_path / "run2" / "checkpoints").exists()
