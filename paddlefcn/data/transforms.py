"""Joint image/label transforms (OpenCV): images are resampled bilinearly, labels always by nearest neighbour.

Every transform is called as ``t(image, label) -> (image, label)`` with an HWC RGB image (uint8, or
float32 in pixel units 0-255 until ``Normalize``) and an HW int64 label, or ``None`` when there is no
label (inference). Randomness comes from NumPy's global generator, which ``paddle.io.DataLoader``
re-seeds in every worker process.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import cv2
import numpy as np

from paddlefcn.checks import check_int, check_pair
from paddlefcn.data.meta import IGNORE_INDEX
from paddlefcn.errors import PaddleFCNError
from paddlefcn.registry import TRANSFORMS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Label = Optional[np.ndarray]
Size = Union[int, Sequence[int]]


class Compose:
    """Applies transforms in order, then returns the image as CHW float32 and the label as HW int64.

    Args:
        transforms: Callables ``t(image, label) -> (image, label)``.
    """

    def __init__(self, transforms: Sequence[Callable[[np.ndarray, Label], tuple[np.ndarray, Label]]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: np.ndarray, label: Label = None) -> tuple[np.ndarray, Label]:
        for transform in self.transforms:
            image, label = transform(image, label)
        image = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)
        if label is not None:
            label = np.ascontiguousarray(label, dtype=np.int64)
        return image, label

    def __repr__(self) -> str:
        return f"Compose({self.transforms})"

    def fill_labels_with(self, ignore_index: int) -> None:
        """Makes transforms that fill new label pixels use the dataset's ``ignore_index``.

        Raises if one was given another value, which would put an unknown class into the labels.
        """
        for transform in self.transforms:
            if not hasattr(transform, "ignore_index"):
                continue
            if transform.ignore_index is None:
                transform.ignore_index = ignore_index
            elif transform.ignore_index != ignore_index:
                raise PaddleFCNError(
                    f"{type(transform).__name__}: ignore_index {transform.ignore_index} differs from the dataset's "
                    f"ignore_index {ignore_index}; leave it out to use the dataset's"
                )


def build_transforms(cfg_list: Optional[Sequence[dict]]) -> Compose:
    """Builds a ``Compose`` from a config list like ``[{type: RandomHorizontalFlip}, {type: Normalize}]``."""
    if cfg_list is None:
        cfg_list = []
    if not isinstance(cfg_list, (list, tuple)):
        raise PaddleFCNError(f"transforms must be a list of {{type: ...}} mappings, got {cfg_list!r}")
    return Compose([TRANSFORMS.build(cfg) for cfg in cfg_list])


class _Transform:
    """Gives transforms a readable ``repr`` built from their attributes.

    Attributes:
        random: Whether the transform is an augmentation (different on each call); exported models ship
            only the deterministic ones.
    """

    random = False

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


def _pair(size: Size, name: str) -> tuple[int, int]:
    """``size`` (an int or ``[h, w]``) as ``(h, w)``."""
    return check_pair(size, f"{name}: size", PaddleFCNError)


def _check_prob(prob: float, name: str) -> float:
    if not 0.0 <= prob <= 1.0:
        raise PaddleFCNError(f"{name}: prob must be in [0, 1], got {prob!r}")
    return float(prob)


def resize_label(label: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize with pixel centres aligned (as bilinear image resizing aligns them)."""
    in_h, in_w = label.shape
    rows = np.minimum(((np.arange(height) + 0.5) * (in_h / height)).astype(np.int64), in_h - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * (in_w / width)).astype(np.int64), in_w - 1)
    return label[rows[:, None], cols[None, :]]


def _resize(image: np.ndarray, label: Label, height: int, width: int) -> tuple[np.ndarray, Label]:
    if image.shape[:2] != (height, width):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
        if label is not None:
            label = resize_label(label, height, width)
    return image, label


@TRANSFORMS.register()
class Resize(_Transform):
    """Resizes to a fixed size.

    Args:
        size: Target ``[height, width]`` (or one int for a square).
    """

    def __init__(self, size: Size = (512, 512)) -> None:
        self.size = _pair(size, "Resize")

    def __call__(self, image: np.ndarray, label: Label = None) -> tuple[np.ndarray, Label]:
        return _resize(image, label, *self.size)


@TRANSFORMS.register()
class RandomScale(_Transform):
    """Rescales by a random factor.

    Args:
        min: Smallest factor.
        max: Largest factor.
        step: 0 draws factors uniformly from ``[min, max]``; a positive step picks one of
            ``min, min + step, ..., max``.
    """

    random = True

    def __init__(self, min: float = 0.5, max: float = 2.0, step: float = 0.0) -> None:
        if not 0 < min <= max or step < 0:
            raise PaddleFCNError(f"RandomScale: need 0 < min <= max and step >= 0, got min={min} max={max} step={step}")
        self.min, self.max, self.step = float(min), float(max), float(step)

    def __call__(self, image: np.ndarray, label: Label = None) -> tuple[np.ndarray, Label]:
        if self.step > 0:
            choices = np.arange(self.min, self.max + self.step / 2, self.step)
            factor = float(np.random.choice(choices))
        else:
            factor = float(np.random.uniform(self.min, self.max))
        height, width = image.shape[:2]
        return _resize(image, label, max(1, round(height * factor)), max(1, round(width * factor)))


@TRANSFORMS.register()
class RandomPaddingCrop(_Transform):
    """Pads to at least the crop size (bottom and right), then crops a random window.

    Args:
        crop_size: ``[height, width]`` of the output (or one int for a square).
        pad_value: Image fill, ``"mean"`` (``mean`` in pixel units, i.e. 0 after ``Normalize``), a number or
            ``[r, g, b]`` in pixel units 0-255. Apply this transform before ``Normalize``.
        ignore_index: Label fill; default the dataset's ignore index (set by the dataset), else 255.
        mean: The mean colour in [0, 1] units, used by ``pad_value: mean``.
    """

    random = True

    def __init__(
        self,
        crop_size: Size = (512, 512),
        pad_value: Union[str, float, Sequence[float]] = "mean",
        ignore_index: Optional[int] = None,
        mean: Sequence[float] = IMAGENET_MEAN,
    ) -> None:
        self.crop_size = _pair(crop_size, "RandomPaddingCrop")
        if pad_value == "mean":
            fill = [255.0 * m for m in mean]
        elif isinstance(pad_value, (int, float)):
            fill = [float(pad_value)] * 3
        elif isinstance(pad_value, (list, tuple)) and len(pad_value) == 3:
            fill = [float(v) for v in pad_value]
        else:
            raise PaddleFCNError(
                f"RandomPaddingCrop: pad_value must be 'mean', a number or [r, g, b], got {pad_value!r}"
            )
        self.pad_value = fill
        if ignore_index is not None:
            check_int(ignore_index, "RandomPaddingCrop: ignore_index", minimum=0, error=PaddleFCNError)
        self.ignore_index = ignore_index

    def __call__(self, image: np.ndarray, label: Label = None) -> tuple[np.ndarray, Label]:
        crop_h, crop_w = self.crop_size
        height, width = image.shape[:2]
        pad_h, pad_w = max(crop_h - height, 0), max(crop_w - width, 0)
        if pad_h or pad_w:
            fill = [round(v) for v in self.pad_value] if image.dtype == np.uint8 else self.pad_value
            image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=fill)
            if label is not None:
                fill_label = IGNORE_INDEX if self.ignore_index is None else self.ignore_index
                label = np.pad(label, ((0, pad_h), (0, pad_w)), constant_values=fill_label)
            height, width = image.shape[:2]
        top = np.random.randint(0, height - crop_h + 1)
        left = np.random.randint(0, width - crop_w + 1)
        image = image[top : top + crop_h, left : left + crop_w]
        if label is not None:
            label = label[top : top + crop_h, left : left + crop_w]
        return image, label


@TRANSFORMS.register()
class RandomHorizontalFlip(_Transform):
    """Mirrors left-right with probability ``prob``."""

    random = True

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = _check_prob(prob, "RandomHorizontalFlip")

    def __call__(self, image: np.ndarray, label: Label = None) -> tuple[np.ndarray, Label]:
        if np.random.random() < self.prob:
            image = np.ascontiguousarray(image[:, ::-1])
            if label is not None:
                label = np.ascontiguousarray(label[:, ::-1])
        return image, label


@TRANSFORMS.register()
class ColorJitter(_Transform):
    """Random brightness, contrast, saturation and hue, applied in a random order; labels are untouched.

    Args:
        brightness: Pixels are multiplied by a factor in ``[1 - brightness, 1 + brightness]``.
        contrast: Distances from the mean grey are scaled by a factor in ``[1 - contrast, 1 + contrast]``.
        saturation: Distances from each pixel's grey are scaled by a factor in ``[1 - s, 1 + s]``.
        hue: Hue is rotated by up to ``hue`` of a full turn (at most 0.5).
        prob: Probability of jittering an image at all.
    """

    random = True

    def __init__(
        self,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.4,
        hue: float = 0.0,
        prob: float = 1.0,
    ) -> None:
        for name, value in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
            if not 0 <= value <= 1:
                raise PaddleFCNError(f"ColorJitter: {name} must be in [0, 1], got {value!r}")
        if not 0 <= hue <= 0.5:
            raise PaddleFCNError(f"ColorJitter: hue must be in [0, 0.5], got {hue!r}")
        self.brightness, self.contrast, self.saturation, self.hue = brightness, contrast, saturation, hue
        self.prob = _check_prob(prob, "ColorJitter")

    def __call__(self, image: np.ndarray, label: Label = None) -> tuple[np.ndarray, Label]:
        if np.random.random() >= self.prob:
            return image, label
        out = image.astype(np.float32)
        for step in np.random.permutation(4):
            if step == 0 and self.brightness:
                out = out * np.random.uniform(1 - self.brightness, 1 + self.brightness)
            elif step == 1 and self.contrast:
                mean = _grey(out).mean()
                out = (out - mean) * np.random.uniform(1 - self.contrast, 1 + self.contrast) + mean
            elif step == 2 and self.saturation:
                grey = _grey(out)[:, :, None]
                out = (out - grey) * np.random.uniform(1 - self.saturation, 1 + self.saturation) + grey
            elif step == 3 and self.hue:
                out = _rotate_hue(out, np.random.uniform(-self.hue, self.hue) * 360.0)
            out = np.clip(out, 0, 255)
        if image.dtype == np.uint8:
            return np.round(out).astype(np.uint8), label
        return out.astype(image.dtype), label


def _grey(image: np.ndarray) -> np.ndarray:
    return image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _rotate_hue(image: np.ndarray, degrees: float) -> np.ndarray:
    hsv = cv2.cvtColor(image / 255.0, cv2.COLOR_RGB2HSV)
    hsv[:, :, 0] = np.mod(hsv[:, :, 0] + degrees, 360.0)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255.0


@TRANSFORMS.register()
class Normalize(_Transform):
    """Scales pixels to [0, 1], then subtracts ``mean`` and divides by ``std`` (both in [0, 1] units).

    Args:
        mean: Per-channel (RGB) mean; ImageNet's by default.
        std: Per-channel (RGB) standard deviation; ImageNet's by default.
    """

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        if len(mean) != 3 or len(std) != 3 or any(s <= 0 for s in std):
            raise PaddleFCNError(f"Normalize: mean and std need 3 values with std > 0, got mean={mean} std={std}")
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]

    def __call__(self, image: np.ndarray, label: Label = None) -> tuple[np.ndarray, Label]:
        mean = np.array(self.mean, dtype=np.float32)
        std = np.array(self.std, dtype=np.float32)
        return (image.astype(np.float32) / 255.0 - mean) / std, label
