"""The optimizer (SGD with momentum and L2 weight decay) and the learning-rate schedule."""

from __future__ import annotations

from typing import Optional

import paddle
from paddle import nn
from paddle.optimizer.lr import LinearWarmup, LRScheduler, PolynomialDecay

from paddlefcn.checks import check_int, check_number
from paddlefcn.errors import ConfigError, PaddleFCNError

# Parameter-name fragments of normalisation layers (paddle names BatchNorm weights "batch_norm2d_0.w_0").
_NORM_NAMES = ("norm", "bn")


def build_lr_scheduler(lr_cfg: dict, total_iters: int) -> LRScheduler:
    """Builds the schedule stepped once per iteration.

    Keys: ``type`` (``poly``), ``base``, ``power`` (default 0.9), ``end`` (final rate,
    default 0), ``warmup_iters`` (linear warmup length, default 0), ``warmup_start`` (default ``base / 10``).
    """
    cfg = dict(lr_cfg or {})
    kind = cfg.get("type", "poly")
    base = check_number(cfg.get("base", 0.01), "lr.base", positive=True)
    end = check_number(cfg.get("end", 0.0), "lr.end")
    power = check_number(cfg.get("power", 0.9), "lr.power")
    warmup = check_int(cfg.get("warmup_iters", 0), "lr.warmup_iters", minimum=0)
    if not 0 <= warmup < total_iters:
        raise ConfigError(f"lr.warmup_iters must be in [0, train.iters={total_iters}), got {warmup}")
    if kind != "poly":
        raise PaddleFCNError(f"unknown lr.type '{kind}' (known: poly)")
    schedule = PolynomialDecay(base, total_iters - warmup, end_lr=end, power=power)
    if warmup == 0:
        return schedule
    return LinearWarmup(schedule, warmup, check_number(cfg.get("warmup_start", base / 10), "lr.warmup_start"), base)


def fit_warmup(lr_cfg: Optional[dict], total_iters: int) -> Optional[str]:
    """Shortens a warm-up that is not shorter than the run to a tenth of it, in place.

    A warm-up filling the run would never train at ``lr.base``; this lets ``--iters`` ask for a short run of a
    long recipe.

    Returns:
        A one-line warning saying what changed, or ``None`` when the warm-up fits.
    """
    warmup = (lr_cfg or {}).get("warmup_iters")
    if not isinstance(warmup, int) or isinstance(warmup, bool) or warmup < total_iters:
        return None
    lr_cfg["warmup_iters"] = total_iters // 10
    return (
        f"lr.warmup_iters {warmup} is not shorter than train.iters {total_iters}: "
        f"warming up for {lr_cfg['warmup_iters']} iterations instead"
    )


def split_decay(model: nn.Layer, no_decay: Optional[list[str]]) -> tuple[list, list]:
    """Splits trainable parameters into (decayed, not decayed).

    ``no_decay`` may hold ``"bias"`` (every bias), ``"norm"`` (weights and biases of normalisation
    layers) and any other substring of a parameter's structured name.
    """
    keys = set(no_decay or [])
    norm_params = {
        id(p)
        for layer in model.sublayers(include_self=True)
        if isinstance(layer, (nn.layer.norm._BatchNormBase, nn.LayerNorm, nn.GroupNorm))
        for p in layer.parameters(include_sublayers=False)
    }
    decay, plain = [], []
    for name, param in model.named_parameters():
        if param.stop_gradient:
            continue
        skip = (
            ("bias" in keys and name.endswith("bias"))
            or ("norm" in keys and id(param) in norm_params)
            or any(k in name for k in keys - {"bias", "norm"})
        )
        (plain if skip else decay).append(param)
    return decay, plain


def build_optimizer(model: nn.Layer, opt_cfg: dict, lr: LRScheduler) -> paddle.optimizer.Optimizer:
    """SGD with momentum; keys ``momentum``, ``weight_decay``, ``no_decay``, ``nesterov``, ``grad_clip``."""
    cfg = dict(opt_cfg or {})
    kind = cfg.pop("type", "SGD")
    if kind not in ("SGD", "Momentum"):
        raise PaddleFCNError(f"unknown optimizer.type '{kind}' (known: SGD)")
    weight_decay = float(cfg.get("weight_decay", 0.0))
    decay, plain = split_decay(model, cfg.get("no_decay"))
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if plain:
        groups.append({"params": plain, "weight_decay": 0.0})
    clip = cfg.get("grad_clip")
    if clip is not None:
        check_number(clip, "optimizer.grad_clip", positive=True)
    return paddle.optimizer.Momentum(
        learning_rate=lr,
        momentum=check_number(cfg.get("momentum", 0.9), "optimizer.momentum"),
        parameters=groups,
        use_nesterov=bool(cfg.get("nesterov", False)),
        grad_clip=nn.ClipGradByGlobalNorm(float(clip)) if clip is not None else None,
    )
