"""Scans the datasets of a config for every data problem, explains how their labels are encoded, and counts class
pixel frequencies."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from paddlefcn.data.class_weights import WEIGHTINGS, LabelStats
from paddlefcn.data.datasets.base import SegDataset, check_label_values
from paddlefcn.data.encoding import compose_label_maps, format_label_map, suggest_label_map
from paddlefcn.data.io import SIZE_MISMATCH, DataError, UnknownColoursError, read_image
from paddlefcn.data.meta import class_count_mismatch
from paddlefcn.errors import ConfigError, PaddleFCNError
from paddlefcn.registry import DATASETS

IGNORED_WARNING = 0.5  # warn when more than this share of a split's pixels is ignored
FILES_SHOWN = 3  # files named per value or colour
NAMES_SHOWN = 10  # class names listed per line


@dataclass
class LabelFindings:
    """How a split's labels are encoded, and the values and colours that are not classes.

    Attributes:
        encodings: For each way a label file was read (the dataset's table name, or ``None`` for stored values that
            are the classes), the table's summary and the number of files read that way.
        values: The distinct values of the labels after the lookup (dataset table, then ``label_map``).
        out_of_range: Each value that is neither a class nor the ignore value after the lookup, with its files.
        colours: Each colour of a colour label that is not in the palette, with its files.
    """

    encodings: dict[Optional[str], list] = field(default_factory=dict)
    values: set[int] = field(default_factory=set)
    out_of_range: dict[int, list[str]] = field(default_factory=dict)
    colours: dict[tuple[int, int, int], list[str]] = field(default_factory=dict)


@dataclass
class SplitReport:
    """The result of scanning one dataset.

    Attributes:
        split: Config name of the dataset (``train``, ``val``).
        description: Dataset type and size, or why it could not be built.
        problems: One-line messages grouped by problem kind.
        stats: Class pixel counts of the labels that could be read (``None`` if the dataset was not built).
        class_names: One name per class.
        ignore_index: The dataset's ignore value.
        palette: One ``[r, g, b]`` per class.
        label_map: The dataset's checked ``label_map``.
        findings: How the labels are encoded, and what is out of range.
        unseen_in_train: Classes of this split that never occur in the train labels (set by ``check_config``).
        notes: Remarks that compare this split with train (set by ``check_config``).
    """

    split: str
    description: str
    problems: dict[str, list[str]] = field(default_factory=dict)
    stats: Optional[LabelStats] = None
    class_names: list[str] = field(default_factory=list)
    ignore_index: int = 255
    palette: list[list[int]] = field(default_factory=list)
    label_map: dict[int, int] = field(default_factory=dict)
    findings: LabelFindings = field(default_factory=LabelFindings)
    unseen_in_train: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    @property
    def ignored_share(self) -> Optional[float]:
        """The share of ignored pixels among the pixels of the labels read, ``None`` if none was read."""
        if self.stats is None:
            return None
        total = int(self.stats.pixel_counts.sum()) + self.stats.ignored_pixels
        return self.stats.ignored_pixels / total if total else None

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
    train = next((r for r in reports if r.split == "train" and r.stats is not None), None)
    for report in reports:
        if train is not None and report is not train and report.label_map != train.label_map:
            report.notes.append(
                f"note: label_map {format_label_map(report.label_map)} differs from data.train's "
                f"{format_label_map(train.label_map)}: {report.split} labels are read differently"
            )
        if train is not None and report is not train and report.stats is not None:
            if report.class_names == train.class_names:
                new = (report.stats.pixel_counts > 0) & (train.stats.pixel_counts == 0)
                report.unseen_in_train = [name for name, unseen in zip(report.class_names, new) if unseen]
    return reports


@dataclass
class _Sample:
    """What reading one sample found."""

    problems: list[DataError] = field(default_factory=list)
    stats: Optional[LabelStats] = None
    encoding: Optional[str] = None
    summary: str = ""
    values: Sequence[int] = ()
    out_of_range: Sequence[int] = ()
    colours: Sequence[tuple[int, int, int]] = ()


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
    report = SplitReport(
        split,
        f"{cfg['type']}, {len(dataset)} samples",
        class_names=list(dataset.class_names),
        ignore_index=dataset.ignore_index,
        palette=[list(c) for c in dataset.palette],
        label_map=dict(dataset.label_map),
    )
    report.stats = LabelStats.empty(dataset.num_classes)
    findings = report.findings
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for index, sample in enumerate(pool.map(lambda i: _check_sample(dataset, i), range(len(dataset)))):
            for err in sample.problems:
                report.add(err.kind, str(err))
            if sample.stats is not None:
                report.stats += sample.stats
            name = Path(dataset.label_path(index)).name
            if sample.summary:
                findings.encodings.setdefault(sample.encoding, [sample.summary, 0])[1] += 1
            findings.values.update(int(v) for v in sample.values)
            for value in sample.out_of_range:
                findings.out_of_range.setdefault(int(value), []).append(name)
            for colour in sample.colours:
                findings.colours.setdefault(colour, []).append(name)
    return report


def _check_sample(dataset: SegDataset, index: int) -> _Sample:
    image_path, label_path = dataset.image_path(index), dataset.label_path(index)
    sample = _Sample()
    image = label = None
    try:
        image = read_image(image_path)
    except DataError as err:
        sample.problems.append(err)
    lookup = dataset.label_lookup(index)
    try:
        stored = dataset.read_label_file(index)
    except UnknownColoursError as err:
        sample.problems.append(err)
        sample.colours = err.colours
        stored = None
    except DataError as err:
        sample.problems.append(err)
        stored = None
    if lookup.table is not None:
        sample.encoding, sample.summary = lookup.table.name, lookup.table.summary
    elif stored is not None:
        sample.summary = "as stored: the values (or palette colours) are the classes"
    if stored is not None:
        mapped = lookup.map(stored)
        unknown = lookup.unknown_values(stored, mapped)
        if unknown.size:
            sample.problems.append(lookup.unknown_error(unknown, label_path))
        else:
            sample.values = np.unique(mapped).tolist()
            try:
                check_label_values(mapped, dataset.num_classes, dataset.ignore_index, label_path)
                label = mapped
            except DataError as err:
                sample.problems.append(err)
                ignore = dataset.ignore_index
                sample.out_of_range = [v for v in sample.values if not (0 <= v < dataset.num_classes or v == ignore)]
    if image is not None and label is not None and image.shape[:2] != label.shape:
        detail = f"label is {label.shape[1]}x{label.shape[0]} (WxH) but its image {Path(image_path).name} is "
        sample.problems.append(DataError(label_path, SIZE_MISMATCH, f"{detail}{image.shape[1]}x{image.shape[0]}"))
    if label is not None:
        sample.stats = LabelStats.of_label(label, dataset.num_classes, dataset.ignore_index)
    return sample


def _weight_text(weight: float, width: int) -> str:
    return f"{'-':>{width}}" if np.isnan(weight) else f"{weight:>{width}.4f}"


def _files(names: list[str]) -> str:
    """``3 files (a.png, b.png, c.png)``, naming at most ``FILES_SHOWN``."""
    shown = ", ".join(names[:FILES_SHOWN]) + (", ..." if len(names) > FILES_SHOWN else "")
    return f"{len(names)} file{'s' if len(names) != 1 else ''} ({shown})"


def _names(names: list[str]) -> str:
    more = f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
    return ", ".join(names[:NAMES_SHOWN]) + more


def encoding_lines(report: SplitReport) -> list[str]:
    """How the labels were read: each encoding with its number of files, then the ``label_map``."""
    lines = []
    for name, (summary, count) in report.findings.encodings.items():
        what = f"{count} {name} file{'s' if count != 1 else ''}" if name else f"{count} label file{'s' * (count != 1)}"
        lines.append(f"  labels: {what}, read {summary}")
    if report.label_map:
        after = "what the table gives" if any(report.findings.encodings) else "the stored values"
        lines.append(f"  label_map: {format_label_map(report.label_map)}, applied to {after}")
    return lines


def out_of_range_lines(report: SplitReport) -> list[str]:
    """The values the lookup leaves out of range, with their files and a ``label_map`` for the usual cases."""
    bad = report.findings.out_of_range
    if not bad:
        return []
    num_classes = len(report.class_names)
    values = "; ".join(f"{value} in {_files(files)}" for value, files in sorted(bad.items())[:5])
    more = f"; and {len(bad) - 5} more values" if len(bad) > 5 else ""
    ignore = report.ignore_index
    after = " after the label_map" if report.label_map else ""
    lines = [f"  out of range{after} (classes 0..{num_classes - 1}, ignore {ignore}): {values}{more}"]
    suggestion = suggest_label_map(sorted(report.findings.values), num_classes, ignore)
    if suggestion is None:
        lines.append(
            "  fix: map these values with label_map (docs/data.md#your-own-masks), or set num_classes / ignore_index"
        )
    else:
        fixed = compose_label_maps(report.label_map, suggestion.label_map)
        replacing = f" (replacing {format_label_map(report.label_map)})" if report.label_map else ""
        lines.append(f"  fix: {suggestion.reason}: label_map: {format_label_map(fixed)}{replacing}")
    return lines


def colour_lines(report: SplitReport) -> list[str]:
    """The colours of colour labels that are not the palette (the first few, with their files)."""
    colours = report.findings.colours
    if not colours:
        return []
    ranked = sorted(colours.items(), key=lambda item: -len(item[1]))
    shown = "; ".join(f"{colour} in {_files(files)}" for colour, files in ranked[:5])
    more = f"; and {len(ranked) - 5} more colours" if len(ranked) > 5 else ""
    palette = ", ".join(f"{name} {tuple(c)}" for name, c in zip(report.class_names[:6], report.palette[:6]))
    etc = ", ..." if len(report.class_names) > 6 else ""
    lines = [
        f"  colours not in the palette: {shown}{more}",
        f"  the palette: {palette}{etc}; set palette: to your classes' colours in class order, "
        "or save labels as class indices (grayscale or palette PNGs)",
    ]
    if any(name.lower().endswith((".jpg", ".jpeg")) for files in colours.values() for name in files):
        lines.append("  hint: JPEG labels gain colours from compression artefacts; save labels as PNG")
    return lines


def format_report(report: SplitReport, examples: int = 5) -> str:
    """The report as text: how labels are read, problem counts with their first messages, values and colours that
    are not classes, class pixel frequencies, classes never seen, and the share of ignored pixels."""
    lines = [f"{report.split}: {report.description}", *encoding_lines(report), *(f"  {n}" for n in report.notes)]
    if report.clean:
        lines.append("  problems: none")
    for kind, messages in report.problems.items():
        lines.append(f"  {kind}: {len(messages)}")
        lines += [f"    {m}" for m in messages[:examples]]
        if len(messages) > examples:
            lines.append(f"    ... and {len(messages) - examples} more")
    lines += out_of_range_lines(report) + colour_lines(report)
    stats = report.stats
    if stats is not None and not stats.images:
        lines.append("  class pixel frequencies: no label could be read")
    elif stats is not None:
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
        unseen = [name for name, count in zip(report.class_names, stats.pixel_counts) if count == 0]
        if unseen and stats.images:
            lines.append(f"  never seen in {report.split}: {_names(unseen)}")
        if report.unseen_in_train:
            lines.append(f"  in {report.split} but never seen in train: {_names(report.unseen_in_train)}")
        ignored = report.ignored_share
        if ignored is not None:
            lines.append(f"  ignored: {100 * ignored:.2f}% of the pixels")
            if ignored > IGNORED_WARNING:
                lines.append(
                    f"  warning: more than half of the pixels of {report.split} are ignored "
                    f"(ignore value {report.ignore_index}); check ignore_index and label_map"
                )
        if stats.ignored_pixels and len(stats.pixel_counts) > 1 and not stats.pixel_counts[1:].any():
            lines.append(
                f"  hint: only class 0 and the ignore value occur; masks saved as 0/{report.ignore_index} need "
                f"label_map: {{{report.ignore_index}: 1}} (or ignore_index set to a value the labels do not use, "
                "e.g. ignore_index: 254)"
            )
    return "\n".join(lines)


def format_summary(reports: Sequence[SplitReport]) -> str:
    """One line: the share of ignored pixels per split, with a warning above half."""
    parts = []
    for report in reports:
        share = report.ignored_share
        if share is None:
            parts.append(f"{report.split} (no label read)")
        else:
            warning = " (warning: more than half)" if share > IGNORED_WARNING else ""
            parts.append(f"{report.split} {100 * share:.2f}%{warning}")
    return f"ignored pixels: {', '.join(parts)}"
