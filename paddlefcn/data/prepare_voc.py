"""Builds the VOCAug layout (VOC2012 + SBD, ``train_aug`` 10582 / ``val`` 1449) used by ``VOCAug``.

Output under ``out``: ``JPEGImages/`` (links to the source images), ``SegmentationClassAug/`` (VOC's own
label PNGs where VOC has them, SBD ``cls/*.mat`` converted to palette PNGs for the rest) and
``ImageSets/Segmentation/{train_aug,val}.txt``. Files that already exist are kept, so a re-run is a
no-op and an interrupted run resumes; every file appears atomically.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from paddlefcn.data.datasets.base import read_list
from paddlefcn.data.datasets.voc import SPLIT_DIR, VOC_CLASSES
from paddlefcn.data.io import BAD_VALUE, CORRUPT, MISSING, DataError
from paddlefcn.data.meta import IGNORE_INDEX
from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.files import atomic_path, atomic_write_text
from paddlefcn.utils.image import write_label
from paddlefcn.utils.palette import voc_palette

VOC_URL = "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar"
SBD_URL = "http://www.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/benchmark.tgz"
EXPECTED = {"train_aug": 10582, "val": 1449}
LABEL_DIR = "SegmentationClassAug"


class MissingSourcesError(PaddleFCNError):
    """VOC2012 or SBD was not found; ``instructions`` says where to download and extract them."""

    def __init__(self, message: str, instructions: str) -> None:
        super().__init__(message)
        self.instructions = instructions


@dataclass
class PrepareReport:
    """What ``prepare_voc`` did.

    Attributes:
        counts: Number of ids per written list (``train_aug``, ``val``).
        converted: SBD labels converted in this run.
        linked: Files linked or copied in this run (images and VOC labels).
        kept: Output files that already existed and were kept.
        warnings: Differences from the official counts.
    """

    counts: dict[str, int]
    converted: int = 0
    linked: int = 0
    kept: int = 0
    warnings: list[str] = field(default_factory=list)


def find_voc(path: str | os.PathLike) -> Optional[Path]:
    """The ``VOC2012`` directory at or under ``path`` (which may be ``VOCdevkit`` or its parent)."""
    base = Path(path)
    for candidate in (base, base / "VOC2012", base / "VOCdevkit" / "VOC2012"):
        lists = candidate / SPLIT_DIR
        if (lists / "train.txt").is_file() and (lists / "val.txt").is_file() and (candidate / "JPEGImages").is_dir():
            return candidate
    return None


def find_sbd(path: str | os.PathLike) -> Optional[Path]:
    """SBD's ``dataset`` directory at or under ``path`` (which may be ``benchmark_RELEASE`` or its parent)."""
    base = Path(path)
    for candidate in (base, base / "dataset", base / "benchmark_RELEASE" / "dataset"):
        if (candidate / "cls").is_dir() and (candidate / "train.txt").is_file() and (candidate / "val.txt").is_file():
            return candidate
    return None


def download_instructions(voc_root: Optional[str | os.PathLike], sbd_root: Optional[str | os.PathLike]) -> str:
    """Where to download each source that is given (not ``None``) and how to extract it so it is found there."""
    lines = []
    if voc_root is not None:
        where = _archive_parent(Path(voc_root), ("VOCdevkit", "VOC2012"))
        lines += [
            f"PASCAL VOC 2012 (about 2 GB): {VOC_URL}",
            f"  mkdir -p {where} && tar -xf VOCtrainval_11-May-2012.tar -C {where}",
            f"  creates {where / 'VOCdevkit' / 'VOC2012'}/{{JPEGImages,SegmentationClass,ImageSets}}",
        ]
    if sbd_root is not None:
        where = _archive_parent(Path(sbd_root), ("benchmark_RELEASE", "dataset"))
        lines += [
            f"SBD, the Semantic Boundaries Dataset (about 1.4 GB): {SBD_URL}",
            f"  mkdir -p {where} && tar -xzf benchmark.tgz -C {where}",
            f"  creates {where / 'benchmark_RELEASE' / 'dataset'}/{{cls,img,train.txt,val.txt}}",
        ]
    return "\n".join(lines)


def _archive_parent(path: Path, nesting: tuple[str, str]) -> Path:
    """The directory to extract into so that ``path`` is the archive's top folder, its inner folder or their parent."""
    if path.name == nesting[1] and path.parent.name == nesting[0]:
        return path.parent.parent
    return path.parent if path.name == nesting[0] else path


def prepare_voc(
    voc_root: str | os.PathLike,
    sbd_root: str | os.PathLike,
    out: str | os.PathLike,
    log: Callable[[str], None] = print,
) -> PrepareReport:
    """Writes the VOCAug layout into ``out``.

    ``train_aug`` is VOC train + SBD train + SBD val, minus VOC val; ``val`` is VOC val.

    Args:
        voc_root: ``VOC2012`` directory (or ``VOCdevkit``, or its parent).
        sbd_root: SBD ``benchmark_RELEASE`` directory (or its ``dataset`` subdirectory, or its parent).
        out: Output directory, the ``root`` of the ``VOCAug`` dataset.
        log: Receives progress and warning lines.

    Raises:
        MissingSourcesError: A source tree was not found.
        DataError: A needed source file is missing or unreadable.
    """
    voc, sbd = find_voc(voc_root), find_sbd(sbd_root)
    if voc is None and sbd is None and find_voc(sbd_root) and find_sbd(voc_root):
        raise PaddleFCNError(f"--voc-root {voc_root} holds SBD and --sbd-root {sbd_root} holds VOC2012: swap them")
    if voc is None or sbd is None:
        missing = [f"VOC2012 at {voc_root}" if voc is None else "", f"SBD at {sbd_root}" if sbd is None else ""]
        raise MissingSourcesError(
            f"not found: {' and '.join(m for m in missing if m)}",
            download_instructions(voc_root if voc is None else None, sbd_root if sbd is None else None),
        )
    out = Path(out)
    voc_lists = {s: _ids(voc / SPLIT_DIR / f"{s}.txt") for s in ("train", "val")}
    sbd_ids = _ids(sbd / "train.txt") + _ids(sbd / "val.txt")
    val = sorted(set(voc_lists["val"]))
    train_aug = sorted((set(voc_lists["train"]) | set(sbd_ids)) - set(val))
    report = PrepareReport(counts={"train_aug": len(train_aug), "val": len(val)})

    log(f"writing {len(train_aug) + len(val)} images and labels into {out}")
    for name in train_aug + val:
        _add_image(name, voc, sbd, out, report)
        _add_label(name, voc, sbd, out, report)
    for split, names in (("train_aug", train_aug), ("val", val)):
        atomic_write_text(out / SPLIT_DIR / f"{split}.txt", "".join(f"{n}\n" for n in names))
        if len(names) != EXPECTED[split]:
            report.warnings.append(f"{split} has {len(names)} images; the official split has {EXPECTED[split]}")
    log(
        f"train_aug: {len(train_aug)} images, val: {len(val)} images; converted {report.converted} SBD labels, "
        f"linked {report.linked} files, kept {report.kept} existing files"
    )
    for warning in report.warnings:
        log(f"warning: {warning}")
    return report


def _ids(list_path: Path) -> list[str]:
    return [name for (name,) in read_list(list_path, 1)]


def _add_image(name: str, voc: Path, sbd: Path, out: Path, report: PrepareReport) -> None:
    target = out / "JPEGImages" / f"{name}.jpg"
    if os.path.lexists(target):
        report.kept += 1
        return
    source = voc / "JPEGImages" / f"{name}.jpg"
    if not source.is_file():
        source = sbd / "img" / f"{name}.jpg"
    if not source.is_file():
        raise DataError(voc / "JPEGImages" / f"{name}.jpg", MISSING, "image not found in VOC2012 nor in SBD img/")
    _link_or_copy(source, target)
    report.linked += 1


def _add_label(name: str, voc: Path, sbd: Path, out: Path, report: PrepareReport) -> None:
    target = out / LABEL_DIR / f"{name}.png"
    if os.path.lexists(target):
        report.kept += 1
        return
    voc_label = voc / "SegmentationClass" / f"{name}.png"
    if voc_label.is_file():
        _link_or_copy(voc_label, target)
        report.linked += 1
        return
    write_label(target, read_sbd_label(sbd / "cls" / f"{name}.mat"), voc_palette(len(VOC_CLASSES)))
    report.converted += 1


def read_sbd_label(path: Path) -> np.ndarray:
    """The class map of an SBD ``cls/<id>.mat`` file (``GTcls.Segmentation``), as HW uint8."""
    if not path.is_file():
        raise DataError(path, MISSING, "SBD label file not found")
    try:
        from scipy.io import loadmat
        from scipy.io.matlab import MatReadError
    except ImportError as err:
        raise PaddleFCNError("reading SBD .mat files needs scipy: pip install scipy") from err
    try:
        segmentation = loadmat(str(path), squeeze_me=True, struct_as_record=False)["GTcls"].Segmentation
    except (MatReadError, NotImplementedError, OSError, ValueError, KeyError, AttributeError, TypeError) as err:
        raise DataError(path, CORRUPT, f"not an SBD GTcls .mat file ({err})") from err
    segmentation = np.asarray(segmentation)
    if segmentation.ndim != 2 or segmentation.size == 0:
        raise DataError(path, CORRUPT, f"GTcls.Segmentation has shape {segmentation.shape}, expected H x W")
    in_range = (segmentation >= 0) & (segmentation < len(VOC_CLASSES)) | (segmentation == IGNORE_INDEX)
    valid = in_range & (segmentation == np.floor(segmentation))
    if not valid.all():
        shown = [v.item() for v in np.unique(segmentation[~valid])[:5]]
        raise DataError(path, BAD_VALUE, f"GTcls.Segmentation holds {shown}, outside 0..{len(VOC_CLASSES) - 1} and 255")
    return segmentation.astype(np.uint8)


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard-links ``source`` to ``target``, else symlinks it, else copies it (atomically)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
        return
    except OSError:
        pass
    try:
        os.symlink(source.resolve(), target)
        return
    except OSError:
        pass
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
