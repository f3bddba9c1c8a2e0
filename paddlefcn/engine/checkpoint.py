"""Checkpoints written atomically: ``checkpoints/iter_<N>/``, a ``latest`` pointer, ``best/``, keep-last-K.

A checkpoint directory holds ``model.pdparams``, ``optim.pdopt`` (optimizer with its LR schedule),
``state.json`` (iteration, best metric, counters) and ``trainer.pkl`` (RNG and AMP scaler states).
Each is first written into a hidden temporary directory that is renamed into place, so a crash
never leaves a half-written checkpoint and never destroys the previous one.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
from pathlib import Path
from typing import Any, Optional

import paddle
from paddle import nn

from paddlefcn.engine.metrics import SUMMARY_KEYS
from paddlefcn.engine.weights import load_model_weights
from paddlefcn.errors import ConfigError, PaddleFCNError
from paddlefcn.utils.files import atomic_write_text, finish_interrupted_writes, write_dir_atomically

CHECKPOINT_DIR = "checkpoints"
LATEST_FILE = "latest"
BEST_DIR = "best"
MODEL_FILE = "model.pdparams"
OPTIM_FILE = "optim.pdopt"
STATE_FILE = "state.json"
TRAINER_FILE = "trainer.pkl"
_ITER_DIR = re.compile(r"^iter_(\d+)$")


def unwrap(model: nn.Layer) -> nn.Layer:
    """The plain model inside a ``paddle.DataParallel``."""
    return getattr(model, "_layers", model)


def _write_files(directory: Path, files: dict[str, Any]) -> None:
    """Writes ``files`` (name -> content) into ``directory``: ``.json`` as JSON, ``.pkl`` with pickle, others with
    ``paddle.save``."""
    for name, content in files.items():
        if name.endswith(".json"):
            (directory / name).write_text(json.dumps(content, indent=2), encoding="utf-8")
        elif name.endswith(".pkl"):
            with open(directory / name, "wb") as f:
                pickle.dump(content, f)
        else:
            paddle.save(content, str(directory / name))


def _rename_keys(state: dict, names: dict[str, str]) -> dict:
    """Renames keys that are, or start with, a parameter name followed by ``_`` (optimizer accumulators)."""
    by_length = sorted(names, key=len, reverse=True)

    def rename(key: str) -> str:
        for name in by_length:
            if key == name or key.startswith(name + "_"):
                return names[name] + key[len(name) :]
        return key

    return {
        rename(key): _rename_keys(value, names) if isinstance(value, dict) else value for key, value in state.items()
    }


def portable_optimizer_state(model: nn.Layer, state: dict) -> dict:
    """Optimizer state keyed by structured parameter names (``backbone.layer1.0.conv1.weight``).

    Paddle keys accumulators by parameter names such as ``conv2d_78.w_0``, which depend on how many
    layers the process built before; structured names make checkpoints load in any process.
    """
    return _rename_keys(state, {p.name: f"@{n}" for n, p in unwrap(model).named_parameters()})


def local_optimizer_state(model: nn.Layer, state: dict) -> dict:
    """The inverse of ``portable_optimizer_state`` for this process's parameters."""
    return _rename_keys(state, {f"@{n}": p.name for n, p in unwrap(model).named_parameters()})


class CheckpointManager:
    """Saves and finds the checkpoints of one run.

    Finding checkpoints changes nothing on disk; a run calls ``repair`` once, at its start, to complete or remove
    what interrupted writes left behind.

    Args:
        save_dir: The run directory.
        keep: How many ``iter_<N>`` checkpoints to keep (the newest); ``best/`` is kept apart.
    """

    def __init__(self, save_dir: str | os.PathLike, keep: int = 3) -> None:
        if keep < 1:
            raise ConfigError(f"train.keep_checkpoints must be >= 1, got {keep}")
        self.save_dir = Path(save_dir)
        self.root = self.save_dir / CHECKPOINT_DIR
        self.keep = keep

    def repair(self) -> None:
        """Completes or removes what interrupted writes of stopped processes left in the run (``best/``,
        ``checkpoints/``); see ``finish_interrupted_writes``."""
        for directory in (self.save_dir, self.root):
            finish_interrupted_writes(directory)

    def save(
        self, iteration: int, model: nn.Layer, optimizer: paddle.optimizer.Optimizer, state: dict, trainer_state: dict
    ) -> Path:
        """Writes ``iter_<iteration>/``, points ``latest`` at it and prunes old checkpoints."""
        target = self.root / f"iter_{iteration}"
        files = {
            MODEL_FILE: unwrap(model).state_dict(),
            OPTIM_FILE: portable_optimizer_state(model, optimizer.state_dict()),
            STATE_FILE: {"iter": iteration, **state},
            TRAINER_FILE: trainer_state,
        }
        write_dir_atomically(target, lambda directory: _write_files(directory, files))
        atomic_write_text(self.root / LATEST_FILE, target.name + "\n")
        for old in self.iteration_dirs()[: -self.keep]:
            shutil.rmtree(old, ignore_errors=True)
        return target

    def save_best(self, model: nn.Layer, iteration: int, metrics: dict) -> Path:
        """Writes the model and its metrics to ``best/``."""
        target = self.save_dir / BEST_DIR
        summary = {k: metrics[k] for k in SUMMARY_KEYS if k in metrics}
        files = {MODEL_FILE: unwrap(model).state_dict(), STATE_FILE: {"iter": iteration, **summary}}
        write_dir_atomically(target, lambda directory: _write_files(directory, files))
        return target

    def iteration_dirs(self) -> list[Path]:
        """Complete ``iter_<N>`` directories, oldest first."""
        if not self.root.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.root.iterdir() if (m := _ITER_DIR.match(p.name)) and p.is_dir()]
        return [p for _, p in sorted(found)]

    def latest(self) -> Optional[Path]:
        """The checkpoint ``latest`` names, or the newest one if the pointer is missing."""
        pointer = self.root / LATEST_FILE
        if pointer.is_file():
            named = self.root / pointer.read_text(encoding="utf-8").strip()
            if named.is_dir():
                return named
        dirs = self.iteration_dirs()
        return dirs[-1] if dirs else None


def load_checkpoint(
    path: str | os.PathLike, model: nn.Layer, optimizer: paddle.optimizer.Optimizer
) -> tuple[dict, dict]:
    """Restores model and optimizer from a checkpoint directory.

    Returns:
        ``(state, trainer_state)``: the contents of ``state.json`` and ``trainer.pkl``.
    """
    directory = Path(path)
    for name in (MODEL_FILE, OPTIM_FILE, STATE_FILE, TRAINER_FILE):
        if not (directory / name).is_file():
            raise PaddleFCNError(f"cannot resume from {directory}: {name} is missing (not a checkpoint directory?)")
    load_model_weights(unwrap(model), directory / MODEL_FILE)  # exactly the model's keys and shapes
    file = directory / OPTIM_FILE
    try:
        optimizer.set_state_dict(local_optimizer_state(model, paddle.load(str(file))))
        file = directory / STATE_FILE
        state = json.loads(file.read_text(encoding="utf-8"))
        file = directory / TRAINER_FILE
        with open(file, "rb") as f:
            trainer_state = pickle.load(f)
    except (OSError, ValueError, pickle.UnpicklingError, EOFError) as err:
        raise PaddleFCNError(f"cannot resume from {file}: {type(err).__name__}: {err}") from err
    return state, trainer_state


def resolve_resume(manager: CheckpointManager, resume: Optional[str]) -> Optional[Path]:
    """The checkpoint to resume from: ``None``, ``"auto"`` (latest of the run, if any) or a path.

    Without ``resume``, the run directory must hold no checkpoints: a new run there would prune the old run's
    newer checkpoints in favour of its own, and ``--resume auto`` would later pick up the old run.
    """
    if resume is None:
        earlier = manager.iteration_dirs()
        if earlier:
            raise PaddleFCNError(
                f"{manager.root} holds checkpoints of an earlier run (up to {earlier[-1].name}): "
                "continue it with --resume auto, or train into another --save-dir"
            )
        return None
    if resume == "auto":
        return manager.latest()
    path = Path(resume)
    if not path.is_dir():
        raise PaddleFCNError(f"--resume: checkpoint directory not found: {path}")
    return path
