"""The iteration-based training loop; everything else is a hook.

A hook overrides any of ``before_train``, ``after_step``, ``after_eval``, ``on_interrupt`` and ``after_train``; a
hook with state to resume implements ``state_dict`` / ``load_state_dict``. The built-in hooks are in ``hooks``.
"""

from __future__ import annotations

import logging
import math
import random
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import paddle
from paddle import nn

from paddlefcn.data.resumable import start_at
from paddlefcn.engine.evaluator import EvalResult, PeriodicEvaluation
from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.interrupts import interrupts_deferred


def seed_everything(seed: int) -> None:
    """Seeds Paddle, NumPy and Python (offset by the rank so ranks draw different augmentations)."""
    rank_seed = seed + paddle.distributed.get_rank()
    paddle.seed(rank_seed)
    np.random.seed(rank_seed)
    random.seed(rank_seed)


class Hook:
    """Does nothing at every point of the loop; subclasses override what they need."""

    def before_train(self, trainer: Trainer) -> None:
        """Called once before the first iteration (also after a resume)."""

    def after_step(self, trainer: Trainer) -> None:
        """Called after every iteration; ``trainer.iter`` counts the finished ones."""

    def after_eval(self, trainer: Trainer) -> None:
        """Called after each periodic evaluation, before ``after_step``; the result is ``trainer.last_eval``."""

    def on_interrupt(self, trainer: Trainer) -> None:
        """Called when training stops early: Ctrl-C, or a ``PaddleFCNError`` such as a bad data file."""

    def after_train(self, trainer: Trainer) -> None:
        """Called once after the last iteration."""

    def state_dict(self) -> dict:
        """State to store in checkpoints."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restores ``state_dict()`` output."""


@dataclass(frozen=True)
class StepOutputs:
    """What the last iteration produced.

    Attributes:
        loss: The loss, or ``None`` when it was not finite (the step was skipped).
        lr: The learning rate the step used.
        data_time: Seconds spent waiting for the batch.
        step_time: Seconds of the whole iteration, batch included.
    """

    loss: Optional[float]
    lr: float
    data_time: float
    step_time: float


class Trainer:
    """Runs ``total_iters`` SGD iterations over an endless stream of batches.

    After each iteration the trainer evaluates, if due, and then calls the hooks: ``after_eval`` when it
    evaluated, then ``after_step``. Hooks read what they need from the attributes below, so none depends on
    another having run first.

    Attributes:
        iter: Finished iterations.
        outputs: The last iteration's ``StepOutputs``.
        last_eval: The latest ``EvalResult``, or ``None`` before the first evaluation.
        completed: Set by the caller of ``run``: whether every iteration ran.
        skipped_steps: Iterations skipped because the loss was not finite.

    Args:
        model: The segmentor (possibly wrapped in ``paddle.DataParallel``).
        loader: Training loader whose batch sampler supports ``set_epoch`` (see ``paddlefcn.data.loader``).
        loss_fn: ``loss_fn(logits, labels) -> scalar``.
        optimizer: Steps the parameters; its LR scheduler is ``lr``.
        lr: Stepped once per iteration.
        total_iters: Iterations to train.
        hooks: Called at each point of the loop, in order.
        logger: For messages of the loop itself.
        amp: ``None``, ``"float16"`` (GPU, with loss scaling) or ``"bfloat16"`` (CPU or GPU).
        max_bad_steps: Consecutive non-finite losses after which training stops.
        images_per_step: Images per iteration over all ranks, for throughput.
        evaluation: What to evaluate and how often; ``None`` for no evaluation.
    """

    iter: int
    outputs: Optional[StepOutputs]
    last_eval: Optional[EvalResult]
    completed: bool
    skipped_steps: int

    def __init__(
        self,
        model: nn.Layer,
        loader: Any,
        loss_fn: nn.Layer,
        optimizer: paddle.optimizer.Optimizer,
        lr: paddle.optimizer.lr.LRScheduler,
        total_iters: int,
        hooks: Sequence[Hook],
        logger: logging.Logger,
        amp: Optional[str] = None,
        max_bad_steps: int = 5,
        images_per_step: int = 1,
        evaluation: Optional[PeriodicEvaluation] = None,
    ) -> None:
        if amp not in (None, "float16", "bfloat16"):
            raise PaddleFCNError(f"amp must be float16 or bfloat16, got {amp!r}")
        self.model = model
        self.loader = loader
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.lr = lr
        self.total_iters = total_iters
        self.hooks = list(hooks)
        self.logger = logger
        self.amp = amp
        self.scaler = paddle.amp.GradScaler() if amp == "float16" else None
        self.max_bad_steps = max_bad_steps
        self.images_per_step = images_per_step
        self.evaluation = evaluation
        self.iter = 0
        self.skipped_steps = 0
        self.bad_in_a_row = 0
        self.outputs = None
        self.last_eval = None
        self.completed = False

    def run(self) -> bool:
        """Trains up to ``total_iters``; returns ``False`` if stopped by Ctrl-C.

        On Ctrl-C, or a ``PaddleFCNError`` (bad data, diverged loss), the hooks' ``on_interrupt`` saves the
        last whole step before returning or re-raising.
        """
        self.model.train()
        if self.amp is not None and not self.amp_effective():
            self.logger.warning(
                "Paddle %s does not autocast to %s on %s; this run trains in float32",
                paddle.__version__,
                self.amp,
                paddle.device.get_device(),
            )
        for hook in self.hooks:
            hook.before_train(self)
        try:
            batches = self._batches()
            while self.iter < self.total_iters:
                start = time.perf_counter()
                images, labels = next(batches)[:2]
                data_time = time.perf_counter() - start
                lr = float(self.optimizer.get_lr())  # the rate this step uses; the step advances the schedule
                with interrupts_deferred():  # a checkpoint then holds whole steps only
                    loss = self.step(images, labels)
                    self.iter += 1
                step_time = time.perf_counter() - start
                self.outputs = StepOutputs(loss, lr, data_time, step_time)
                if self.evaluation is not None and self.evaluation.due(self.iter, self.total_iters):
                    self.last_eval = self.evaluation.run(self.model, self.iter)
                    for hook in self.hooks:
                        hook.after_eval(self)
                for hook in self.hooks:
                    hook.after_step(self)
        except (KeyboardInterrupt, PaddleFCNError) as stop:
            # Between steps the state is whole (a skipped step leaves the weights alone), so it is saved.
            for hook in self.hooks:
                hook.on_interrupt(self)
            if isinstance(stop, PaddleFCNError):
                raise
            return False
        for hook in self.hooks:
            hook.after_train(self)
        return True

    def step(self, images: paddle.Tensor, labels: paddle.Tensor) -> Optional[float]:
        """One forward/backward/update; returns the loss, or ``None`` if it was not finite (step skipped)."""
        with self._autocast():
            logits = self.model(images)
        loss = self.loss_fn(logits, labels)
        value = float(loss)
        if not math.isfinite(value):
            self.optimizer.clear_grad()
            self.lr.step()
            self.skipped_steps += 1
            self.bad_in_a_row += 1
            self.logger.warning("iteration %d: loss is %s, step skipped", self.iter + 1, value)
            if self.bad_in_a_row >= self.max_bad_steps:
                raise PaddleFCNError(
                    f"loss was NaN/inf for {self.bad_in_a_row} iterations in a row (up to iteration {self.iter + 1}); "
                    "lower lr.base, add optimizer.grad_clip or check the labels"
                )
            return None
        self.bad_in_a_row = 0
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        self.optimizer.clear_grad()
        self.lr.step()
        return value

    def amp_effective(self) -> bool:
        """Whether autocast really lowers precision here (Paddle ignores it on some devices, e.g. CPU in 3.x)."""
        if self.amp is None:
            return False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with self._autocast():
                probe = paddle.matmul(paddle.ones([2, 2]), paddle.ones([2, 2]))
        return probe.dtype != paddle.float32

    def _autocast(self) -> Any:
        if self.amp is None:
            return nullcontext()
        return paddle.amp.auto_cast(enable=True, dtype=self.amp, level="O1")

    def _batches(self) -> Iterator[Any]:
        per_epoch = len(self.loader)
        if per_epoch == 0:
            raise PaddleFCNError("the training set has fewer samples than one batch (train.batch_size)")
        epoch, skip = divmod(self.iter, per_epoch)
        while True:
            start_at(self.loader, epoch, skip)
            yield from self.loader
            epoch, skip = epoch + 1, 0

    def checkpoint_state(self) -> tuple[dict, dict]:
        """``(state.json contents, trainer.pkl contents)`` for a checkpoint at the current iteration."""
        hooks = {type(h).__name__: h.state_dict() for h in self.hooks if h.state_dict()}
        state = {"skipped_steps": self.skipped_steps, "images_per_step": self.images_per_step, "hooks": hooks}
        rng = {
            "paddle": paddle.get_rng_state(),
            "cuda": paddle.get_cuda_rng_state() if paddle.is_compiled_with_cuda() else None,
            "numpy": np.random.get_state(),
            "python": random.getstate(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "bad_in_a_row": self.bad_in_a_row,
        }
        return state, rng

    def restore(self, state: dict, trainer_state: dict) -> None:
        """Continues from a checkpoint's ``state.json`` and ``trainer.pkl`` (model and optimizer loaded apart)."""
        self.iter = int(state["iter"])
        self.skipped_steps = int(state.get("skipped_steps", 0))
        for hook in self.hooks:
            saved = state.get("hooks", {}).get(type(hook).__name__)
            if saved is not None:
                hook.load_state_dict(saved)
        paddle.set_rng_state(trainer_state["paddle"])
        if trainer_state.get("cuda") is not None and paddle.is_compiled_with_cuda():
            paddle.set_cuda_rng_state(trainer_state["cuda"])
        np.random.set_state(trainer_state["numpy"])
        random.setstate(trainer_state["python"])
        if self.scaler is not None and trainer_state.get("scaler"):
            self.scaler.load_state_dict(trainer_state["scaler"])
        self.bad_in_a_row = int(trainer_state.get("bad_in_a_row", 0))
        saved_images = state.get("images_per_step", self.images_per_step)
        if saved_images != self.images_per_step:
            self.logger.warning(
                "the checkpoint was trained with %d images per iteration, this run uses %d (batch size x processes): "
                "training continues, but the data order is not that of an uninterrupted run",
                saved_images,
                self.images_per_step,
            )
        if paddle.distributed.get_rank() > 0:  # the checkpoint holds rank 0's generators: draw others
            seed_everything(int(np.random.SeedSequence(self.iter).generate_state(1)[0]) >> 1)
