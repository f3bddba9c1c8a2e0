"""check_data explains label encodings: the dataset's table, label_map, values out of range with a label_map that
fixes them, colours not in the palette, classes never seen, and the share of ignored pixels."""

import numpy as np
import yaml
from data_fixtures import make_ade20k, make_cityscapes, make_cocostuff, save_image
from PIL import Image
from tool_helpers import run_in_process

from paddlefcn.data.check import check_config, check_dataset, format_report, format_summary
from paddlefcn.data.io import BAD_VALUE


def filelist(root, labels, num_classes, name="list.txt", suffix=".png", **keys):
    """A FileList config over ``labels`` (``{stem: HW uint8 array or HW3 colour array}``) written under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for stem, label in labels.items():
        save_image(root / f"{stem}.jpg", np.zeros((*label.shape[:2], 3), np.uint8))
        path = root / f"{stem}_l{suffix}"
        if label.ndim == 3:
            Image.fromarray(label).save(path, quality=95)
        else:
            save_image(path, label)
        rows.append(f"{stem}.jpg {path.name}\n")
    (root / name).write_text("".join(rows))
    return {"type": "FileList", "root": str(root), "file_list": name, "num_classes": num_classes, **keys}


def test_a_cityscapes_tree_read_through_labelids_is_named_with_its_mapping(tmp_path):
    root = tmp_path / "cityscapes"
    make_cityscapes(root, {"train": {"aachen": 3}}, train_ids=("aachen_000000_000019",))
    text = format_report(check_dataset({"type": "Cityscapes", "root": str(root), "label_map": {12: 11}}, "train"))
    assert (
        "  labels: 2 Cityscapes labelIds files, read through the official table: road 7->0, sidewalk 8->1, ..., "
        "bicycle 33->18; every other id and -1 -> 255 (ignored)"
    ) in text
    assert "  labels: 1 Cityscapes labelTrainIds file, read as stored: train ids 0..18, 255 ignored" in text
    assert "  label_map: {12: 11}, applied to what the table gives" in text
    assert "problems: none" in text and "never seen in train: rider" in text


def test_ade20k_and_cocostuff_name_their_tables_and_values_outside_them(tmp_path):
    make_ade20k(tmp_path / "ade", {"val": 2})
    text = format_report(check_dataset({"type": "ADE20K", "root": str(tmp_path / "ade"), "split": "val"}, "val"))
    assert "labels: 2 ADE20K annotation files, read through a table: 0 (other objects) -> 255 (ignored)" in text
    coco = tmp_path / "coco"
    names = sorted(make_cocostuff(coco, {"val": 2}))
    bad = coco / "stuffthingmaps_trainval2017" / "val2017" / f"{names[1]}.png"
    save_image(bad, np.full((12, 16), 190, np.uint8))
    report = check_dataset({"type": "COCOStuff", "root": str(coco), "split": "val"}, "val")
    assert report.problems[BAD_VALUE] == [
        f"{bad}: label values 190 are not COCO-Stuff stuffthingmaps values (0..181, 255)"
    ]
    text = format_report(report)
    assert "labels: 2 COCO-Stuff stuffthingmaps files, read through a table: the 171 used ids" in text


def test_one_based_labels_get_the_label_map_that_fixes_them_with_their_files(tmp_path):
    labels = {
        "a": np.array([[1, 2, 3, 3]] * 2, np.uint8),
        "b": np.array([[1, 1, 2, 2]] * 2, np.uint8),
        "c": np.array([[0, 3, 3, 1]] * 2, np.uint8),
    }
    cfg = filelist(tmp_path, labels, 3)
    report = check_dataset(cfg, "train")
    assert report.findings.out_of_range == {3: ["a_l.png", "c_l.png"]}
    text = format_report(report)
    assert "  out of range (classes 0..2, ignore 255): 3 in 2 files (a_l.png, c_l.png)" in text
    assert (
        "  fix: values 0..3 for 3 classes look 1-based with 0 as unlabelled: label_map: {0: 255, 1: 0, 2: 1, 3: 2}"
        in text
    )
    assert "class pixel frequencies: no label could be read" not in text  # b reads: 1 and 2 are classes
    fixed = check_dataset({**cfg, "label_map": {0: 255, 1: 0, 2: 1, 3: 2}}, "train")
    assert fixed.clean
    np.testing.assert_array_equal(fixed.stats.pixel_counts, [8, 6, 8])
    assert fixed.stats.ignored_pixels == 2
    # Without a 0 the map leaves 0 alone; a label_map already given is composed with the fix.
    cfg = filelist(tmp_path / "no_zero", {"a": labels["a"], "b": labels["b"]}, 3, label_map={2: 2})
    text = format_report(check_dataset(cfg, "train"))
    assert "  out of range after the label_map (classes 0..2, ignore 255): 3 in 1 file (a_l.png)" in text
    assert "  fix: values 1..3 for 3 classes look 1-based: label_map: {1: 0, 2: 1, 3: 2} (replacing {2: 2})" in text


def test_binary_masks_get_label_map_255_to_1(tmp_path):
    mask = {"a": np.array([[0, 0, 255, 255]] * 2, np.uint8)}
    ignore_254 = check_dataset(filelist(tmp_path / "x", mask, 2, ignore_index=254), "train")
    text = format_report(ignore_254)
    assert "  out of range (classes 0..1, ignore 254): 255 in 1 file (a_l.png)" in text
    assert "  fix: binary masks saved as 0/255: label_map: {255: 1}" in text
    hinted = format_report(check_dataset(filelist(tmp_path / "y", mask, 2), "train"))
    assert "hint: only class 0 and the ignore value occur; masks saved as 0/255 need label_map: {255: 1}" in hinted
    mapped = check_dataset(filelist(tmp_path / "z", mask, 2, label_map={255: 1}), "train")
    assert mapped.clean and "hint:" not in format_report(mapped)
    np.testing.assert_array_equal(mapped.stats.pixel_counts, [4, 4])


def test_colour_labels_whose_colours_are_not_the_palette_name_the_first_colours_and_files(tmp_path):
    palette = [[0, 0, 0], [0, 160, 0]]
    good = np.zeros((2, 4, 3), np.uint8)
    good[:, 2:] = (0, 160, 0)
    off = good.copy()
    off[0, 0] = (1, 2, 3)
    off[1, :2] = (0, 150, 0)  # the most pixels: shown first
    labels = {"a": good, "b": off, "c": off.copy()}
    report = check_dataset(filelist(tmp_path, labels, 2, palette=palette), "train")
    assert report.findings.colours == {(0, 150, 0): ["b_l.png", "c_l.png"], (1, 2, 3): ["b_l.png", "c_l.png"]}
    assert report.problems[BAD_VALUE][0].endswith(
        "b_l.png: label colours (0, 150, 0), (1, 2, 3) are not in the dataset palette"
    )
    text = format_report(report)
    assert "  colours not in the palette: (0, 150, 0) in 2 files (b_l.png, c_l.png); (1, 2, 3) in 2 files" in text
    assert "  the palette: class_0 (0, 0, 0), class_1 (0, 160, 0); set palette: to your classes' colours" in text
    assert "JPEG" not in text
    jpeg = check_dataset(filelist(tmp_path / "jpg", {"a": good}, 2, palette=palette, suffix=".jpg"), "train")
    assert "hint: JPEG labels gain colours from compression artefacts; save labels as PNG" in format_report(jpeg)


def test_classes_never_seen_per_split_and_in_val_but_not_in_train(tmp_path):
    train = filelist(tmp_path, {"a": np.array([[0, 1]], np.uint8)}, 4, name="train.txt")
    val = filelist(tmp_path, {"b": np.array([[0, 2]], np.uint8)}, 4, name="val.txt")
    reports = check_config({"data": {"train": train, "val": val}})
    train_text, val_text = (format_report(r) for r in reports)
    assert "  never seen in train: class_2, class_3" in train_text
    assert "  never seen in val: class_1, class_3" in val_text
    assert "  in val but never seen in train: class_2" in val_text and "\n  never seen in train:" not in val_text


def test_the_share_of_ignored_pixels_per_split_with_a_warning_above_half(tmp_path, capsys):
    train = filelist(tmp_path, {"a": np.array([[0, 1, 255, 255]], np.uint8)}, 2, name="train.txt")  # 50%: no warning
    val = filelist(tmp_path, {"b": np.array([[0, 255, 255, 255]], np.uint8)}, 2, name="val.txt")  # 75%
    reports = check_config({"data": {"train": train, "val": val}})
    assert [r.ignored_share for r in reports] == [0.5, 0.75]
    train_text, val_text = (format_report(r) for r in reports)
    assert "  ignored: 50.00% of the pixels" in train_text and "warning" not in train_text
    assert "  ignored: 75.00% of the pixels" in val_text
    assert (
        "  warning: more than half of the pixels of val are ignored (ignore value 255); "
        "check ignore_index and label_map" in val_text
    )
    assert format_summary(reports) == "ignored pixels: train 50.00%, val 75.00% (warning: more than half)"

    config = tmp_path / "cfg.yml"
    config.write_text(yaml.safe_dump({"model": {"num_classes": 2}, "data": {"train": train, "val": val}}))
    assert run_in_process("check_data", "-c", config) == 0  # a warning, not a problem
    out = capsys.readouterr().out
    assert "ignored pixels: train 50.00%, val 75.00% (warning: more than half)\ndata OK" in out


def test_the_tool_reports_an_encoding_problem_and_exits_2(tmp_path, capsys):
    cfg = filelist(tmp_path, {"a": np.array([[1, 2]] * 2, np.uint8), "b": np.array([[2, 1]] * 2, np.uint8)}, 2)
    config = tmp_path / "cfg.yml"
    config.write_text(yaml.safe_dump({"model": {"num_classes": 2}, "data": {"train": cfg}}))
    assert run_in_process("check_data", "-c", config, "--splits", "train") == 2
    out = capsys.readouterr().out
    assert "out of range (classes 0..1, ignore 255): 2 in 2 files (a_l.png, b_l.png)" in out
    assert "fix: values 1..2 for 2 classes look 1-based: label_map: {1: 0, 2: 1}" in out
    assert "ignored pixels: train (no label read)" in out and "data has problems in: train" in out


def test_a_val_label_map_that_differs_from_trains_is_noted(tmp_path):
    mask = {"a": np.array([[0, 0, 255, 255]] * 2, np.uint8)}
    train = filelist(tmp_path, mask, 2, name="train.txt", label_map={255: 1})
    val = filelist(tmp_path, mask, 2, name="val.txt")
    _, val_report = check_config({"data": {"train": train, "val": val}})
    text = format_report(val_report)
    assert "  note: label_map {} differs from data.train's {255: 1}: val labels are read differently" in text
    _, same = check_config({"data": {"train": train, "val": {**val, "label_map": {255: 1}}}})
    assert "note:" not in format_report(same)
