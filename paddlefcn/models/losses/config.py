"""The ``loss`` section of a config: completed with the dataset's ignore value, checked, built."""

from __future__ import annotations

from typing import Optional

from paddle import nn

from paddlefcn.checks import check_number
from paddlefcn.data.class_weights import WEIGHTINGS as CLASS_WEIGHTINGS
from paddlefcn.errors import ConfigError
from paddlefcn.registry import LOSSES


def loss_config(cfg: Optional[dict], ignore_index: int, num_classes: int) -> dict:
    """The ``loss`` section completed and checked: cross-entropy by default, the dataset's ignore value.

    A ``weight`` list is checked; a weighting name (``median_frequency``, ``inverse_log``) is left for the caller to
    compute from the train labels.

    Args:
        cfg: The ``loss`` section.
        ignore_index: The dataset's ignore value (``meta.ignore_index``).
        num_classes: The number of values ``loss.weight`` must have, when given.

    Raises:
        PaddleFCNError: ``loss.ignore_index`` is not the dataset's, or ``loss.weight`` is not valid.
    """
    cfg = {"type": "CrossEntropyLoss", **(cfg or {})}
    given = cfg.setdefault("ignore_index", ignore_index)
    if given != ignore_index:
        raise ConfigError(
            f"loss.ignore_index is {given!r} but the training set ignores label {ignore_index}; "
            "remove loss.ignore_index (the loss takes the dataset's)"
        )
    weight = cfg.get("weight")
    if isinstance(weight, str):
        if weight not in CLASS_WEIGHTINGS:
            raise ConfigError(
                f"loss.weight: unknown class weighting '{weight}' (known: {', '.join(CLASS_WEIGHTINGS)}, "
                "or a list of numbers)"
            )
    elif weight is not None:
        cfg["weight"] = check_class_weights(weight, num_classes)
    return cfg


def build_loss(cfg: dict) -> nn.Layer:
    """Builds the loss of a ``loss_config`` whose ``weight``, if any, is a list of numbers."""
    if isinstance(cfg.get("weight"), str):
        raise ConfigError(f"loss.weight '{cfg['weight']}' must be computed from the train labels before building")
    return LOSSES.build(cfg)


def check_class_weights(weights: object, num_classes: int) -> list[float]:
    """``weights`` as floats if they are ``num_classes`` non-negative numbers; else raises naming ``loss.weight``."""
    if not isinstance(weights, (list, tuple)) or len(weights) != num_classes:
        raise ConfigError(f"loss.weight must list one weight for each of the {num_classes} classes, got {weights!r}")
    values = [check_number(w, f"loss.weight[{i}]") for i, w in enumerate(weights)]
    if min(values) < 0 or max(values) == 0:
        raise ConfigError(f"loss.weight must be non-negative and not all 0, got {weights!r}")
    return values
