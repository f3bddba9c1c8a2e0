"""Datasets, readers and label semantics on fixtures written by the tests."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from data_fixtures import make_voc, save_image, save_palette_png
from PIL import Image

import paddlefcn
import paddlefcn.data
from paddlefcn import DATASETS
from paddlefcn.data import DataError, build_dataset, dataset_meta, read_image, read_label, voc_palette
from paddlefcn.data.datasets import VOC, FileList, LabelsAtFileSize, SegDataset, SyntheticShapes, VOCAug
from paddlefcn.data.datasets.synthetic import CLASS_NAMES, render_shapes
from paddlefcn.data.io import BAD_VALUE, CORRUPT, EMPTY_LIST, MISSING, SIZE_MISMATCH
from paddlefcn.errors import PaddleFCNError

NORMALIZE = [{"type": "Normalize"}]


# --- VOC / VOCAug -------------------------------------------------------------------------------------


def test_voc_reads_images_and_palette_labels(tmp_path):
    written = make_voc(tmp_path, {"train": ["a", "b", "c"], "val": ["d"]})
    dataset = paddlefcn.build_dataset({"type": "VOC", "root": str(tmp_path), "split": "train", "transforms": []})
    assert len(dataset) == 3 and dataset.num_classes == 21 and dataset.ignore_index == 255
    assert dataset.class_names[0] == "background" and dataset.class_names[15] == "person"
    assert dataset.palette[1] == [128, 0, 0] and len(dataset.palette) == 21
    image, label = dataset[1]
    assert image.shape == (3, 12, 16) and image.dtype == np.float32
    assert label.shape == (12, 16) and label.dtype == np.int64
    np.testing.assert_array_equal(label, written["b"][1])
    assert np.abs(image.transpose(1, 2, 0) - written["b"][0]).mean() < 4  # JPEG at quality 100
    assert dataset.image_path(1).endswith(os.path.join("JPEGImages", "b.jpg"))
    assert dataset.label_path(1).endswith(os.path.join("SegmentationClass", "b.png"))


def test_voc_unknown_split_lists_known_ones(tmp_path):
    make_voc(tmp_path, {"train": ["a"], "val": ["b"]})
    with pytest.raises(DataError, match=r"test.txt: split list not found \(lists there: train, val\)"):
        VOC(tmp_path, split="test")


def test_vocaug_reads_segmentation_class_aug(tmp_path):
    written = make_voc(tmp_path, {"train_aug": ["x", "y"], "val": ["z"]}, label_dir="SegmentationClassAug")
    dataset = DATASETS.build({"type": "VOCAug", "root": str(tmp_path)})
    assert len(dataset) == 2
    np.testing.assert_array_equal(dataset[0][1], written["x"][1])
    assert len(VOCAug(tmp_path, split="val")) == 1


# --- FileList -----------------------------------------------------------------------------------------


def test_filelist_with_colour_labels_grey_and_rgba_images(tmp_path):
    palette = [[0, 0, 0], [255, 0, 0], [0, 255, 0]]
    indices = np.array([[0, 1, 2, 255], [2, 1, 0, 0]])
    colours = np.array(palette + [[224, 224, 192]], dtype=np.uint8)[np.where(indices == 255, 3, indices)]
    Image.fromarray(colours).save(tmp_path / "l1.png")
    save_image(tmp_path / "i1.png", np.full((2, 4), 77, np.uint8))
    save_image(tmp_path / "i2.png", np.dstack([np.full((2, 4, 3), 9, np.uint8), np.zeros((2, 4), np.uint8)]))
    (tmp_path / "list.txt").write_text("# image label\ni1.png l1.png\n\ni2.png l1.png\n")
    dataset = paddlefcn.build_dataset(
        {"type": "FileList", "root": str(tmp_path), "file_list": "list.txt", "num_classes": 3, "palette": palette}
    )
    assert len(dataset) == 2 and dataset.class_names == ["class_0", "class_1", "class_2"]
    image, label = dataset[0]
    np.testing.assert_array_equal(label, indices)
    np.testing.assert_array_equal(image, np.full((3, 2, 4), 77, np.float32))
    np.testing.assert_array_equal(dataset[1][0], np.full((3, 2, 4), 9, np.float32))


def test_filelist_16bit_labels_and_absolute_list_path(tmp_path):
    label = np.array([[0, 4, 255], [3, 2, 1]], dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "l.png"), label)
    save_image(tmp_path / "i.png", np.zeros((2, 3, 3), np.uint8))
    (tmp_path / "list.txt").write_text("i.png l.png\n")
    dataset = FileList(tmp_path, tmp_path / "list.txt", num_classes=5, class_names=list("abcde"))
    assert Image.open(tmp_path / "l.png").mode.startswith("I")
    np.testing.assert_array_equal(dataset[0][1], label.astype(np.int64))
    assert dataset.class_names == list("abcde")


# --- Readers ------------------------------------------------------------------------------------------


def test_read_image_formats(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (3, 4, 3), dtype=np.uint8)
    save_image(tmp_path / "rgb.png", rgb)
    np.testing.assert_array_equal(read_image(tmp_path / "rgb.png"), rgb)
    save_image(tmp_path / "rgba.png", np.dstack([rgb, np.full((3, 4), 10, np.uint8)]))
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png"), rgb)
    grey = rgb[:, :, 0]
    save_image(tmp_path / "grey.png", grey)
    np.testing.assert_array_equal(read_image(tmp_path / "grey.png"), np.dstack([grey] * 3))
    deep = rgb.astype(np.uint16) * 257
    save_image(tmp_path / "deep.png", deep)
    np.testing.assert_array_equal(read_image(tmp_path / "deep.png"), rgb)


def test_read_label_palette_png_gives_indices_not_colours(tmp_path):
    label = np.array([[0, 1, 20], [255, 7, 0]], dtype=np.uint8)
    save_palette_png(tmp_path / "p.png", label)
    np.testing.assert_array_equal(read_label(tmp_path / "p.png"), label)


def test_read_label_unknown_colour(tmp_path):
    Image.fromarray(np.array([[[1, 2, 3]]], dtype=np.uint8)).save(tmp_path / "c.png")
    with pytest.raises(DataError, match=r"c.png: label colour \(1, 2, 3\) is not in the dataset palette") as info:
        read_label(tmp_path / "c.png", palette=[[0, 0, 0]])
    assert info.value.kind == BAD_VALUE
    with pytest.raises(DataError, match="no palette"):
        read_label(tmp_path / "c.png")


def test_voc_palette_first_colours():
    assert voc_palette(4) == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]]
    assert voc_palette(256)[255] == [224, 224, 192]


def test_padding_crop_fills_labels_with_the_datasets_ignore_index(tmp_path):
    save_image(tmp_path / "i.png", np.zeros((4, 5, 3), np.uint8))
    save_palette_png(tmp_path / "l.png", np.ones((4, 5), np.uint8))
    (tmp_path / "list.txt").write_text("i.png l.png\n")
    crop = {"type": "RandomPaddingCrop", "crop_size": [8, 8]}
    cfg = {"type": "FileList", "root": str(tmp_path), "file_list": "list.txt", "num_classes": 5, "ignore_index": 100}
    _, label = build_dataset({**cfg, "transforms": [crop]})[0]
    assert label.shape == (8, 8) and sorted(np.unique(label)) == [1, 100]
    with pytest.raises(
        PaddleFCNError, match="RandomPaddingCrop: ignore_index 255 differs from the dataset's ignore_index 100"
    ):
        build_dataset({**cfg, "transforms": [{**crop, "ignore_index": 255}]})


# --- Bad inputs: one line naming the file and the problem ----------------------------------------------


def _one_pair(tmp_path, label=None, image=None):
    save_image(tmp_path / "i.png", np.zeros((4, 5, 3), np.uint8) if image is None else image)
    save_palette_png(tmp_path / "l.png", np.zeros((4, 5), np.uint8) if label is None else label)
    (tmp_path / "list.txt").write_text("i.png l.png\n")
    return FileList(tmp_path, "list.txt", num_classes=3)


@pytest.mark.parametrize(
    "break_it, kind, pattern",
    [
        (lambda p: (p / "i.png").unlink(), MISSING, r"i.png: image file not found"),
        (lambda p: (p / "l.png").unlink(), MISSING, r"l.png: label file not found"),
        (lambda p: (p / "i.png").write_bytes(b"not an image"), CORRUPT, r"i.png: cannot decode image"),
        (lambda p: (p / "l.png").write_bytes(b"\x89PNG broken"), CORRUPT, r"l.png: cannot decode label image"),
        (
            lambda p: save_palette_png(p / "l.png", np.zeros((4, 6), np.uint8)),
            SIZE_MISMATCH,
            r"l.png: label is 6x4 \(WxH\) but its image i.png is 5x4",
        ),
        (
            lambda p: save_palette_png(p / "l.png", np.array([[0, 1, 3, 7, 255]] * 4, np.uint8)),
            BAD_VALUE,
            r"l.png: label values 3, 7 are outside 0..2 and not ignore \(255\)",
        ),
    ],
)
def test_bad_sample_raises_one_line_naming_the_file(tmp_path, break_it, kind, pattern):
    dataset = _one_pair(tmp_path)
    break_it(tmp_path)
    with pytest.raises(DataError, match=pattern) as info:
        dataset[0]
    assert info.value.kind == kind
    assert "\n" not in str(info.value) and isinstance(info.value, PaddleFCNError)


def test_val_labels_keep_their_file_size_while_a_resize_shrinks_the_image(tmp_path):
    transforms = [{"type": "Resize", "size": [20, 30]}, {"type": "Normalize"}]
    dataset = build_dataset(
        {"type": "SyntheticShapes", "root": str(tmp_path), "num_images": 2, "size": 40, "transforms": transforms}
    )
    scored = LabelsAtFileSize(dataset)
    assert len(scored) == 2
    image, label = scored[1]
    raw_image, raw_label = dataset.load(1)
    np.testing.assert_array_equal(image, dataset.transforms(raw_image, None)[0])
    assert image.shape == (3, 20, 30) and label.dtype == np.int64
    np.testing.assert_array_equal(label, raw_label)  # 40x40, untouched by the Resize
    assert dataset[1][1].shape == (20, 30)  # the dataset itself still resizes labels (training)


def test_val_labels_refuse_augmentations(tmp_path):
    transforms = [{"type": "RandomHorizontalFlip"}, {"type": "Normalize"}]
    dataset = build_dataset(
        {"type": "SyntheticShapes", "root": str(tmp_path), "num_images": 1, "size": 40, "transforms": transforms}
    )
    with pytest.raises(PaddleFCNError, match=r"^data\.val\.transforms: RandomHorizontalFlip is an augmentation"):
        LabelsAtFileSize(dataset)


def test_empty_and_missing_lists(tmp_path):
    (tmp_path / "list.txt").write_text("# nothing\n\n")
    with pytest.raises(DataError, match=r"list.txt: the list of samples is empty") as info:
        FileList(tmp_path, "list.txt", num_classes=3)
    assert info.value.kind == EMPTY_LIST
    with pytest.raises(DataError, match=r"nope.txt: list file not found"):
        FileList(tmp_path, "nope.txt", num_classes=3)
    (tmp_path / "list.txt").write_text("a.png\n")
    with pytest.raises(DataError, match=r"list.txt: line 1 has 1 fields, expected 2"):
        FileList(tmp_path, "list.txt", num_classes=3)


# --- Meta from config alone -----------------------------------------------------------------------------


def test_dataset_meta_needs_no_files(tmp_path):
    voc = dataset_meta({"type": "VOCAug", "root": str(tmp_path / "nowhere")})
    assert voc.num_classes == 21 and voc.class_names[-1] == "tvmonitor" and voc.ignore_index == 255
    own = dataset_meta({"type": "FileList", "root": "x", "file_list": "y", "num_classes": 3})
    assert own.class_names == ["class_0", "class_1", "class_2"] and own.palette == voc_palette(3)
    named = dataset_meta(
        {"type": "FileList", "num_classes": 2, "class_names": ["bg", "fg"], "palette": [[1, 2, 3]] * 2}
    )
    assert named.class_names == ["bg", "fg"] and named.palette == [[1, 2, 3], [1, 2, 3]]
    synthetic = dataset_meta({"type": "SyntheticShapes", "root": str(tmp_path / "nowhere")})
    assert synthetic.class_names == list(CLASS_NAMES) and len(synthetic.palette) == synthetic.num_classes
    assert not (tmp_path / "nowhere").exists()


def test_dataset_meta_errors():
    with pytest.raises(PaddleFCNError, match="3 names for 2 classes"):
        dataset_meta({"type": "FileList", "num_classes": 2, "class_names": ["a", "b", "c"]})
    with pytest.raises(PaddleFCNError, match="palette must be 2"):
        dataset_meta({"type": "FileList", "num_classes": 2, "palette": [[0, 0, 0]]})
    with pytest.raises(PaddleFCNError, match="missing required key 'num_classes'"):
        dataset_meta({"type": "FileList"})
    with pytest.raises(PaddleFCNError, match="did you mean 'VOC'"):
        dataset_meta({"type": "VOCC"})


def test_a_dataset_declares_its_meta_through_the_segdataset_base(monkeypatch):
    class Undescribed(SegDataset):
        pass

    class NotADataset:
        @staticmethod
        def describe(cfg):
            return dataset_meta({"type": "VOC"})

    monkeypatch.setitem(DATASETS._entries, "Undescribed", Undescribed)
    monkeypatch.setitem(DATASETS._entries, "NotADataset", NotADataset)
    with pytest.raises(PaddleFCNError, match=r"^dataset 'Undescribed' does not describe its classes \(no describe"):
        dataset_meta({"type": "Undescribed"})
    with pytest.raises(PaddleFCNError, match="dataset 'NotADataset' is .*, not a subclass of .*SegDataset$"):
        dataset_meta({"type": "NotADataset"})
    shipped = [DATASETS.get(name) for name in ("VOC", "VOCAug", "CamVid", "FileList", "SyntheticShapes")]
    assert all(issubclass(cls, SegDataset) and not cls.__abstractmethods__ for cls in shipped)


# --- SyntheticShapes ------------------------------------------------------------------------------------


def test_render_shapes_is_deterministic_per_seed():
    image_a, label_a = render_shapes(np.random.default_rng(3), 64)
    image_b, label_b = render_shapes(np.random.default_rng(3), 64)
    image_c, label_c = render_shapes(np.random.default_rng(4), 64)
    np.testing.assert_array_equal(image_a, image_b)
    np.testing.assert_array_equal(label_a, label_b)
    assert not np.array_equal(image_a, image_c) and not np.array_equal(label_a, label_c)
    assert image_a.shape == (64, 64, 3) and image_a.dtype == np.uint8
    shapes = (label_a > 0) & (label_a < len(CLASS_NAMES))
    assert set(np.unique(label_a)) <= set(range(len(CLASS_NAMES))) | {255} and shapes.any()


def test_render_shapes_marks_only_mixed_edge_pixels_void():
    image, label = render_shapes(np.random.default_rng(11), 96)
    void = label == 255
    assert 0 < void.mean() < 0.1
    neighbours_differ = np.zeros_like(void)  # a void pixel sits on an outline: its 4-neighbours disagree
    padded = np.pad(label, 1, mode="edge")
    for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):
        neighbours_differ |= padded[dy : dy + 96, dx : dx + 96] != label
    assert neighbours_differ[void].all()


def _synthetic(root, **kwargs):
    cfg = {"type": "SyntheticShapes", "root": str(root), "num_images": 4, "size": 48, "transforms": []}
    return paddlefcn.build_dataset({**cfg, **kwargs})


def _arrays(dataset):
    return [dataset.load(i) for i in range(len(dataset))]


def test_synthetic_writes_voc_layout_and_is_deterministic(tmp_path):
    first = _synthetic(tmp_path / "a", seed=7)
    assert len(first) == 4 and first.num_classes == len(CLASS_NAMES)
    assert Path(first.root).parent == tmp_path / "a"
    as_voc = VOC(first.root, split="train")  # the real VOC loader reads the same files
    for (image, label), (voc_image, voc_label) in zip(_arrays(first), _arrays(as_voc)):
        np.testing.assert_array_equal(image, voc_image)
        np.testing.assert_array_equal(label, voc_label)
    assert Image.open(first.label_path(0)).mode == "P"
    same = _arrays(_synthetic(tmp_path / "b", seed=7))
    other = _arrays(_synthetic(tmp_path / "c", seed=8))
    val = _arrays(_synthetic(tmp_path / "a", seed=7, split="val"))
    for (image, label), (same_image, same_label) in zip(_arrays(first), same):
        np.testing.assert_array_equal(image, same_image)
        np.testing.assert_array_equal(label, same_label)
    assert not any(np.array_equal(a[1], b[1]) for a, b in zip(_arrays(first), other))
    assert not any(np.array_equal(a[1], b[1]) for a, b in zip(_arrays(first), val))
    classes = np.unique(np.concatenate([label.ravel() for _, label in _arrays(first) + val + other]))
    assert len(classes) >= 5


def test_synthetic_reuses_matching_files_and_keeps_other_parameter_sets(tmp_path):
    first = _synthetic(tmp_path, seed=1)
    assert json.loads((Path(first.root) / "synthetic.json").read_text())["seed"] == 1
    stamp = os.stat(first.image_path(0)).st_mtime_ns
    assert _synthetic(tmp_path, seed=1).root == first.root
    assert os.stat(first.image_path(0)).st_mtime_ns == stamp
    before = _arrays(first)
    # Another parameter set in the same root gets its own tree; the first one's files are left as they were,
    # so a run still reading them (e.g. another process) is not fed the new images.
    other = _synthetic(tmp_path, seed=2, num_images=3)
    assert len(other) == 3 and other.root != first.root
    assert os.stat(first.image_path(0)).st_mtime_ns == stamp
    for (image, label), (image_before, label_before) in zip(_arrays(first), before):
        np.testing.assert_array_equal(image, image_before)
        np.testing.assert_array_equal(label, label_before)
    np.testing.assert_array_equal(other.load(0)[1], _synthetic(tmp_path / "fresh", seed=2).load(0)[1])
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == sorted(
        ["fresh", Path(first.root).name, Path(other.root).name]
    )


def test_synthetic_rejects_bad_parameters(tmp_path):
    with pytest.raises(PaddleFCNError, match="size must be an integer >= 32"):
        SyntheticShapes(tmp_path, size=8)


# --- Shipped configs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["_base_/synthetic.yml", "_base_/voc12.yml", "_base_/voc12aug.yml", "fcn8s_vgg16.yml"])
def test_shipped_data_configs_agree_with_the_model(name):
    cfg = paddlefcn.load_config(Path(__file__).resolve().parents[1] / "configs" / name)
    for split in ("train", "val"):
        assert dataset_meta(cfg["data"][split]).num_classes == cfg["model"]["num_classes"]
        paddlefcn.data.build_transforms(cfg["data"][split]["transforms"])
    assert cfg["data"]["val"]["transforms"] == [{"type": "Normalize"}]


def test_synthetic_generation_is_safe_when_processes_start_together(tmp_path):
    code = (
        "import sys; from paddlefcn.data.datasets import SyntheticShapes; "
        "SyntheticShapes(sys.argv[1], num_images=6, size=32, seed=3)"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "shared")]) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    shared_set = SyntheticShapes(tmp_path / "shared", num_images=6, size=32, seed=3)
    shared = _arrays(shared_set)
    alone = _arrays(SyntheticShapes(tmp_path / "alone", num_images=6, size=32, seed=3))
    for (image, label), (image_alone, label_alone) in zip(shared, alone):
        np.testing.assert_array_equal(image, image_alone)
        np.testing.assert_array_equal(label, label_alone)
    assert not list((tmp_path / "shared").rglob("*.tmp"))
    assert [p.name for p in (tmp_path / "shared").iterdir() if p.is_dir()] == [Path(shared_set.root).name]
