"""The ablation report: per-variant aggregates over seeds as ``results.md``, ``results.csv`` and a plot."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from paddlefcn.ablation.plot import plot_curves
from paddlefcn.engine.metrics import SUMMARY_KEYS
from paddlefcn.utils.files import atomic_write_text

MARKDOWN_FILE = "results.md"
CSV_FILE = "results.csv"
PLOT_FILE = "miou_curves.png"


@dataclass
class Row:
    """One variant's metrics over its seeds (means unless named otherwise); metrics are fractions."""

    variant: str
    seeds: int
    iters: int
    miou: float
    miou_std: float
    best_miou: float
    pa: float
    mpa: float
    fwiou: float
    params: int
    train_time_s: float


def aggregate(results: Sequence[dict]) -> list[Row]:
    """One row per variant, in order of first appearance; ``miou_std`` is the sample std (0 for one seed)."""
    by_variant: dict[str, list[dict]] = {}
    for result in results:
        by_variant.setdefault(result["variant"], []).append(result)
    rows = []
    for name, runs in by_variant.items():
        final = {key: np.array([r["final"][key] for r in runs], dtype=np.float64) for key in SUMMARY_KEYS}
        rows.append(
            Row(
                variant=name,
                seeds=len(runs),
                iters=int(runs[0]["iters"]),
                miou=float(final["miou"].mean()),
                miou_std=float(final["miou"].std(ddof=1)) if len(runs) > 1 else 0.0,
                best_miou=float(np.array([r["best"]["miou"] for r in runs], dtype=np.float64).mean()),
                pa=float(final["pa"].mean()),
                mpa=float(final["mpa"].mean()),
                fwiou=float(final["fwiou"].mean()),
                params=int(runs[0]["params"]),
                train_time_s=float(np.mean([r["train_time_s"] for r in runs])),
            )
        )
    return rows


def markdown_table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table, metrics in percent."""
    lines = [
        "| variant | mIoU (final) | best mIoU | PA | MPA | FWIoU | params | time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        spread = f" ± {100 * row.miou_std:.1f}" if row.seeds > 1 else ""
        lines.append(
            f"| {row.variant} | {100 * row.miou:.1f}{spread} | {100 * row.best_miou:.1f} | {100 * row.pa:.1f} | "
            f"{100 * row.mpa:.1f} | {100 * row.fwiou:.1f} | {row.params:,} | {_minutes(row.train_time_s)} |"
        )
    return "\n".join(lines) + "\n"


def _minutes(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def csv_text(rows: Sequence[Row]) -> str:
    """The rows as CSV with a header; metrics as fractions, time in seconds."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(Row.__dataclass_fields__), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(asdict(row))
    return buffer.getvalue()


def write_report(results: Sequence[dict], out_dir: str | os.PathLike) -> dict[str, Optional[Path]]:
    """Writes ``results.md``, ``results.csv`` and the mIoU plot into ``out_dir``; returns their paths.

    The plot's path is ``None`` when matplotlib is not installed (``pip install 'paddlefcn[plot]'``).
    """
    out = Path(out_dir)
    rows = aggregate(results)
    seeds = sorted({r["seed"] for r in results})
    over = (
        f"mean over seeds {', '.join(map(str, seeds))}; ± is the std over seeds"
        if len(seeds) > 1
        else f"seed {seeds[0]}"
    )
    header = (
        f"# Ablation results\n\nFinal metrics ({over}), best = highest val mIoU of any evaluation, "
        "params = trainable parameters, time = training wall time (min:s, evaluations included).\n\n"
    )
    atomic_write_text(out / MARKDOWN_FILE, header + markdown_table(rows))
    atomic_write_text(out / CSV_FILE, csv_text(rows))
    plotted = plot_curves(results, out / PLOT_FILE)
    return {"markdown": out / MARKDOWN_FILE, "csv": out / CSV_FILE, "plot": plotted}
