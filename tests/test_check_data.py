"""tools/check_data.py: every kind of problem is counted with its first files; class frequencies; exit codes."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from data_fixtures import save_image, save_palette_png

from paddlefcn.data.check import check_config, check_dataset, format_report
from paddlefcn.data.io import BAD_VALUE, CORRUPT, EMPTY_LIST, MISSING, SIZE_MISMATCH

TOOL = Path(__file__).resolve().parents[1] / "tools" / "check_data.py"


def _filelist(root: Path, rows: list[str], name: str = "list.txt") -> dict:
    (root / name).write_text("".join(f"{r}\n" for r in rows))
    return {
        "type": "FileList",
        "root": str(root),
        "file_list": name,
        "num_classes": 3,
        "transforms": [{"type": "Normalize"}],
    }


def _good_pair(root: Path, stem: str, label: np.ndarray) -> str:
    save_image(root / f"{stem}.png", np.zeros((*label.shape, 3), np.uint8))
    save_palette_png(root / f"{stem}_l.png", label)
    return f"{stem}.png {stem}_l.png"


def test_clean_dataset_reports_exact_class_frequencies(tmp_path):
    label_a = np.array([[0, 0, 1, 255]] * 2, np.uint8)
    label_b = np.array([[2, 2, 2, 0]] * 2, np.uint8)
    cfg = _filelist(tmp_path, [_good_pair(tmp_path, "a", label_a), _good_pair(tmp_path, "b", label_b)])
    report = check_dataset(cfg, "train")
    assert report.clean
    both = np.concatenate([label_a, label_b]).ravel()
    np.testing.assert_array_equal(report.stats.pixel_counts, [np.sum(both == c) for c in range(3)])
    assert report.stats.ignored_pixels == 2
    text = format_report(report)
    assert "problems: none" in text and "class_2" in text and "37.50%" in text  # 6 of 16 pixels


def test_every_problem_kind_is_counted_with_its_files(tmp_path):
    good = np.zeros((2, 4), np.uint8)
    rows = [_good_pair(tmp_path, f"ok{i}", good) for i in range(2)]
    rows.append("gone.png gone_l.png")  # both files missing: two problems
    rows.append(_good_pair(tmp_path, "bad", np.array([[0, 5, 9, 255]] * 2, np.uint8)))
    rows.append(_good_pair(tmp_path, "wide", good))
    save_palette_png(tmp_path / "wide_l.png", np.zeros((2, 6), np.uint8))
    rows.append(_good_pair(tmp_path, "junk", good))
    (tmp_path / "junk.png").write_bytes(b"junk")
    report = check_dataset(_filelist(tmp_path, rows), "train")
    assert not report.clean
    assert len(report.problems[MISSING]) == 2
    assert any("gone.png: image file not found" in m for m in report.problems[MISSING])
    assert any("gone_l.png: label file not found" in m for m in report.problems[MISSING])
    assert report.problems[BAD_VALUE] == [
        f"{tmp_path / 'bad_l.png'}: label values 5, 9 are outside 0..2 and not ignore (255)"
    ]
    assert len(report.problems[SIZE_MISMATCH]) == 1 and "wide_l.png" in report.problems[SIZE_MISMATCH][0]
    assert len(report.problems[CORRUPT]) == 1 and "junk.png" in report.problems[CORRUPT][0]
    assert report.stats.pixel_counts[0] == 3 * 8 + 12  # readable labels: ok0, ok1, junk (2x4) and wide (2x6)
    text = format_report(report, examples=1)
    assert f"{MISSING}: 2" in text and "... and 1 more" in text


def test_empty_list_and_num_classes_mismatch(tmp_path):
    (tmp_path / "v").mkdir()
    cfg = {
        "model": {"num_classes": 5},
        "data": {
            "train": _filelist(tmp_path, [_good_pair(tmp_path, "a", np.zeros((2, 2), np.uint8))]),
            "val": _filelist(tmp_path / "v", []),
        },
    }
    train, val = check_config(cfg)
    assert list(train.problems) == ["config mismatch"]
    assert "model.num_classes is 5 but data.train has 3 classes" in train.problems["config mismatch"][0]
    assert (
        list(val.problems) == [EMPTY_LIST] and "list.txt: the list of samples is empty" in val.problems[EMPTY_LIST][0]
    )


def _run_tool(cfg_path: Path):
    return subprocess.run([sys.executable, str(TOOL), "-c", str(cfg_path)], capture_output=True, text=True)


def test_tool_exit_codes(tmp_path):
    synthetic = {"type": "SyntheticShapes", "root": str(tmp_path / "syn"), "num_images": 3, "size": 32}
    cfg = {"model": {"num_classes": 7}, "data": {"train": synthetic, "val": {**synthetic, "split": "val"}}}
    (tmp_path / "ok.yml").write_text(yaml.safe_dump(cfg))
    done = _run_tool(tmp_path / "ok.yml")
    assert done.returncode == 0, done.stderr
    assert "train: SyntheticShapes, 3 samples" in done.stdout and "data OK" in done.stdout
    assert "background" in done.stdout and "(ignore)" in done.stdout

    [image] = (tmp_path / "syn").glob("val-*/JPEGImages/val_00001.jpg")
    image.unlink()
    bad = _run_tool(tmp_path / "ok.yml")
    assert bad.returncode == 2
    assert "val_00001.jpg: image file not found" in bad.stdout and "data has problems in: val" in bad.stdout


def test_binary_masks_saved_as_0_and_255_get_a_hint(tmp_path):
    mask = np.array([[0, 0, 255, 255]] * 2, np.uint8)
    cfg = dict(_filelist(tmp_path, [_good_pair(tmp_path, "a", mask)]), num_classes=2)
    text = format_report(check_dataset(cfg, "train"))
    assert "hint: only class 0 and the ignore value occur" in text
    cfg["ignore_index"] = 254
    (tmp_path / "a_l.png").unlink()
    save_palette_png(tmp_path / "a_l.png", np.where(mask == 255, 1, 0).astype(np.uint8))
    assert "hint:" not in format_report(check_dataset(cfg, "train"))
