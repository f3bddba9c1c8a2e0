"""CamVid as the SegNet tutorial distributes it: lists with another machine's prefix, splits, sequences, meta."""

import os
import re
import shutil

import numpy as np
import pytest
from data_fixtures import make_camvid

from paddlefcn import DATASETS
from paddlefcn.config import parse_yaml
from paddlefcn.data import DataError, build_dataset, dataset_meta
from paddlefcn.data.datasets import CamVid
from paddlefcn.data.datasets.camvid import CAMVID_PALETTE
from paddlefcn.data.io import MISSING
from paddlefcn.errors import PaddleFCNError

SPLITS = {
    "train": ["0001TP_006690", "0001TP_006720", "0006R0_f00930", "Seq05VD_f00000"],
    "val": ["0016E5_07959", "0016E5_07961"],
    "test": ["0001TP_008550", "Seq05VD_f02370"],
}
# The SegNet tutorial's class order and CamVid label colours, written out independently of the package.
CLASS_COLOURS = {
    "Sky": [128, 128, 128],
    "Building": [128, 0, 0],
    "Pole": [192, 192, 128],
    "Road": [128, 64, 128],
    "Pavement": [60, 40, 222],
    "Tree": [128, 128, 0],
    "SignSymbol": [192, 128, 128],
    "Fence": [64, 64, 128],
    "Car": [64, 0, 128],
    "Pedestrian": [64, 64, 0],
    "Bicyclist": [0, 128, 192],
}


@pytest.fixture
def camvid(tmp_path):
    """A CamVid tree under ``tmp_path/CamVid``; returns ``(root, {name: (image, label)})``."""
    root = tmp_path / "CamVid"
    return root, make_camvid(root, SPLITS)


def build(root, split="train", **kwargs):
    return build_dataset({"type": "CamVid", "root": str(root), "split": split, **kwargs})


@pytest.mark.parametrize(
    ("split", "names"),
    [
        ("train", SPLITS["train"]),
        ("val", SPLITS["val"]),
        ("test", SPLITS["test"]),
        ("trainval", SPLITS["train"] + SPLITS["val"]),
    ],
)
def test_every_split_reads_its_listed_files_in_order(camvid, split, names):
    root, written = camvid
    dataset = build(root, split)
    assert len(dataset) == len(names)
    for index, name in enumerate(names):
        part = ("train" if name in SPLITS["train"] else "val") if split == "trainval" else split
        assert dataset.image_path(index) == str(root / part / f"{name}.png")
        assert dataset.label_path(index) == str(root / f"{part}annot" / f"{name}.png")
        image, label = dataset.load(index)
        assert image.dtype == np.uint8 and image.shape == (24, 32, 3)
        assert label.dtype == np.int64 and label.shape == (24, 32)
        np.testing.assert_array_equal(image, written[name][0])
        np.testing.assert_array_equal(label, written[name][1])
    assert CamVid(root, split=split).samples == dataset.samples


def test_meta_names_palette_and_void(camvid):
    root, written = camvid
    dataset = build(root)
    assert dataset.num_classes == 11 and dataset.ignore_index == 11
    assert dataset.class_names == list(CLASS_COLOURS)
    assert dataset.palette == list(CLASS_COLOURS.values())
    assert [list(c) for c in CAMVID_PALETTE] == list(CLASS_COLOURS.values())
    assert any((label == 11).any() for _, label in written.values())  # the fixture has void pixels to ignore


def test_describe_needs_no_files(tmp_path):
    meta = CamVid.describe({})
    assert (meta.num_classes, meta.ignore_index) == (11, 11)
    assert meta.class_names == list(CLASS_COLOURS) and meta.palette == list(CLASS_COLOURS.values())
    assert dataset_meta({"type": "CamVid", "root": str(tmp_path / "nowhere")}) == meta
    assert not (tmp_path / "nowhere").exists()


def test_listed_paths_that_exist_are_used_as_listed(camvid, tmp_path):
    root, written = camvid
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(root / "val", elsewhere / "images")
    shutil.copytree(root / "valannot", elsewhere / "labels")
    name = SPLITS["val"][1]
    image, label = elsewhere / "images" / f"{name}.png", elsewhere / "labels" / f"{name}.png"
    (root / "val.txt").write_text(f"{image} {label}\n")
    dataset = build(root, "val")
    assert dataset.samples == [(str(image), str(label))]
    np.testing.assert_array_equal(dataset.load(0)[1], written[name][1])


@pytest.mark.parametrize(("split", "kind"), [("val", ""), ("test", "annot")])
def test_a_missing_listed_file_names_the_list_and_its_line(camvid, split, kind):
    root, _ = camvid
    name = SPLITS[split][1]
    (root / f"{split}{kind}" / f"{name}.png").unlink()
    for built in (split, "trainval") if split == "val" else (split,):
        with pytest.raises(DataError) as info:
            build(root, built)
        message = str(info.value)
        assert message.startswith(f"{root / f'{split}.txt'}: line 2: /SegNet/CamVid/{split}{kind}/{name}.png not found")
        assert str(root / f"{split}{kind}" / f"{name}.png") in message
        assert info.value.kind == MISSING and isinstance(info.value, PaddleFCNError)


def test_the_line_number_counts_blank_and_comment_lines(camvid):
    root, _ = camvid
    lines = (root / "val.txt").read_text().splitlines()
    (root / "val.txt").write_text(f"# image label\n{lines[0]}\n\n{lines[1].replace('07961', '99999')}\n")
    with pytest.raises(DataError, match=re.escape(f"{root / 'val.txt'}: line 4: ")):
        build(root, "val")


def test_a_missing_split_list_names_it_and_the_lists_there(camvid):
    root, _ = camvid
    (root / "val.txt").unlink()
    missing = f"{root / 'val.txt'}: split list not found"
    with pytest.raises(DataError, match=re.escape(f"{missing} (lists there: test, train)")):
        build(root, "val")
    with pytest.raises(DataError, match=re.escape(missing)) as info:
        build(root, "trainval")
    assert info.value.kind == MISSING
    with pytest.raises(DataError, match=re.escape(f"is {root / 'nowhere'} the CamVid directory?")):
        build(root / "nowhere")
    with pytest.raises(PaddleFCNError, match="CamVid: unknown split 'training' .known: train, val, test, trainval."):
        build(root, "training")


def test_sequences_keep_the_frames_of_those_sequences_in_list_order(camvid):
    root, _ = camvid

    def names(dataset):
        return [os.path.basename(image) for image, _ in dataset.samples]

    assert names(build(root, sequences=["0006R0"])) == ["0006R0_f00930.png"]
    assert names(build(root, sequences=["Seq05VD", "0001TP"])) == [
        "0001TP_006690.png",
        "0001TP_006720.png",
        "Seq05VD_f00000.png",
    ]
    assert names(build(root, "trainval", sequences=["0016E5"])) == ["0016E5_07959.png", "0016E5_07961.png"]
    np.testing.assert_array_equal(build(root, sequences=["0006R0"]).load(0)[1], build(root).load(2)[1])


@pytest.mark.parametrize("sequence", ["0016E5", "0001T", "0001TP_006690"])
def test_a_sequence_without_frames_is_named(camvid, sequence):
    root, _ = camvid
    known = "(sequences: 0001TP, 0006R0, Seq05VD)"
    with pytest.raises(DataError, match=re.escape(f"no frames of sequence {sequence} {known}")) as err:
        build(root, sequences=["0006R0", sequence])
    assert str(err.value).startswith(str(root / "train.txt"))


@pytest.mark.parametrize("text", ["0006R0", "[6]", "[]", "[0016E5]", "0016E5", "{0006R0: 1}"])
def test_sequences_must_be_a_list_of_names(camvid, text):
    root, _ = camvid
    sequences = parse_yaml(text, "test")  # as a config gives it: an unquoted 0016E5 is the number 1.6e6
    with pytest.raises(PaddleFCNError, match=r"CamVid: sequences must be a list of quoted sequence names"):
        build(root, sequences=sequences)


def test_padding_fills_labels_with_void(camvid):
    root, written = camvid
    crop = {"type": "RandomPaddingCrop", "crop_size": [40, 48], "pad_value": 0}
    dataset = build(root, transforms=[crop])
    image, label = dataset[1]
    assert label.shape == (40, 48) and image.shape == (3, 40, 48)
    np.testing.assert_array_equal(label[:24, :32], written[SPLITS["train"][1]][1])
    assert (label[24:] == 11).all() and (label[:, 32:] == 11).all()
    with pytest.raises(PaddleFCNError, match="ignore_index 255 differs from the dataset's ignore_index 11"):
        build(root, transforms=[{**crop, "ignore_index": 255}])


def test_registered(camvid):
    root, _ = camvid
    assert isinstance(DATASETS.build({"type": "CamVid", "root": str(root), "split": "test"}), CamVid)
