"""A training hook that records what an ablation reports: the eval curve, trainable parameters and time."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Optional

import numpy as np

from paddlefcn.engine.checkpoint import unwrap
from paddlefcn.engine.metrics import SUMMARY_KEYS
from paddlefcn.engine.trainer import Hook

if TYPE_CHECKING:
    from paddlefcn.engine.trainer import Trainer


class AblationRecorder(Hook):
    """Keeps each evaluation's summary metrics and the training wall time; both survive a resume.

    Attributes:
        curve: ``{"iter": N, "miou": ..., "pa": ..., "mpa": ..., "fwiou": ...}`` per evaluation.
        params: Trainable parameters of the model.
    """

    def __init__(self) -> None:
        self.curve: list[dict] = []
        self.params = 0
        self._elapsed_before = 0.0
        self._start: Optional[float] = None

    def before_train(self, trainer: Trainer) -> None:
        self._start = time.perf_counter()
        params = (p for p in unwrap(trainer.model).parameters() if not p.stop_gradient)
        self.params = int(sum(int(np.prod(p.shape)) for p in params))

    def after_eval(self, trainer: Trainer) -> None:
        result = trainer.last_eval
        self.curve.append({"iter": result.iter, **{key: result.metrics[key] for key in SUMMARY_KEYS}})

    def elapsed(self) -> float:
        """Seconds of training so far, over all resumed sessions."""
        running = time.perf_counter() - self._start if self._start is not None else 0.0
        return self._elapsed_before + running

    def state_dict(self) -> dict:
        return {"curve": self.curve, "elapsed": self.elapsed()}

    def load_state_dict(self, state: dict) -> None:
        self.curve = list(state["curve"])
        self._elapsed_before = float(state["elapsed"])
