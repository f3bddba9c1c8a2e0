"""The config sections with fixed keys, each declared once: its keys, defaults, checks and what they mean.

A section is a frozen dataclass whose fields are ``setting(default, check, doc)``; ``config.schema()`` derives the
known keys from ``SECTIONS`` and ``Section.of(cfg)`` reads a config's section with defaults filled in and every value
checked (an error names the key). Adding a key is one field here. Sections whose keys depend on what they build
(``loss``, ``optimizer``, ``lr``, the datasets and the model parts) are checked by the registered class that builds
them instead.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Optional, Sequence, TypeVar, Union

from paddlefcn.checks import check_bool, check_int, check_pair, is_int
from paddlefcn.errors import ConfigError, PaddleFCNError

S = TypeVar("S", bound="Section")
Check = Callable[[Any, str], Any]  # (value, dotted key) -> the checked value, or raises naming the key

REQUIRED = object()  # the default of a key that has none: reading the section without it is an error
CLASS_WEIGHTINGS = ("median_frequency", "inverse_log")  # loss.weight names computed from the train labels
INFERENCE_MODES = ("whole", "slide")
OUTPUT_OPS = ("argmax", "softmax", "none")
DYNAMIC_SHAPE = (-1, 3, -1, -1)


def setting(default: Any, check: Optional[Check], doc: str) -> Any:
    """A section key: its default (``REQUIRED`` for none), its check (``None``: checked by what builds it) and doc."""
    if isinstance(default, (list, dict)):
        raise TypeError("a setting's default must be immutable (use a tuple)")
    return dataclasses.field(default=default, metadata={"check": check, "doc": doc})


class Section:
    """A config section with fixed keys; subclasses are frozen dataclasses of ``setting`` fields."""

    name: ClassVar[str]

    @classmethod
    def keys(cls) -> list[str]:
        """The keys the section knows, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def docs(cls) -> dict[str, str]:
        """What each key means."""
        return {f.name: f.metadata["doc"] for f in dataclasses.fields(cls)}

    @classmethod
    def of(cls: type[S], cfg: dict, **given: Any) -> S:
        """The section of ``cfg`` with defaults filled in and checked; ``given`` values (not ``None``) win."""
        values = dict(cfg.get(cls.name) or {})
        values.update({key: value for key, value in given.items() if value is not None})
        return cls.from_values(values)

    @classmethod
    def from_values(cls: type[S], values: dict) -> S:
        """The section from its key/value mapping (unknown keys are refused by ``config.validate`` at load)."""
        checked = {}
        for f in dataclasses.fields(cls):
            key = f"{cls.name}.{f.name}"
            value = values.get(f.name, f.default)
            if value is REQUIRED:
                raise ConfigError(f"missing required key '{key}'")
            if value is None and f.default is REQUIRED:
                raise ConfigError(f"required key '{key}' is null")
            check = f.metadata["check"]
            checked[f.name] = value if check is None or value is None and f.default is None else check(value, key)
        section = cls(**checked)
        section.validate()
        return section

    def validate(self) -> None:
        """Checks that involve several keys; raises naming them."""

    def as_dict(self) -> dict:
        """The checked values by key."""
        return dataclasses.asdict(self)


def positive_int(value: Any, key: str) -> int:
    return check_int(value, key)


def non_negative_int(value: Any, key: str) -> int:
    return check_int(value, key, minimum=0)


def boolean(value: Any, key: str) -> bool:
    return check_bool(value, key)


def one_of(*choices: str) -> Check:
    """A check that the value is one of ``choices``."""

    def check(value: Any, key: str) -> str:
        if value not in choices:
            raise ConfigError(f"{key} must be one of {', '.join(choices)}, got {value!r}")
        return value

    return check


def duration_check(value: Any, key: str) -> float:
    """Seconds of a duration: a number of seconds, or a string with the unit ``s``, ``m`` or ``h`` (``"25m"``)."""
    text = str(value).strip()
    scale = {"s": 1, "m": 60, "h": 3600}.get(text[-1:].lower(), 1) if text else 1
    number = text[:-1] if text[-1:].isalpha() else text
    try:
        seconds = float(number) * scale
    except ValueError:
        seconds = float("nan")
    if isinstance(value, bool) or not seconds > 0 or seconds == float("inf"):
        raise ConfigError(f"{key} must be a duration such as 90s, 25m or 1.5h (or seconds), got {value!r}")
    return seconds


def interval_check(value: Any, key: str) -> Union[int, float]:
    """A positive number of iterations, or a fraction of the run in ``(0, 1]``."""
    if is_int(value) and value >= 1:
        return value
    if isinstance(value, float) and 0 < value <= 1:
        return value
    raise ConfigError(f"{key} must be a number of iterations (>= 1) or a fraction of the run in (0, 1], got {value!r}")


def interval_steps(interval: Union[int, float], iters: int) -> int:
    """Iterations between two events given as ``interval_check`` allows, in a run of ``iters``."""
    return interval if is_int(interval) else max(1, round(interval * iters))


@dataclass(frozen=True)
class TrainSettings(Section):
    """``train``: how long, in what batches, and how often to log, evaluate and save."""

    name: ClassVar[str] = "train"
    iters: int = setting(1000, positive_int, "iterations to train")
    batch_size: int = setting(8, positive_int, "images per iteration and process")
    time_budget: Optional[float] = setting(
        None, duration_check, "wall-clock budget (90s, 25m, 1.5h) from which the run fixes iters, written to config.yml"
    )
    eval_interval: Union[int, float] = setting(
        500, interval_check, "iterations between evaluations, or a fraction of the run (0.25); one at the end"
    )
    save_interval: Union[int, float] = setting(
        500, interval_check, "iterations between checkpoints, or a fraction of the run; one at the end"
    )
    keep_checkpoints: int = setting(3, positive_int, "checkpoints kept besides best/")
    log_interval: int = setting(20, positive_int, "iterations between log lines and VisualDL scalars")
    amp: bool = setting(False, boolean, "mixed precision: float16 on GPU, bfloat16 on CPU")
    seed: int = setting(0, non_negative_int, "seed of initialisation, shuffling and augmentation")
    max_bad_steps: int = setting(5, positive_int, "consecutive NaN/inf losses after which training stops")
    vis_images: int = setting(4, non_negative_int, "val images drawn as prediction panels in VisualDL")
    sync_bn: bool = setting(True, boolean, "SyncBatchNorm across GPUs in data-parallel training")

    @property
    def eval_every(self) -> int:
        """Iterations between evaluations in this run."""
        return interval_steps(self.eval_interval, self.iters)

    @property
    def save_every(self) -> int:
        """Iterations between checkpoints in this run."""
        return interval_steps(self.save_interval, self.iters)


@dataclass(frozen=True)
class RuntimeSettings(Section):
    """``runtime``: CPU threads and kernels (docs/performance.md has the measurements behind the defaults)."""

    name: ClassVar[str] = "runtime"
    cpu_threads: Optional[int] = setting(None, positive_int, "threads per process; null: OMP_NUM_THREADS, else cores")
    onednn: bool = setting(False, boolean, "oneDNN kernels in dygraph (no faster here, docs/performance.md)")


def scales_check(value: Any, key: str) -> tuple[float, ...]:
    scales = [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if (
        not isinstance(scales, (list, tuple))
        or not scales
        or not all(isinstance(s, (int, float)) and not isinstance(s, bool) and s > 0 for s in scales)
    ):
        raise PaddleFCNError(f"inference scales must be positive numbers, got {value!r}")
    return tuple(float(s) for s in scales)


def mode_check(value: Any, key: str) -> str:
    if value not in INFERENCE_MODES:
        raise PaddleFCNError(f"unknown inference mode {value!r} (known: {', '.join(INFERENCE_MODES)})")
    return value


def window_check(what: str) -> Check:
    """A check of a sliding-window pair (``crop size`` or ``stride``)."""

    def check(value: Any, key: str) -> tuple[int, int]:
        return check_pair(value, what, PaddleFCNError)

    return check


@dataclass(frozen=True)
class EvalSettings(Section):
    """``eval``: how the model is run at evaluation (during training, by val.py and predict.py)."""

    name: ClassVar[str] = "eval"
    mode: str = setting("whole", mode_check, "whole image, or slide windows of crop_size")
    crop_size: Optional[tuple[int, int]] = setting(None, window_check("crop size"), "sliding-window size [h, w]")
    stride: Optional[tuple[int, int]] = setting(None, window_check("stride"), "window step; default half the crop")
    flip: bool = setting(False, boolean, "average with the horizontally mirrored image")
    scales: tuple[float, ...] = setting((1.0,), scales_check, "average over these resize factors")
    batch_size: int = setting(1, positive_int, "val images per batch")

    def validate(self) -> None:
        if self.mode != "slide":
            return
        if self.crop_size is None:
            raise PaddleFCNError("slide inference needs a crop size (--crop-size H W or eval.crop_size)")
        step = self.window[1]
        if step[0] > self.crop_size[0] or step[1] > self.crop_size[1]:
            raise PaddleFCNError(f"slide stride {list(step)} is larger than the crop size {list(self.crop_size)}")

    @property
    def window(self) -> Optional[tuple[tuple[int, int], tuple[int, int]]]:
        """``(crop (h, w), stride (h, w))`` of slide mode, ``None`` for whole images."""
        if self.mode != "slide":
            return None
        crop = self.crop_size
        return crop, self.stride if self.stride is not None else (max(1, crop[0] // 2), max(1, crop[1] // 2))

    def inference_options(self) -> dict:
        """The keyword arguments of ``predict_logits`` and ``evaluate``."""
        return {key: value for key, value in self.as_dict().items() if key != "batch_size"}


def input_shape_check(value: Any, key: str) -> tuple[int, ...]:
    values = list(value) if isinstance(value, (list, tuple)) else None
    if (
        values is None
        or len(values) != 4
        or not all(is_int(v) and (v == -1 or v > 0) for v in values)
        or values[1] != 3
    ):
        raise PaddleFCNError(f"input shape must be N 3 H W with -1 for a dynamic dimension, got {value!r}")
    return tuple(values)


def output_op_check(value: Any, key: str) -> str:
    if value not in OUTPUT_OPS:
        raise PaddleFCNError(f"unknown output op '{value}' (known: {', '.join(OUTPUT_OPS)})")
    return value


@dataclass(frozen=True)
class ExportSettings(Section):
    """``export``: the graph ``tools/export.py`` writes."""

    name: ClassVar[str] = "export"
    output_op: str = setting("argmax", output_op_check, "argmax (labels), softmax or none (logits)")
    input_shape: tuple[int, ...] = setting(DYNAMIC_SHAPE, input_shape_check, "N 3 H W, -1 for a dynamic dimension")
    resize: Optional[Sequence[int]] = setting(None, None, "[h, w] the deployed model resizes inputs to")
    precision: str = setting("fp32", one_of("fp32", "bf16", "int8"), "fp32; bf16: Paddle Inference; int8: ONNX Runtime")
    calib_images: int = setting(64, positive_int, "int8: images calibrated on, spread over calib_split")
    calib_split: str = setting("train", one_of("train", "val", "test"), "int8: the data split calibrated on")
    calib_method: str = setting("minmax", one_of("minmax", "percentile", "entropy"), "int8: activation ranges from")
    check_images: int = setting(32, non_negative_int, "bf16/int8: val images scored against fp32 (0: no check)")
    max_miou_drop: Optional[float] = setting(1.0, None, "bf16/int8: largest val mIoU drop in points; null: no limit")


@dataclass(frozen=True)
class DataSettings(Section):
    """``data``: the datasets (each checked by its registered class) and how they are loaded."""

    name: ClassVar[str] = "data"
    train: Optional[dict] = setting(None, None, "the training set: {type: ..., transforms: [...]}")
    val: Optional[dict] = setting(None, None, "the validation set")
    test: Optional[dict] = setting(None, None, "a test set")
    num_workers: int = setting(0, non_negative_int, "loader worker processes per rank")


@dataclass(frozen=True)
class ModelSettings(Section):
    """``model``: the segmentor (backbone, head and auxiliary heads are checked by their registered classes)."""

    name: ClassVar[str] = "model"
    num_classes: int = setting(REQUIRED, positive_int, "classes the model predicts")
    backbone: Optional[dict] = setting(None, None, "{type: ResNet34, pretrained: imagenet | null | path}")
    head: Optional[dict] = setting(None, None, "{type: FCN8s, upsampler: {...}}")
    aux_heads: Optional[list] = setting(None, None, "training-only heads: [{type, feature, loss_weight}]")


# The sections with fixed keys, by name; the values of the others are checked by what builds them.
SECTIONS: dict[str, type[Section]] = {
    cls.name: cls for cls in (ModelSettings, DataSettings, TrainSettings, EvalSettings, ExportSettings, RuntimeSettings)
}
FREE_SECTIONS = ("imports", "loss", "optimizer", "lr")
