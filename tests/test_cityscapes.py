"""Cityscapes read as downloaded: labelIds mapped to the 19 train ids by the official table, labelTrainIds preferred."""

import re
import shutil

import numpy as np
import pytest
from data_fixtures import CITYSCAPES_IDS, make_cityscapes, save_image

from paddlefcn import DATASETS
from paddlefcn.data import DataError, build_dataset, dataset_meta
from paddlefcn.data.datasets import Cityscapes
from paddlefcn.data.io import BAD_VALUE, MISSING
from paddlefcn.errors import ConfigError, PaddleFCNError

SPLITS = {"train": {"aachen": 2, "bochum": 1}, "val": {"frankfurt": 2}, "test": {"berlin": 1}}
# The official table (cityscapesscripts/helpers/labels.py), written out here: labelId -> train id, name, colour.
OFFICIAL = {
    7: (0, "road", (128, 64, 128)),
    8: (1, "sidewalk", (244, 35, 232)),
    11: (2, "building", (70, 70, 70)),
    12: (3, "wall", (102, 102, 156)),
    13: (4, "fence", (190, 153, 153)),
    17: (5, "pole", (153, 153, 153)),
    19: (6, "traffic light", (250, 170, 30)),
    20: (7, "traffic sign", (220, 220, 0)),
    21: (8, "vegetation", (107, 142, 35)),
    22: (9, "terrain", (152, 251, 152)),
    23: (10, "sky", (70, 130, 180)),
    24: (11, "person", (220, 20, 60)),
    25: (12, "rider", (255, 0, 0)),
    26: (13, "car", (0, 0, 142)),
    27: (14, "truck", (0, 0, 70)),
    28: (15, "bus", (0, 60, 100)),
    31: (16, "train", (0, 80, 100)),
    32: (17, "motorcycle", (0, 0, 230)),
    33: (18, "bicycle", (119, 11, 32)),
}


def reference_train_ids(label_ids):
    """NumPy reference: the train id of each labelId, 255 for every other id and for -1."""
    lut = np.full(34, 255, np.int64)
    for label_id, (train_id, _, _) in OFFICIAL.items():
        lut[label_id] = train_id
    return np.where(label_ids < 0, 255, lut[label_ids.clip(0)])


@pytest.fixture
def cityscapes(tmp_path):
    root = tmp_path / "cityscapes"
    return root, make_cityscapes(root, SPLITS)


def stems(split_cities):
    return [f"{city}_000000_{19 * (n + 1):06d}" for city, count in sorted(split_cities.items()) for n in range(count)]


@pytest.mark.parametrize("split", ["train", "val", "test", "trainval"])
def test_every_split_pairs_images_with_labelids_and_maps_them_to_train_ids(cityscapes, split):
    root, written = cityscapes
    parts = ["train", "val"] if split == "trainval" else [split]
    expected = [(part, stem) for part in parts for stem in stems(SPLITS[part])]
    dataset = build_dataset({"type": "Cityscapes", "root": str(root), "split": split})
    assert len(dataset) == len(expected)
    for index, (part, stem) in enumerate(expected):
        city = stem.split("_")[0]
        assert dataset.image_path(index) == str(root / "leftImg8bit" / part / city / f"{stem}_leftImg8bit.png")
        assert dataset.label_path(index) == str(root / "gtFine" / part / city / f"{stem}_gtFine_labelIds.png")
        image, label = dataset.load(index)
        np.testing.assert_array_equal(image, written[stem][0])
        label_ids = written[stem][1]
        assert set(np.unique(label_ids)) == set(CITYSCAPES_IDS)  # every id 0-33 and -1 is exercised
        np.testing.assert_array_equal(label, reference_train_ids(label_ids))
        assert label.dtype == np.int64


def test_the_mapping_covers_minus_one_in_any_width():
    from paddlefcn.data.datasets.cityscapes import LABEL_IDS
    from paddlefcn.data.encoding import LabelLookup

    ids = np.array([CITYSCAPES_IDS])  # signed, as a 16/32-bit reader could give -1
    np.testing.assert_array_equal(LabelLookup(LABEL_IDS)(ids, "x.png"), reference_train_ids(ids))
    stored = (ids & 255).astype(np.uint8)  # 8 bits store -1 as 255
    np.testing.assert_array_equal(LabelLookup(LABEL_IDS)(stored, "x.png"), reference_train_ids(ids))


def test_names_colours_and_ignore_value_are_the_official_ones():
    meta = dataset_meta({"type": "Cityscapes", "root": "nowhere"})
    assert meta.num_classes == 19 and meta.ignore_index == 255
    by_train_id = sorted(OFFICIAL.values())
    assert meta.class_names == [name for _, name, _ in by_train_id]
    assert meta.palette == [list(colour) for _, _, colour in by_train_id]


def test_a_labeltrainids_file_beside_the_labelids_is_read_instead(tmp_path):
    root = tmp_path / "cityscapes"
    written = make_cityscapes(root, {"train": {"aachen": 2}}, train_ids=("aachen_000000_000019",))
    dataset = Cityscapes(root, split="train")
    first = root / "gtFine" / "train" / "aachen" / "aachen_000000_000019_gtFine_labelTrainIds.png"
    assert dataset.label_path(0) == str(first)
    yy, xx = np.mgrid[:16, :32]
    stored = (yy + xx) % 19
    stored[0] = 255
    np.testing.assert_array_equal(dataset.load_label(0), stored)  # as stored, not looked up as labelIds
    assert not np.array_equal(stored, reference_train_ids(written["aachen_000000_000019"][1]))
    assert dataset.label_path(1).endswith("aachen_000000_000038_gtFine_labelIds.png")
    np.testing.assert_array_equal(dataset.load_label(1), reference_train_ids(written["aachen_000000_000038"][1]))
    # A train id out of range in a labelTrainIds file is the usual one-line label error.
    save_image(first, np.full((16, 32), 19, np.uint8))
    with pytest.raises(DataError, match=re.escape(f"{first}: label values 19 are not Cityscapes labelTrainIds")):
        dataset.load_label(0)


def test_a_value_that_is_no_labelid_is_an_error_naming_the_file(cityscapes):
    root, written = cityscapes
    path = root / "gtFine" / "val" / "frankfurt" / "frankfurt_000000_000019_gtFine_labelIds.png"
    label = (written["frankfurt_000000_000019"][1] & 255).astype(np.uint8)
    label[3, 4] = 40
    save_image(path, label)
    dataset = Cityscapes(root, split="val")
    with pytest.raises(
        DataError, match=re.escape(f"{path}: label values 40 are not Cityscapes labelIds values (-1..33, 255)")
    ) as info:
        dataset.load(0)
    assert info.value.kind == BAD_VALUE


def test_an_image_without_its_label_is_one_line_naming_the_file(cityscapes):
    root, _ = cityscapes
    label = root / "gtFine" / "train" / "bochum" / "bochum_000000_000019_gtFine_labelIds.png"
    label.unlink()
    with pytest.raises(
        DataError, match=re.escape(f"{label}: label file not found (for bochum_000000_000019_leftImg8bit.png)")
    ) as info:
        Cityscapes(root, split="train")
    assert info.value.kind == MISSING and "\n" not in str(info.value)


def test_a_city_missing_in_one_tree_is_one_line_naming_it(cityscapes):
    root, _ = cityscapes
    images, labels = root / "leftImg8bit", root / "gtFine"
    shutil.rmtree(labels / "train" / "bochum")
    message = f"{labels / 'train' / 'bochum'}: city folder not found, but {images / 'train' / 'bochum'} exists"
    with pytest.raises(DataError, match=re.escape(message)):
        Cityscapes(root, split="train")
    shutil.rmtree(images / "val" / "frankfurt")
    message = f"{images / 'val' / 'frankfurt'}: city folder not found, but {labels / 'val' / 'frankfurt'} exists"
    with pytest.raises(DataError, match=re.escape(message)):
        Cityscapes(root, split="val")


def test_a_wrong_root_split_or_mode_is_one_line(tmp_path, cityscapes):
    root, _ = cityscapes
    with pytest.raises(
        DataError,
        match=re.escape(
            f"{tmp_path / 'leftImg8bit' / 'train'}: split folder not found (root must hold leftImg8bit/ and gtFine/)"
        ),
    ):
        Cityscapes(tmp_path, split="train")
    with pytest.raises(
        PaddleFCNError,
        match=re.escape("Cityscapes: unknown split 'tarin' for mode fine (known: train, val, test, trainval)"),
    ):
        Cityscapes(root, split="tarin")
    with pytest.raises(ConfigError, match=re.escape("Cityscapes: unknown mode 'fin' (known: fine, coarse)")):
        DATASETS.build({"type": "Cityscapes", "root": str(root), "mode": "fin"})


def test_coarse_mode_reads_gtcoarse(tmp_path):
    root = tmp_path / "cityscapes"
    written = make_cityscapes(root, {"train_extra": {"erlangen": 2}})
    (root / "gtFine").rename(root / "gtCoarse")
    for path in (root / "gtCoarse").rglob("*_gtFine_*"):
        path.rename(path.with_name(path.name.replace("_gtFine_", "_gtCoarse_")))
    dataset = Cityscapes(root, split="train_extra", mode="coarse")
    assert len(dataset) == 2 and dataset.label_path(0).endswith("erlangen_000000_000019_gtCoarse_labelIds.png")
    np.testing.assert_array_equal(dataset.load_label(1), reference_train_ids(written["erlangen_000000_000038"][1]))


def test_label_map_applies_to_the_train_ids(cityscapes):
    root, written = cityscapes
    dataset = build_dataset({"type": "Cityscapes", "root": str(root), "split": "val", "label_map": {12: 11, 5: 255}})
    train_ids = reference_train_ids(written["frankfurt_000000_000019"][1])
    np.testing.assert_array_equal(
        dataset.load_label(0), np.where(train_ids == 12, 11, np.where(train_ids == 5, 255, train_ids))
    )
    message = "Cityscapes: label_map entry {33: 18}: label_map applies after the Cityscapes table, which gives "
    with pytest.raises(ConfigError, match=re.escape(message + "classes 0..18 and 255, so 33 never occurs")):
        dataset_meta({"type": "Cityscapes", "root": str(root), "label_map": {33: 18}})
