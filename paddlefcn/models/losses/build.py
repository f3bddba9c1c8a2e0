"""The ``loss`` section of a config: completed with the dataset's ignore value, checked, built."""

from __future__ import annotations

from typing import Sequence, Union

from paddlefcn.checks import check_number
from paddlefcn.errors import ConfigError
from paddlefcn.models.losses.base import Loss
from paddlefcn.models.losses.combined import SegmentationLoss
from paddlefcn.registry import LOSSES
from paddlefcn.settings import CLASS_WEIGHTINGS


def loss_config(cfg: Union[dict, list, None], ignore_index: int, num_classes: int) -> Union[dict, list]:
    """The ``loss`` section completed and checked: cross-entropy by default, the dataset's ignore value.

    The section is one loss config, or a list of them each with a ``coef`` (default 1) by which it is weighted in
    the sum; it keeps its form. A ``weight`` list is checked; a weighting name (``median_frequency``,
    ``inverse_log``) is left for the caller to compute from the train labels (see ``loss_terms``).

    Args:
        cfg: The ``loss`` section.
        ignore_index: The dataset's ignore value (``meta.ignore_index``).
        num_classes: The number of values ``loss.weight`` must have, when given.

    Raises:
        ConfigError: ``loss.ignore_index`` is not the dataset's, or a ``weight`` or ``coef`` is not valid.
    """
    if isinstance(cfg, list):
        if not cfg:
            raise ConfigError("loss: an empty list; give one loss config or a list of them")
        return [_complete(entry, f"loss[{i}]", ignore_index, num_classes, listed=True) for i, entry in enumerate(cfg)]
    return _complete(cfg or {}, "loss", ignore_index, num_classes, listed=False)


def _complete(cfg: object, key: str, ignore_index: int, num_classes: int, listed: bool) -> dict:
    if not isinstance(cfg, dict):
        raise ConfigError(f"{key} must be a loss config such as {{type: CrossEntropyLoss}}, got {cfg!r}")
    cfg = {"type": "CrossEntropyLoss", **cfg}
    if listed:
        cfg["coef"] = check_number(cfg.get("coef", 1.0), f"{key}.coef", positive=True)
    elif "coef" in cfg:
        raise ConfigError("loss.coef weights the entries of a list of losses; a single loss takes none")
    given = cfg.setdefault("ignore_index", ignore_index)
    if given != ignore_index:
        raise ConfigError(
            f"{key}.ignore_index is {given!r} but the training set ignores label {ignore_index}; "
            f"remove {key}.ignore_index (the loss takes the dataset's)"
        )
    weight = cfg.get("weight")
    loss_class = LOSSES.get(cfg["type"])
    if weight is not None and not getattr(loss_class, "class_weights", True):
        raise ConfigError(f"{key}.weight: {cfg['type']} does not weight classes; remove {key}.weight")
    if isinstance(weight, str):
        if weight not in CLASS_WEIGHTINGS:
            raise ConfigError(
                f"{key}.weight: unknown class weighting '{weight}' (known: {', '.join(CLASS_WEIGHTINGS)}, "
                "or a list of numbers)"
            )
    elif weight is not None:
        cfg["weight"] = check_class_weights(weight, num_classes, f"{key}.weight")
    return cfg


def loss_terms(cfg: Union[dict, list]) -> list[dict]:
    """The entries of a ``loss_config`` result as a list (the dicts themselves, so edits apply to ``cfg``)."""
    return cfg if isinstance(cfg, list) else [cfg]


def build_loss(cfg: Union[dict, list], aux_weights: Sequence[float] = ()) -> SegmentationLoss:
    """Builds the loss of a ``loss_config`` whose weights, if any, are lists of numbers.

    Args:
        cfg: What ``loss_config`` returned, with class weightings computed.
        aux_weights: The loss weight of each auxiliary head (``aux_loss_weights``).
    """
    terms = []
    for entry in loss_terms(cfg):
        if isinstance(entry.get("weight"), str):
            raise ConfigError(f"loss.weight '{entry['weight']}' must be computed from the train labels before building")
        kwargs = {key: value for key, value in entry.items() if key != "coef"}
        loss = LOSSES.build(kwargs)
        if not isinstance(loss, Loss):
            raise ConfigError(
                f"loss '{entry['type']}' is a {type(loss).__name__}; a loss must subclass paddlefcn.models.losses.Loss "
                "(which takes ignore_index and weight)"
            )
        terms.append((loss, float(entry.get("coef", 1.0))))
    return SegmentationLoss(terms, aux_weights)


def check_class_weights(weights: object, num_classes: int, key: str = "loss.weight") -> list[float]:
    """``weights`` as floats if they are ``num_classes`` non-negative numbers; else raises naming ``key``."""
    if not isinstance(weights, (list, tuple)) or len(weights) != num_classes:
        raise ConfigError(f"{key} must list one weight for each of the {num_classes} classes, got {weights!r}")
    values = [check_number(w, f"{key}[{i}]") for i, w in enumerate(weights)]
    if min(values) < 0 or max(values) == 0:
        raise ConfigError(f"{key} must be non-negative and not all 0, got {weights!r}")
    return values
