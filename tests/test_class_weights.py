"""Class pixel statistics and the median-frequency / inverse-log loss weights, against numpy written here."""

import re

import numpy as np
import pytest
import yaml
from data_fixtures import make_camvid, save_image
from tool_helpers import run_in_process

from paddlefcn.data import DataError, build_dataset
from paddlefcn.data.class_weights import LabelStats, class_weights, inverse_log, label_stats, median_frequency
from paddlefcn.data.datasets.camvid import CAMVID_CLASSES
from paddlefcn.data.io import BAD_VALUE
from paddlefcn.errors import PaddleFCNError

VOID = 11
# Each fixture label holds 6 of the 11 classes (a different 6 each), so freq(c) has a different denominator per class.
TRAIN = ["0001TP_006690", "0001TP_006720", "0006R0_f00930", "Seq05VD_f00000", "Seq05VD_f00030"]


def expected_median_frequency(labels):
    """freq(c) = pixels of c / non-void pixels of the labels holding c; w(c) = median(freq) / freq(c)."""
    counts = np.array([sum(int((lab == c).sum()) for lab in labels) for c in range(11)], float)
    holding = np.array([sum(int((lab != VOID).sum()) for lab in labels if (lab == c).any()) for c in range(11)], float)
    freq = counts / holding
    return np.median(freq) / freq


def expected_inverse_log(labels):
    """w(c) = 1 / ln(1.02 + p(c)), p(c) = pixels of c / all non-void pixels."""
    counts = np.array([sum(int((lab == c).sum()) for lab in labels) for c in range(11)], float)
    scored = sum(int((lab != VOID).sum()) for lab in labels)
    return 1.0 / np.log(1.02 + counts / scored)


@pytest.fixture
def camvid(tmp_path):
    """A CamVid train split of 5 labels; returns ``(root, the labels in list order)``."""
    root = tmp_path / "CamVid"
    written = make_camvid(root, {"train": TRAIN, "val": ["0016E5_07959"]}, size=(24, 32), seed=3)
    labels = [written[name][1].astype(np.int64) for name in TRAIN]
    subsets = {tuple(np.unique(label[label != VOID])) for label in labels}
    assert len(subsets) == len(labels) and all(len(s) < 11 for s in subsets)  # the fixture is what the test needs
    assert all((label == VOID).any() for label in labels)
    return root, labels


def train_set(root):
    return build_dataset({"type": "CamVid", "root": str(root), "split": "train"})


def test_label_stats_counts_pixels_per_class_and_per_holding_image(camvid):
    root, labels = camvid
    calls = []
    stats = label_stats(train_set(root), workers=2, progress=lambda done, total: calls.append((done, total)))
    assert stats.images == 5
    assert stats.ignored_pixels == sum(int((lab == VOID).sum()) for lab in labels)
    np.testing.assert_array_equal(stats.pixel_counts, [sum(int((lab == c).sum()) for lab in labels) for c in range(11)])
    holding = [sum(int((lab != VOID).sum()) for lab in labels if (lab == c).any()) for c in range(11)]
    np.testing.assert_array_equal(stats.image_pixels, holding)
    assert stats.pixel_counts.sum() + stats.ignored_pixels == 5 * 24 * 32
    assert calls == [(i, 5) for i in range(1, 6)]


def test_median_frequency_and_inverse_log_match_numpy(camvid):
    root, labels = camvid
    stats = label_stats(train_set(root))
    np.testing.assert_allclose(median_frequency(stats), expected_median_frequency(labels), rtol=1e-12)
    np.testing.assert_allclose(inverse_log(stats), expected_inverse_log(labels), rtol=1e-12)
    # The per-image denominator matters here: dividing by all scored pixels would give other weights.
    counts = stats.pixel_counts.astype(float)
    global_freq = counts / counts.sum()
    assert not np.allclose(median_frequency(stats), np.median(global_freq) / global_freq, rtol=1e-3)
    for method, expected in (("median_frequency", expected_median_frequency), ("inverse_log", expected_inverse_log)):
        weights = class_weights(method, stats, CAMVID_CLASSES)
        assert isinstance(weights, list) and all(type(w) is float for w in weights)
        np.testing.assert_allclose(weights, expected(labels), atol=5e-7)
        assert weights == [round(w, 6) for w in weights]


def test_void_pixels_count_nowhere():
    label = np.array([[0, 0, 1, 11], [11, 11, 11, 11]])
    stats = LabelStats.of_label(label, 3, 11)
    assert stats.pixel_counts.tolist() == [2, 1, 0] and stats.image_pixels.tolist() == [3, 3, 0]
    assert (stats.ignored_pixels, stats.images) == (5, 1)
    other = LabelStats.of_label(np.array([[2, 2, 0, 11]]), 3, 11)
    stats += other
    assert stats.pixel_counts.tolist() == [3, 1, 2] and stats.image_pixels.tolist() == [6, 3, 3]
    assert (stats.ignored_pixels, stats.images) == (6, 2)
    # freq = [3/6, 1/3, 2/3]: median 1/2; p = [3/6, 1/6, 2/6]
    np.testing.assert_allclose(median_frequency(stats), [1.0, 1.5, 0.75])
    np.testing.assert_allclose(inverse_log(stats), 1 / np.log(1.02 + np.array([3, 1, 2]) / 6))


def test_a_class_in_no_label_is_named(camvid):
    root, _ = camvid
    (root / "train.txt").write_text((root / "train.txt").read_text().splitlines()[0] + "\n")  # classes 0-5 only
    stats = label_stats(train_set(root))
    assert np.isnan(median_frequency(stats)[6:]).all() and np.isfinite(median_frequency(stats)[:6]).all()
    assert np.isnan(inverse_log(stats)[6:]).all()
    absent = "SignSymbol, Fence, Car, Pedestrian, Bicyclist never occur"
    for method in ("median_frequency", "inverse_log"):
        with pytest.raises(PaddleFCNError, match=re.escape(f"loss.weight: {method} needs every class") + ".*" + absent):
            class_weights(method, stats, CAMVID_CLASSES)


def test_a_label_value_out_of_range_names_the_file(camvid):
    root, labels = camvid
    bad = labels[2].astype(np.uint8)
    bad[0, 0] = 12
    save_image(root / "trainannot" / f"{TRAIN[2]}.png", bad)
    with pytest.raises(DataError, match=re.escape(f"{TRAIN[2]}.png: label values 12 are outside 0..10")) as info:
        label_stats(train_set(root))
    assert info.value.kind == BAD_VALUE


def _weight_rows(text):
    """``{class: (pixels, median_frequency, inverse_log)}`` from the train report of check_data."""
    rows = {}
    for line in text.split("val: CamVid")[0].splitlines():
        fields = line.split()
        if len(fields) in (5, 6) and fields[0] in CAMVID_CLASSES and fields[1].endswith("%"):
            rows[fields[0]] = (int(fields[2]), fields[3], fields[4])
    return rows


def test_check_data_prints_both_weightings(camvid, tmp_path, capsys):
    root, labels = camvid
    data = {split: {"type": "CamVid", "root": str(root), "split": split} for split in ("train", "val")}
    cfg = {"model": {"num_classes": 11}, "data": data}
    (tmp_path / "camvid.yml").write_text(yaml.safe_dump(cfg))
    assert run_in_process("check_data", "-c", tmp_path / "camvid.yml") == 0
    out = capsys.readouterr().out
    assert "train: CamVid, 5 samples" in out and "data OK" in out
    header = next(line for line in out.splitlines() if line.split()[:2] == ["class", "share"])
    assert header.split() == ["class", "share", "pixels", "median_frequency", "inverse_log"]
    rows = _weight_rows(out)
    assert list(rows) == list(CAMVID_CLASSES)
    mf, il = expected_median_frequency(labels), expected_inverse_log(labels)
    for index, name in enumerate(CAMVID_CLASSES):
        pixels, median_text, log_text = rows[name]
        assert pixels == sum(int((lab == index).sum()) for lab in labels)
        assert (median_text, log_text) == (f"{mf[index]:.4f}", f"{il[index]:.4f}"), name


def test_check_data_shows_a_dash_for_a_class_never_seen(camvid, tmp_path, capsys):
    root, _ = camvid
    (root / "train.txt").write_text((root / "train.txt").read_text().splitlines()[0] + "\n")  # classes 0-5 only
    cfg = {"data": {"train": {"type": "CamVid", "root": str(root)}}}
    (tmp_path / "camvid.yml").write_text(yaml.safe_dump(cfg))
    assert run_in_process("check_data", "-c", tmp_path / "camvid.yml", "--splits", "train") == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert rows["Car"][3:] == ["-", "-", "(never", "seen)"] and rows["Sky"][3] != "-"
