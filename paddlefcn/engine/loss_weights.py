"""Class weights of the loss terms that name a weighting: computed from the train labels, or read back on resume."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Optional, Sequence, Union

from paddlefcn.data.class_weights import LabelStats, class_weights, label_stats
from paddlefcn.data.datasets import SegDataset
from paddlefcn.models.losses import loss_terms

PROGRESS_SECONDS = 10  # between progress lines of the label count


def resolve_class_weights(
    loss_cfg: Union[dict, list],
    train_set: SegDataset,
    previous: Optional[dict],
    source: Path,
    logger: logging.Logger,
) -> None:
    """Replaces, in place, every ``weight: <weighting>`` of a completed loss section by its vector.

    On resume (``previous`` is the run's ``config.yml`` as loaded from ``source``) each term takes the vector that
    same term recorded, so a resumed run trains exactly the loss it started with; otherwise the train labels are
    counted once and every term gets its own weighting of them.
    """
    terms = loss_terms(loss_cfg)
    saved_terms = loss_terms(previous.get("loss") or {}) if previous is not None else []
    stats: Optional[LabelStats] = None
    for index, term in enumerate(terms):
        method = term.get("weight")
        if not isinstance(method, str):
            continue
        saved = saved_terms[index] if index < len(saved_terms) else {}
        weight = saved.get("weight") if saved.get("type") == term["type"] else None
        if isinstance(weight, list) and len(weight) == train_set.num_classes:
            logger.info("class weights (%s) from %s: %s", method, source, _format(weight, train_set.class_names))
        else:
            if stats is None:
                stats = _count(train_set, logger, [t["weight"] for t in terms if isinstance(t.get("weight"), str)])
            weight = class_weights(method, stats, train_set.class_names)
            logger.info("class weights (%s): %s", method, _format(weight, train_set.class_names))
        term["weight"] = weight


def _count(train_set: SegDataset, logger: logging.Logger, methods: Sequence[str]) -> LabelStats:
    logger.info("computing %s class weights from %d train labels", ", ".join(dict.fromkeys(methods)), len(train_set))
    last_shown = [time.monotonic()]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last_shown[0] >= PROGRESS_SECONDS and done < total:
            logger.info("  class weights: %d/%d labels read", done, total)
            last_shown[0] = time.monotonic()

    return label_stats(train_set, progress=progress)


def _format(weights: Sequence[float], names: Sequence[str]) -> str:
    return ", ".join(f"{name} {w:.4g}" for name, w in zip(names, weights))
