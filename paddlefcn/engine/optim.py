"""The optimizer and the learning-rate schedule: built from ``OPTIMIZERS`` and ``LR_SCHEDULES`` by name.

Built in: ``SGD`` (alias ``Momentum``: SGD with momentum and L2 weight decay) and ``poly`` (polynomial decay
after a linear warm-up). A plug-in registers its own entry (``@OPTIMIZERS.register()`` or
``@LR_SCHEDULES.register()``) with this contract:

- an LR schedule is called as ``entry(total_iters=..., **keys)`` and returns a ``paddle.optimizer.lr.LRScheduler``
  that the trainer steps once per iteration;
- an optimizer is called as ``entry(model=..., lr=..., **keys)`` with the model to train and that schedule, and
  returns a ``paddle.optimizer.Optimizer``.

``keys`` are the other keys of the ``lr`` / ``optimizer`` section. An entry's keyword parameters are its keys: a
key that it does not take is refused naming ``lr.<key>`` / ``optimizer.<key>`` and the known ones (an entry
with ``**kwargs`` takes any key).
"""

from __future__ import annotations

import inspect
from typing import Any, Optional

import paddle
from paddle import nn
from paddle.optimizer.lr import LinearWarmup, LRScheduler, PolynomialDecay

from paddlefcn.checks import check_int, check_number
from paddlefcn.errors import ConfigError
from paddlefcn.registry import LR_SCHEDULES, OPTIMIZERS, Registry


def build_lr_scheduler(lr_cfg: dict, total_iters: int) -> LRScheduler:
    """The schedule of the ``lr`` section (``type`` default ``poly``) over ``total_iters`` iterations."""
    return _build(LR_SCHEDULES, "lr", lr_cfg, "poly", total_iters=total_iters)


def build_optimizer(model: nn.Layer, opt_cfg: dict, lr: LRScheduler) -> paddle.optimizer.Optimizer:
    """The optimizer of the ``optimizer`` section (``type`` default ``SGD``) over ``model``, following ``lr``."""
    return _build(OPTIMIZERS, "optimizer", opt_cfg, "SGD", model=model, lr=lr)


def _build(registry: Registry, section: str, cfg: Optional[dict], default_type: str, **inputs: Any) -> Any:
    """The entry of ``registry`` named by ``cfg['type']``, called with the other keys of ``cfg`` and ``inputs``."""
    if not isinstance(cfg or {}, dict):
        raise ConfigError(f"'{section}' must be a mapping, got {cfg!r}")
    cfg = {"type": default_type, **(cfg or {})}
    parameters = inspect.signature(registry.get(cfg["type"])).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        known = sorted({"type", *parameters} - set(inputs))
        for key in cfg:
            if key not in known:
                raise ConfigError(f"unknown config key '{section}.{key}' (known here: {', '.join(known)})")
    return registry.build(cfg, **inputs)


@LR_SCHEDULES.register("poly")
def poly_schedule(
    total_iters: int,
    base: float = 0.01,
    power: float = 0.9,
    end: float = 0.0,
    warmup_iters: int = 0,
    warmup_start: Optional[float] = None,
) -> LRScheduler:
    """``(base - end) * (1 - t/T)^power + end`` after a linear warm-up from ``warmup_start`` to ``base``.

    Args:
        total_iters: Iterations of the run, warm-up included.
        base: The rate at the end of the warm-up.
        power: Exponent of the decay.
        end: The final rate.
        warmup_iters: Length of the warm-up (0: none); shorter than the run.
        warmup_start: The rate of the first iteration of the warm-up (default ``base / 10``).
    """
    base = check_number(base, "lr.base", positive=True)
    end = check_number(end, "lr.end")
    power = check_number(power, "lr.power")
    warmup = check_int(warmup_iters, "lr.warmup_iters", minimum=0)
    if not 0 <= warmup < total_iters:
        raise ConfigError(f"lr.warmup_iters must be in [0, train.iters={total_iters}), got {warmup}")
    schedule = PolynomialDecay(base, total_iters - warmup, end_lr=end, power=power)
    if warmup == 0:
        return schedule
    start = check_number(base / 10 if warmup_start is None else warmup_start, "lr.warmup_start")
    return LinearWarmup(schedule, warmup, start, base)


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


@OPTIMIZERS.register("Momentum")  # Paddle's name for it
@OPTIMIZERS.register("SGD")
def sgd_with_momentum(
    model: nn.Layer,
    lr: LRScheduler,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    no_decay: Optional[list[str]] = None,
    nesterov: bool = False,
    grad_clip: Optional[float] = None,
) -> paddle.optimizer.Optimizer:
    """SGD with momentum and L2 weight decay (``paddle.optimizer.Momentum``).

    Args:
        model: The model whose trainable parameters are optimised.
        lr: The learning-rate schedule.
        momentum: Momentum factor.
        weight_decay: L2 coefficient of the parameters not matched by ``no_decay``.
        no_decay: Parameters without weight decay (see ``split_decay``).
        nesterov: Nesterov momentum.
        grad_clip: Clips the global gradient norm to this value (``None``: no clipping).
    """
    decay, plain = split_decay(model, no_decay)
    groups = [{"params": decay, "weight_decay": float(weight_decay)}]
    if plain:
        groups.append({"params": plain, "weight_decay": 0.0})
    if grad_clip is not None:
        check_number(grad_clip, "optimizer.grad_clip", positive=True)
    return paddle.optimizer.Momentum(
        learning_rate=lr,
        momentum=check_number(momentum, "optimizer.momentum"),
        parameters=groups,
        use_nesterov=bool(nesterov),
        grad_clip=nn.ClipGradByGlobalNorm(float(grad_clip)) if grad_clip is not None else None,
    )
