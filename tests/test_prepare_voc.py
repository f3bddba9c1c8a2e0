"""tools/prepare_voc.py end to end on a tiny VOCdevkit + SBD tree (GTcls .mat files written with scipy)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import make_sbd, make_voc
from PIL import Image

from paddlefcn.data import DataError, read_label
from paddlefcn.data.datasets import VOCAug
from paddlefcn.data.prepare_voc import (
    SBD_URL,
    VOC_URL,
    MissingSourcesError,
    download_instructions,
    find_sbd,
    find_voc,
    prepare_voc,
    read_sbd_label,
)
from paddlefcn.errors import PaddleFCNError

TOOL = Path(__file__).resolve().parents[1] / "tools" / "prepare_voc.py"
VOC_TRAIN, VOC_VAL = ["2007_000001", "2007_000002"], ["2007_000003", "2007_000004"]
SBD_TRAIN, SBD_VAL = ["2007_000002", "2008_000010", "2007_000003"], ["2008_000011", "2008_000012"]


@pytest.fixture()
def sources(tmp_path):
    voc = tmp_path / "VOCdevkit" / "VOC2012"
    voc_data = make_voc(voc, {"train": VOC_TRAIN, "val": VOC_VAL, "trainval": VOC_TRAIN + VOC_VAL})
    sbd_labels = make_sbd(tmp_path / "sbd", SBD_TRAIN, SBD_VAL)
    for name in SBD_TRAIN + SBD_VAL:  # SBD images are VOC images; VOC2012 JPEGImages holds them all
        if name not in voc_data:
            os.link(
                tmp_path / "sbd" / "benchmark_RELEASE" / "dataset" / "img" / f"{name}.jpg",
                voc / "JPEGImages" / f"{name}.jpg",
            )
    return tmp_path, voc_data, sbd_labels


def _lines(path):
    return path.read_text().split()


def test_prepare_voc_end_to_end(sources):
    tmp_path, voc_data, sbd_labels = sources
    out = tmp_path / "aug"
    messages = []
    report = prepare_voc(tmp_path / "VOCdevkit", tmp_path / "sbd", out, log=messages.append)

    expected_train = sorted(set(VOC_TRAIN + SBD_TRAIN + SBD_VAL) - set(VOC_VAL))
    assert _lines(out / "ImageSets/Segmentation/train_aug.txt") == expected_train
    assert _lines(out / "ImageSets/Segmentation/val.txt") == sorted(VOC_VAL)
    assert report.counts == {"train_aug": 5, "val": 2}
    assert report.converted == 3  # SBD-only ids: 2008_000010/11/12
    for name in ("2008_000010", "2008_000011", "2008_000012"):
        label_file = out / "SegmentationClassAug" / f"{name}.png"
        assert Image.open(label_file).mode == "P"
        np.testing.assert_array_equal(read_label(label_file), sbd_labels[name])
    for name in VOC_TRAIN + VOC_VAL:  # VOC's own labels (with 255 borders) win over SBD's
        np.testing.assert_array_equal(read_label(out / "SegmentationClassAug" / f"{name}.png"), voc_data[name][1])
    assert any("10582" in m for m in messages) and any("1449" in m for m in messages)
    assert any(m.startswith("train_aug: 5 images, val: 2 images") for m in messages)

    dataset = VOCAug(out)
    assert len(dataset) == 5
    image, label = dataset[expected_train.index("2008_000010")]
    assert image.shape == (3, 12, 16)
    np.testing.assert_array_equal(label, sbd_labels["2008_000010"])


def test_prepare_voc_is_idempotent_and_resumes(sources):
    tmp_path, _, _ = sources
    out = tmp_path / "aug"
    prepare_voc(tmp_path / "VOCdevkit" / "VOC2012", tmp_path / "sbd" / "benchmark_RELEASE", out, log=lambda m: None)
    snapshot = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    again = prepare_voc(tmp_path / "VOCdevkit", tmp_path / "sbd", out, log=lambda m: None)
    assert again.converted == 0 and again.linked == 0 and again.kept == 14
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == snapshot

    (out / "SegmentationClassAug" / "2008_000011.png").unlink()  # as if interrupted
    (out / "JPEGImages" / "2008_000011.jpg").unlink()
    resumed = prepare_voc(tmp_path / "VOCdevkit", tmp_path / "sbd", out, log=lambda m: None)
    assert resumed.converted == 1 and resumed.linked == 1
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == snapshot


def test_missing_sources_explain_where_to_download(tmp_path):
    with pytest.raises(MissingSourcesError, match="not found: VOC2012 at .* and SBD at") as info:
        prepare_voc(tmp_path / "voc", tmp_path / "sbd", tmp_path / "out")
    assert VOC_URL in info.value.instructions and SBD_URL in info.value.instructions
    assert "host.robots.ox.ac.uk" in VOC_URL and "berkeley.edu" in SBD_URL
    assert str(tmp_path / "sbd" / "benchmark_RELEASE" / "dataset") in info.value.instructions
    assert str(tmp_path / "voc" / "VOCdevkit" / "VOC2012") in info.value.instructions


def test_instructions_name_only_the_missing_source(sources):
    tmp_path, _, _ = sources
    with pytest.raises(MissingSourcesError, match="not found: SBD at") as info:
        prepare_voc(tmp_path / "VOCdevkit", tmp_path / "elsewhere", tmp_path / "out")
    assert SBD_URL in info.value.instructions and VOC_URL not in info.value.instructions


def test_swapped_roots_are_named(sources):
    tmp_path, _, _ = sources
    with pytest.raises(
        PaddleFCNError, match=r"^--voc-root .*sbd holds SBD and --sbd-root .*VOCdevkit holds VOC2012: swap"
    ):
        prepare_voc(tmp_path / "sbd", tmp_path / "VOCdevkit", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_instructions_extract_next_to_a_given_archive_folder(tmp_path):
    data = tmp_path / "data"
    lines = download_instructions(data / "VOCdevkit" / "VOC2012", data / "benchmark_RELEASE").splitlines()
    assert lines[1].endswith(f"-C {data}") and lines[4].endswith(f"-C {data}")


def test_extracting_as_instructed_is_found(tmp_path):
    make_voc(tmp_path / "v" / "VOCdevkit" / "VOC2012", {"train": ["a"], "val": ["b"]})
    make_sbd(tmp_path / "s", ["a"], [])
    assert find_voc(tmp_path / "v") == tmp_path / "v" / "VOCdevkit" / "VOC2012"
    assert find_sbd(tmp_path / "s") == tmp_path / "s" / "benchmark_RELEASE" / "dataset"


def test_sbd_labels_outside_the_voc_classes_are_refused(tmp_path):
    from scipy.io import savemat

    path = tmp_path / "2008_000099.mat"
    savemat(str(path), {"GTcls": {"Segmentation": np.array([[0, 20, 255], [21, 3, 300]], dtype=np.uint16)}})
    with pytest.raises(
        DataError, match=r"2008_000099.mat: GTcls.Segmentation holds \[21, 300\], outside 0..20 and 255"
    ):
        read_sbd_label(path)


def test_missing_or_corrupt_sbd_mat(sources):
    tmp_path, _, _ = sources
    cls = tmp_path / "sbd" / "benchmark_RELEASE" / "dataset" / "cls"
    (cls / "2008_000012.mat").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"2008_000012.mat: not an SBD GTcls .mat file"):
        read_sbd_label(cls / "2008_000012.mat")
    (cls / "2008_000012.mat").unlink()
    with pytest.raises(DataError, match=r"2008_000012.mat: SBD label file not found"):
        prepare_voc(tmp_path / "VOCdevkit", tmp_path / "sbd", tmp_path / "aug", log=lambda m: None)


def test_tool_runs_and_exits_2_with_instructions_when_sources_are_missing(sources):
    tmp_path, _, _ = sources
    args = [sys.executable, str(TOOL), "--sbd-root", str(tmp_path / "sbd"), "--out", str(tmp_path / "aug")]
    done = subprocess.run(args + ["--voc-root", str(tmp_path / "VOCdevkit")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "train_aug: 5 images" in done.stdout and "warning: train_aug has 5 images" in done.stdout
    missing = subprocess.run(args + ["--voc-root", str(tmp_path / "nothing")], capture_output=True, text=True)
    assert missing.returncode == 2
    assert VOC_URL in missing.stdout
    assert missing.stderr.strip().splitlines()[-1].startswith("error: not found: VOC2012 at")
