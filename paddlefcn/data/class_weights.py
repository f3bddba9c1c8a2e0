"""Class pixel statistics of a dataset's labels, and the class-balancing loss weights computed from them.

``median_frequency`` (Eigen & Fergus, as SegNet uses it): ``freq(c)`` is the pixels of class ``c`` divided by the
scored pixels of the images that contain ``c``, and ``w(c) = median(freq) / freq(c)``.
``inverse_log`` (ENet): ``w(c) = 1 / ln(1.02 + p(c))`` with ``p(c)`` the share of class ``c`` among all scored pixels.
Ignored pixels count nowhere.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from paddlefcn.errors import ConfigError
from paddlefcn.settings import CLASS_WEIGHTINGS

ENET_C = 1.02


@dataclass
class LabelStats:
    """Pixel counts of a set of label maps.

    Attributes:
        pixel_counts: Pixels of each class.
        image_pixels: For each class, the scored pixels of the label maps in which it occurs.
        ignored_pixels: Pixels labelled with the ignore value.
        images: Label maps counted.
    """

    pixel_counts: np.ndarray
    image_pixels: np.ndarray
    ignored_pixels: int = 0
    images: int = 0

    @classmethod
    def empty(cls, num_classes: int) -> LabelStats:
        """Statistics of no labels."""
        return cls(np.zeros(num_classes, np.int64), np.zeros(num_classes, np.int64))

    @classmethod
    def of_label(cls, label: np.ndarray, num_classes: int, ignore_index: int) -> LabelStats:
        """Statistics of one label map whose values are classes or ``ignore_index``."""
        scored = label[label != ignore_index]
        counts = np.bincount(scored.ravel(), minlength=num_classes).astype(np.int64)
        present = np.where(counts > 0, scored.size, 0).astype(np.int64)
        return cls(counts, present, int(label.size - scored.size), 1)

    def __iadd__(self, other: LabelStats) -> LabelStats:
        self.pixel_counts += other.pixel_counts
        self.image_pixels += other.image_pixels
        self.ignored_pixels += other.ignored_pixels
        self.images += other.images
        return self


def label_stats(dataset: object, workers: int = 4, progress: Optional[Callable[[int, int], None]] = None) -> LabelStats:
    """Reads every label of a ``SegDataset`` (not its images, no transforms) and counts its pixels.

    Args:
        dataset: A ``SegDataset``.
        workers: Threads reading files.
        progress: Called as ``progress(done, total)`` while reading.

    Raises:
        DataError: A label file is missing or corrupt, or holds a value that is neither a class nor ignored.
    """

    def count(index: int) -> LabelStats:
        return LabelStats.of_label(dataset.load_label(index), dataset.num_classes, dataset.ignore_index)

    total = len(dataset)
    stats = LabelStats.empty(dataset.num_classes)
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for done, one in enumerate(pool.map(count, range(total)), 1):
            stats += one
            if progress is not None:
                progress(done, total)
    return stats


def median_frequency(stats: LabelStats) -> np.ndarray:
    """SegNet's median-frequency balancing; ``nan`` for a class that never occurs."""
    with np.errstate(invalid="ignore", divide="ignore"):
        freq = stats.pixel_counts / stats.image_pixels
    present = stats.pixel_counts > 0
    weights = np.full(len(freq), np.nan)
    weights[present] = np.median(freq[present]) / freq[present]
    return weights


def inverse_log(stats: LabelStats) -> np.ndarray:
    """ENet's ``1 / ln(1.02 + p(c))``; ``nan`` for a class that never occurs."""
    share = stats.pixel_counts / max(1, int(stats.pixel_counts.sum()))
    return np.where(stats.pixel_counts > 0, 1.0 / np.log(ENET_C + share), np.nan)


# By the names of settings.CLASS_WEIGHTINGS, in that order.
WEIGHTINGS: dict[str, Callable[[LabelStats], np.ndarray]] = dict(zip(CLASS_WEIGHTINGS, (median_frequency, inverse_log)))


def class_weights(method: str, stats: LabelStats, class_names: Sequence[str]) -> list[float]:
    """The loss weights of ``method`` (a ``WEIGHTINGS`` name) as plain floats.

    Raises:
        PaddleFCNError: A class never occurs in the labels (its weight is undefined).
    """
    absent = [name for name, count in zip(class_names, stats.pixel_counts) if count == 0]
    if absent:
        raise ConfigError(
            f"loss.weight: {method} needs every class in the train labels, but {', '.join(absent)} never occurs "
            f"in the {stats.images} label maps read; give loss.weight as a list of numbers"
        )
    return [round(float(w), 6) for w in WEIGHTINGS[method](stats)]
