"""Training for a wall-clock budget: measure the run's own costs once, then fix ``train.iters``.

The first steps of the real pipeline (loader, model, loss, optimizer) are timed on a throwaway copy of the
starting state, together with a few validation batches and one checkpoint; the model, its statistics and every
random generator are then put back, so the run that follows is the run ``train.iters`` would give. The count is
written into the run's ``config.yml``, so the schedule, resume and every tool see a fixed number.
"""

from __future__ import annotations

import itertools
import logging
import random
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable, Union

import numpy as np
import paddle
from paddle import nn

from paddlefcn.engine.checkpoint import CheckpointManager
from paddlefcn.engine.evaluator import PeriodicEvaluation, evaluate
from paddlefcn.engine.trainer import Hook, Trainer
from paddlefcn.errors import ConfigError
from paddlefcn.settings import interval_steps

PROBE_WARMUP = 3  # untimed steps first: loader workers start, kernels are chosen
PROBE_STEPS = 8  # timed steps
PROBE_VAL_BATCHES = 3
PROBE_SCHEDULE_ITERS = 1_000_000  # the length of the probe optimizer's LR schedule
MARGIN = 0.03  # of the budget, kept free for what the estimate misses

clock: Callable[[], float] = time.perf_counter  # the one clock of the budget (tests replace it)


@dataclass(frozen=True)
class RunCosts:
    """Seconds that a training run spends, measured on its own pipeline.

    Attributes:
        step: One training iteration, data loading included.
        evaluation: One whole evaluation on the val loader.
        checkpoint: Writing one checkpoint.
    """

    step: float
    evaluation: float
    checkpoint: float


class _StepClock(Hook):
    def __init__(self) -> None:
        self.times: list[float] = []

    def after_step(self, trainer: Trainer) -> None:
        self.times.append(clock())


def measure_costs(
    make_trainer: Callable[[int, list[Hook]], Trainer], evaluation: PeriodicEvaluation, model: nn.Layer
) -> RunCosts:
    """Times a few steps, val batches and one checkpoint, then restores the model and every random generator.

    Args:
        make_trainer: Builds a trainer over the real loader and loss for ``(iterations, hooks)``, with an optimizer
            of its own (its state is thrown away).
        evaluation: The run's evaluation (its loader and options).
        model: The model the trainer steps; its parameters and buffers are put back afterwards.
    """
    weights = {key: value.clone() for key, value in model.state_dict().items()}
    generators = (paddle.get_rng_state(), np.random.get_state(), random.getstate())
    stamps = _StepClock()
    trainer = make_trainer(PROBE_WARMUP + PROBE_STEPS, [stamps])
    trainer.run()
    step = (stamps.times[-1] - stamps.times[PROBE_WARMUP - 1]) / PROBE_STEPS
    batches = len(evaluation.loader)
    shown = min(PROBE_VAL_BATCHES, batches)
    meta = evaluation.meta
    begin = clock()
    evaluate(
        model, itertools.islice(evaluation.loader, shown), meta.num_classes, meta.ignore_index, **evaluation.options
    )
    evaluation_seconds = (clock() - begin) * batches / max(shown, 1)
    with tempfile.TemporaryDirectory(prefix="paddlefcn-budget-") as scratch:
        begin = clock()
        CheckpointManager(scratch, 1).save(0, model, trainer.optimizer, *trainer.checkpoint_state())
        checkpoint_seconds = clock() - begin
    model.set_state_dict(weights)
    paddle.set_rng_state(generators[0])
    np.random.set_state(generators[1])
    random.setstate(generators[2])
    return RunCosts(step, evaluation_seconds, checkpoint_seconds)


def plan_iterations(
    seconds: float,
    costs: RunCosts,
    eval_interval: Union[int, float],
    save_interval: Union[int, float],
    warmup_iters: int,
    budget_text: Any,
) -> int:
    """The most iterations whose steps, evaluations and checkpoints fit in ``seconds`` (less ``MARGIN``).

    Raises:
        ConfigError: Not even the warm-up plus one evaluation fits (the message names the numbers).
    """
    usable = seconds * (1 - MARGIN)

    def spent(iters: int) -> float:
        evaluations = _occurrences(iters, interval_steps(eval_interval, iters))
        checkpoints = _occurrences(iters, interval_steps(save_interval, iters))
        return iters * costs.step + evaluations * costs.evaluation + checkpoints * costs.checkpoint

    fewest = warmup_iters + 1
    if spent(fewest) > usable:
        evaluations = _occurrences(fewest, interval_steps(eval_interval, fewest))
        checkpoints = _occurrences(fewest, interval_steps(save_interval, fewest))
        raise ConfigError(
            f"train.time_budget {budget_text} is too small: {max(seconds, 0):.0f} s remain for training, but the "
            f"shortest run, the warm-up and one more iteration ({fewest} at {costs.step:.2f} s) with "
            f"{evaluations} evaluation(s) ({costs.evaluation:.1f} s each) and {checkpoints} checkpoint(s) "
            f"({costs.checkpoint:.1f} s each), needs {spent(fewest) / (1 - MARGIN):.0f} s"
        )
    iters = max(fewest, int(usable / costs.step))
    while spent(iters) > usable:  # downwards: with fractional intervals spent() is not monotonic in the count
        iters -= 1
    return iters


def _occurrences(iters: int, interval: int) -> int:
    """How often something due every ``interval`` iterations and at the last one happens in ``iters``."""
    return iters // interval + (iters % interval != 0)


def log_plan(logger: logging.Logger, budget_text: Any, costs: RunCosts, iters: int) -> None:
    """One line saying what the budget bought and why."""
    logger.info(
        "time budget %s: %.2f s per iteration, %.1f s per evaluation, %.1f s per checkpoint (measured) -> "
        "train.iters %d (written to config.yml)",
        budget_text,
        costs.step,
        costs.evaluation,
        costs.checkpoint,
        iters,
    )
