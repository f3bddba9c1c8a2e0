"""ADE20K and COCO-Stuff 164k read as downloaded, their encodings checked against NumPy reference mappings."""

import re

import numpy as np
import pytest
from data_fixtures import COCOSTUFF_UNUSED, make_ade20k, make_cocostuff, save_image

from paddlefcn.data import DataError, build_dataset, dataset_meta
from paddlefcn.data.datasets import ADE20K, COCOStuff
from paddlefcn.data.io import BAD_VALUE, MISSING
from paddlefcn.errors import ConfigError, PaddleFCNError

# --- ADE20K -------------------------------------------------------------------------------------------------


def ade_reference(annotation):
    """0 is ignored, 1..150 are classes 0..149 (computed in int64, where nothing wraps)."""
    annotation = annotation.astype(np.int64)
    return np.where(annotation == 0, 255, annotation - 1)


@pytest.fixture
def ade(tmp_path):
    return tmp_path / "ade", make_ade20k(tmp_path / "ade", {"train": 3, "val": 2})


@pytest.mark.parametrize(("split", "folder", "count"), [("train", "training", 3), ("val", "validation", 2)])
def test_ade20k_pairs_images_and_annotations_and_shifts_by_a_table(ade, split, folder, count):
    root, written = ade
    tree = root / "ADEChallengeData2016"
    for given in (root, tree):  # the ADEChallengeData2016 directory, or the one holding it
        dataset = build_dataset({"type": "ADE20K", "root": str(given), "split": split})
        assert len(dataset) == count and dataset.root == str(tree)
        for index in range(count):
            name = f"ADE_{split}_{index + 1:08d}"
            assert dataset.image_path(index) == str(tree / "images" / folder / f"{name}.jpg")
            assert dataset.label_path(index) == str(tree / "annotations" / folder / f"{name}.png")
            annotation = written[name][1]
            assert {0, 150} <= set(np.unique(annotation))
            image, label = dataset.load(index)
            assert image.shape == (12, 16, 3)
            np.testing.assert_array_equal(label, ade_reference(annotation))
            assert label.min() >= 0 and 149 in label and 255 in label  # never 0 - 1 wrapped around


def test_ade20k_meta_names_and_palette():
    meta = dataset_meta({"type": "ADE20K", "root": "nowhere"})
    assert meta.num_classes == 150 and meta.ignore_index == 255
    assert meta.class_names[:4] == ["wall", "building", "sky", "floor"] and meta.class_names[-1] == "flag"
    assert meta.class_names[7] == "bed" and len(set(meta.class_names)) == 150
    assert meta.palette[0] == [120, 120, 120] and meta.palette[149] == [92, 0, 255] and len(meta.palette) == 150


def test_ade20k_errors_are_one_line_naming_the_file(ade, tmp_path):
    root, written = ade
    tree = root / "ADEChallengeData2016"
    bad = tree / "annotations" / "validation" / "ADE_val_00000002.png"
    annotation = written["ADE_val_00000002"][1].copy()
    annotation[0, 0] = 151
    save_image(bad, annotation)
    with pytest.raises(
        DataError, match=re.escape(f"{bad}: label values 151 are not ADE20K annotation values (0..150)")
    ) as info:
        ADE20K(root, split="val").load(1)
    assert info.value.kind == BAD_VALUE
    bad.unlink()
    with pytest.raises(DataError, match=re.escape(f"{bad}: label file not found (for ADE_val_00000002.jpg)")):
        ADE20K(root, split="val")
    with pytest.raises(
        DataError,
        match=re.escape(
            f"{tmp_path / 'images' / 'training'}: folder not found (is root the ADEChallengeData2016 directory?)"
        ),
    ):
        ADE20K(tmp_path, split="train")
    with pytest.raises(PaddleFCNError, match=re.escape("ADE20K: unknown split 'test' (known: train, val)")):
        ADE20K(root, split="test")


def test_ade20k_label_map_applies_to_the_classes(ade):
    root, written = ade
    dataset = build_dataset({"type": "ADE20K", "root": str(root), "split": "val", "label_map": {149: 255, 2: 0}})
    classes = ade_reference(written["ADE_val_00000001"][1])
    np.testing.assert_array_equal(
        dataset.load_label(0), np.where(classes == 149, 255, np.where(classes == 2, 0, classes))
    )
    with pytest.raises(
        ConfigError, match=re.escape("ADE20K: label_map entry {150: 0}: label_map applies after the ADE20K table")
    ):
        dataset_meta({"type": "ADE20K", "root": str(root), "label_map": {150: 0}})


# --- COCO-Stuff 164k ----------------------------------------------------------------------------------------


def coco_reference(stuff):
    """The used ids of 0..181 numbered in order; the 11 unused ids and 255 are ignored."""
    used = [i for i in range(182) if i not in COCOSTUFF_UNUSED]
    lut = np.full(256, 255, np.int64)
    lut[used] = np.arange(len(used))
    return lut[stuff]


@pytest.fixture
def coco(tmp_path):
    return tmp_path / "coco_stuff164k", make_cocostuff(tmp_path / "coco_stuff164k", {"train": 3, "val": 2})


@pytest.mark.parametrize("label_dir", ["stuffthingmaps_trainval2017", "annotations"])
def test_cocostuff_maps_the_182_ids_to_171_classes(tmp_path, label_dir):
    root = tmp_path / "coco"
    written = make_cocostuff(root, {"train": 3, "val": 2}, label_dir=label_dir)
    names = sorted(written)
    for split, expected in (("train", names[:3]), ("val", names[3:])):
        dataset = build_dataset({"type": "COCOStuff", "root": str(root), "split": split})
        assert len(dataset) == len(expected)
        for index, name in enumerate(expected):
            assert dataset.image_path(index) == str(root / "images" / f"{split}2017" / f"{name}.jpg")
            assert dataset.label_path(index) == str(root / label_dir / f"{split}2017" / f"{name}.png")
            stuff = written[name][1]
            assert {0, 181, 255} <= set(np.unique(stuff)) and set(np.unique(stuff)) & set(COCOSTUFF_UNUSED)
            label = dataset.load_label(index)
            np.testing.assert_array_equal(label, coco_reference(stuff))
            assert label[stuff == 181].tolist() == [170] * int((stuff == 181).sum())
            assert (label[np.isin(stuff, COCOSTUFF_UNUSED)] == 255).all()


def test_cocostuff_meta():
    meta = dataset_meta({"type": "COCOStuff", "root": "nowhere"})
    assert meta.num_classes == 171 and meta.ignore_index == 255
    assert meta.class_names[0] == "person" and meta.class_names[79] == "toothbrush"
    assert meta.class_names[80] == "banner" and meta.class_names[170] == "wood"
    assert len({tuple(c) for c in meta.palette}) == 171 and [0, 0, 0] not in meta.palette


def test_cocostuff_value_outside_the_table_is_the_usual_label_error(coco):
    root, written = coco
    name = sorted(written)[0]
    bad = root / "stuffthingmaps_trainval2017" / "train2017" / f"{name}.png"
    stuff = written[name][1].copy()
    stuff[1, 1], stuff[2, 2] = 182, 200
    save_image(bad, stuff)
    with pytest.raises(
        DataError,
        match=re.escape(f"{bad}: label values 182, 200 are not COCO-Stuff stuffthingmaps values (0..181, 255)"),
    ) as info:
        COCOStuff(root, split="train").load(0)
    assert info.value.kind == BAD_VALUE


def test_cocostuff_missing_files_and_folders(coco, tmp_path):
    root, written = coco
    name = sorted(written)[-1]
    label = root / "stuffthingmaps_trainval2017" / "val2017" / f"{name}.png"
    label.unlink()
    with pytest.raises(DataError, match=re.escape(f"{label}: label file not found (for {name}.jpg)")) as info:
        COCOStuff(root, split="val")
    assert info.value.kind == MISSING
    with pytest.raises(
        DataError,
        match=re.escape(
            "folder not found (looked for stuffthingmaps_trainval2017/train2017 or annotations/train2017 in"
        ),
    ):
        COCOStuff(tmp_path, split="train")
    with pytest.raises(PaddleFCNError, match=re.escape("COCOStuff: unknown split 'test' (known: train, val)")):
        COCOStuff(root, split="test")
