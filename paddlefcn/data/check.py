"""Scans the datasets of a config for every data problem, and counts class pixel frequencies."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from paddlefcn.data.class_weights import WEIGHTINGS, LabelStats
from paddlefcn.data.datasets.base import SegDataset
from paddlefcn.data.io import SIZE_MISMATCH, DataError, read_image
from paddlefcn.data.meta import class_count_mismatch
from paddlefcn.errors import ConfigError, PaddleFCNError
from paddlefcn.registry import DATASETS


@dataclass
class SplitReport:
    """The result of scanning one dataset.

    Attributes:
        split: Config name of the dataset (``train``, ``val``).
        description: Dataset type and size, or why it could not be built.
        problems: One-line messages grouped by problem kind.
        stats: Class pixel counts of the labels that could be read (``None`` if the dataset was not built).
        class_names: One name per class.
    """

    split: str
    description: str
    problems: dict[str, list[str]] = field(default_factory=dict)
    stats: Optional[LabelStats] = None
    class_names: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def add(self, kind: str, message: str) -> None:
        """Records one problem."""
        self.problems.setdefault(kind, []).append(message)


def check_config(cfg: dict, splits: tuple[str, ...] = ("train", "val"), workers: int = 4) -> list[SplitReport]:
    """Scans ``data.<split>`` of a config for each split it defines.

    Args:
        cfg: A loaded config.
        splits: Which datasets of the ``data`` section to scan.
        workers: Threads reading files.
    """
    data = cfg.get("data") or {}
    present = [s for s in splits if s in data]
    if not present:
        raise PaddleFCNError(f"config has no data.{' / data.'.join(splits)} section to check")
    model_classes = (cfg.get("model") or {}).get("num_classes")
    reports = []
    for split in present:
        report = check_dataset(data[split], split, workers)
        problem = class_count_mismatch(model_classes, split, len(report.class_names)) if model_classes else None
        if problem and report.stats is not None:
            report.add("config mismatch", problem)
        reports.append(report)
    return reports


def check_dataset(dataset_cfg: dict, split: str = "dataset", workers: int = 4) -> SplitReport:
    """Reads every sample of a dataset config (without its transforms) and records each problem found.

    Both files of a sample are checked, so a sample can contribute several problems.
    """
    cfg = {k: v for k, v in dict(dataset_cfg).items() if k != "transforms"}
    try:
        dataset = DATASETS.build(cfg)
    except DataError as err:
        report = SplitReport(split, f"{cfg.get('type')} (not built)")
        report.add(err.kind, str(err))
        return report
    if not isinstance(dataset, SegDataset):
        raise ConfigError(f"data.{split}: cannot check a {type(dataset).__name__}, it lists no files")
    report = SplitReport(split, f"{cfg['type']}, {len(dataset)} samples", class_names=list(dataset.class_names))
    report.stats = LabelStats.empty(dataset.num_classes)
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for problems, stats in pool.map(lambda i: _check_sample(dataset, i), range(len(dataset))):
            for err in problems:
                report.add(err.kind, str(err))
            if stats is not None:
                report.stats += stats
    return report


def _check_sample(dataset: SegDataset, index: int) -> tuple[list[DataError], Optional[LabelStats]]:
    image_path, label_path = dataset.image_path(index), dataset.label_path(index)
    problems: list[DataError] = []
    image = label = None
    try:
        image = read_image(image_path)
    except DataError as err:
        problems.append(err)
    try:
        label = dataset.load_label(index)
    except DataError as err:
        problems.append(err)
        label = None
    if image is not None and label is not None and image.shape[:2] != label.shape:
        detail = f"label is {label.shape[1]}x{label.shape[0]} (WxH) but its image {Path(image_path).name} is "
        problems.append(DataError(label_path, SIZE_MISMATCH, f"{detail}{image.shape[1]}x{image.shape[0]}"))
    if label is None:
        return problems, None
    return problems, LabelStats.of_label(label, dataset.num_classes, dataset.ignore_index)


def _weight_text(weight: float, width: int) -> str:
    return f"{'-':>{width}}" if np.isnan(weight) else f"{weight:>{width}.4f}"


def format_report(report: SplitReport, examples: int = 5) -> str:
    """The report as text: problem counts with their first messages, then class pixel frequencies."""
    lines = [f"{report.split}: {report.description}"]
    if report.clean:
        lines.append("  problems: none")
    for kind, messages in report.problems.items():
        lines.append(f"  {kind}: {len(messages)}")
        lines += [f"    {m}" for m in messages[:examples]]
        if len(messages) > examples:
            lines.append(f"    ... and {len(messages) - examples} more")
    stats = report.stats
    if stats is not None:
        total = int(stats.pixel_counts.sum()) + stats.ignored_pixels
        weights = {name: weighting(stats) for name, weighting in WEIGHTINGS.items()}
        width = max(len(n) for n in report.class_names + ["(ignore)"])
        lines.append("  class pixel frequencies, and the weights each loss.weight name gives:")
        names = "".join(f"  {name:>{len(name)}}" for name in weights)
        lines.append(f"    {'class':<{width}} {'share':>7}  {'pixels':>12}{names}")
        for index, (name, count) in enumerate(zip(report.class_names, stats.pixel_counts.tolist())):
            share = 100.0 * count / total if total else 0.0
            columns = "".join(f"  {_weight_text(w[index], len(name))}" for name, w in weights.items())
            note = "  (never seen)" if count == 0 else ""
            lines.append(f"    {name:<{width}} {share:6.2f}%  {count:>12}{columns}{note}")
        share = 100.0 * stats.ignored_pixels / total if total else 0.0
        lines.append(f"    {'(ignore)':<{width}} {share:6.2f}%  {stats.ignored_pixels:>12}")
        if stats.ignored_pixels and len(stats.pixel_counts) > 1 and not stats.pixel_counts[1:].any():
            lines.append(
                "  hint: only class 0 and the ignore value occur; masks saved as 0/255 need the 255s mapped to 1, "
                "or ignore_index set to a value the labels do not use (e.g. ignore_index: 254)"
            )
    return "\n".join(lines)
