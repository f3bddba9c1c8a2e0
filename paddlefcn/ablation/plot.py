"""The val mIoU of each variant over iterations as a PNG (needs matplotlib: the ``plot`` extra)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from paddlefcn.utils.files import atomic_path

logger = logging.getLogger("paddlefcn.ablation")


def mean_curves(results: Sequence[dict]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per variant: ``(iterations, mean mIoU, std mIoU)`` over the seeds, at the iterations all seeds evaluated."""
    by_variant: dict[str, list[dict[int, float]]] = {}
    for result in results:
        points = {p["iter"]: p["miou"] for p in result["curve"] if p["miou"] is not None}
        by_variant.setdefault(result["variant"], []).append(points)
    curves = {}
    for name, runs in by_variant.items():
        iters = np.array(sorted(set.intersection(*(set(run) for run in runs))), dtype=np.int64)
        values = np.array([[run[i] for i in iters] for run in runs], dtype=np.float64)
        curves[name] = (iters, values.mean(axis=0), values.std(axis=0))
    return curves


def plot_curves(results: Sequence[dict], path: str | os.PathLike) -> Optional[Path]:
    """Draws val mIoU (%) against iterations, one line per variant (band: ± std over seeds); returns ``path``.

    Returns ``None`` without matplotlib.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        logger.warning("matplotlib is not installed, no plot written: pip install 'paddlefcn[plot]'")
        return None
    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=100)
    for name, (iters, mean, std) in mean_curves(results).items():
        (line,) = axes.plot(iters, 100 * mean, marker=".", label=name)
        if np.any(std > 0):
            axes.fill_between(iters, 100 * (mean - std), 100 * (mean + std), color=line.get_color(), alpha=0.15)
    axes.set_xlabel("iteration")
    axes.set_ylabel("val mIoU (%)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="best")
    figure.tight_layout()
    target = Path(path)
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)
    return target
