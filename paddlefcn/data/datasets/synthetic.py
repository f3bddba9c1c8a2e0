"""SyntheticShapes: a procedural segmentation set that needs no download.

Each image shows two to four shapes on a textured, low-saturation background. Most classes have their
own (jittered) hue; ``disc`` and ``ring`` share red and differ only by shape. Rings, bars and cross arms
are about 10 px wide at 96 px, a third of a stride-32 cell, and half the shapes touch an earlier one, so
fine-stride skips matter. Pixels only partly covered by a shape (its anti-aliased outline) are labelled
255 (void), as VOC marks object outlines.

The files are written once in the VOC layout (``JPEGImages``, ``SegmentationClass`` palette PNGs,
``ImageSets/Segmentation/<split>.txt``) so training runs the real loading path. Each set of generation
parameters gets its own directory under ``root``, built in a temporary directory and renamed into place
when complete: a finished directory is never rewritten, so runs with different parameters can share a root.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping, Optional

import cv2
import numpy as np

from paddlefcn.checks import check_int
from paddlefcn.data.datasets.base import SegDataset
from paddlefcn.data.datasets.voc import SPLIT_DIR
from paddlefcn.data.meta import DatasetMeta, make_meta
from paddlefcn.data.transforms import Compose
from paddlefcn.errors import PaddleFCNError
from paddlefcn.registry import DATASETS
from paddlefcn.utils.files import atomic_write_text
from paddlefcn.utils.image import write_image, write_label

# Bump when the drawing code changes, so stale files on disk are regenerated.
GENERATOR_VERSION = 5

CLASS_NAMES = ("background", "disc", "ring", "square", "triangle", "bar", "cross")
PALETTE = (
    (0, 0, 0),
    (220, 20, 60),
    (255, 150, 0),
    (0, 170, 60),
    (40, 90, 255),
    (255, 225, 0),
    (200, 0, 200),
)
# OpenCV hue (0-180) of each shape class; disc and ring share red.
HUES = {1: 0, 2: 0, 3: 60, 4: 118, 5: 30, 6: 150}
HUE_JITTER = 6
SUPERSAMPLE = 4
VOID = 255


def render_shapes(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Draws one sample.

    Args:
        rng: Source of all randomness; the same generator state gives the same sample.
        size: Side of the square image in pixels; shape sizes scale with it (designed at 96).

    Returns:
        An HWC RGB uint8 image and an HW uint8 label of class indices.
    """
    image = _background(rng, size)
    label = np.zeros((size, size), np.uint8)
    scale = size / 96.0
    placed: list[tuple[float, float, float]] = []
    for _ in range(int(rng.integers(2, 5))):
        cls = int(rng.integers(1, len(CLASS_NAMES)))
        radius = float(rng.uniform(16, 27)) * scale
        centre = _place(rng, size, radius, placed)
        placed.append((centre[0], centre[1], radius))
        coverage = _coverage(cls, centre, radius, scale, size, rng)
        colour = _object_colour(rng, cls, size)
        alpha = coverage[:, :, None]
        image = image * (1 - alpha) + colour * alpha
        label[coverage > 0] = VOID  # mixed (anti-aliased) pixels, as VOC marks outlines void
        label[coverage == 1] = cls
    image += rng.normal(0, rng.uniform(2, 7), image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8), label


def _place(
    rng: np.random.Generator, size: int, radius: float, placed: list[tuple[float, float, float]]
) -> tuple[float, float]:
    """A centre inside the image; half the time touching an already placed shape."""
    if placed and rng.random() < 0.5:
        x, y, r = placed[int(rng.integers(len(placed)))]
        angle = rng.uniform(0, 2 * np.pi)
        distance = (r + radius) * rng.uniform(0.75, 1.0)
        cx, cy = x + distance * np.cos(angle), y + distance * np.sin(angle)
        return float(np.clip(cx, 0, size - 1)), float(np.clip(cy, 0, size - 1))
    margin = radius * 0.5
    return float(rng.uniform(margin, size - margin)), float(rng.uniform(margin, size - margin))


def _coverage(
    cls: int, centre: tuple[float, float], radius: float, scale: float, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Fraction of each pixel covered by the shape, from a supersampled point test."""
    steps = (np.arange(size * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    x = steps[None, :] - centre[0]
    y = steps[:, None] - centre[1]
    angle = rng.uniform(0, np.pi)
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    name = CLASS_NAMES[cls]
    if name == "disc":
        inside = x * x + y * y <= radius * radius
    elif name == "ring":
        thickness = rng.uniform(9.0, 12.0) * scale
        outer = max(radius, 20.0 * scale) * 1.1  # a hole of at least 10 px radius sets rings apart from discs
        inside = np.abs(np.sqrt(x * x + y * y) - outer + thickness / 2) <= thickness / 2
    elif name == "square":
        half = radius * 0.85
        inside = (np.abs(u) <= half) & (np.abs(v) <= half)
    elif name == "triangle":
        inside = np.ones_like(u, dtype=bool)
        for k in range(3):
            theta = 2 * np.pi * k / 3 + rng.uniform(-0.2, 0.2)
            inside &= u * np.cos(theta) + v * np.sin(theta) <= radius * 0.6
    elif name == "bar":
        width = rng.uniform(10.0, 13.0) * scale
        inside = (np.abs(u) <= radius * 1.5) & (np.abs(v) <= width / 2)
    else:  # cross
        arm = rng.uniform(12.0, 16.0) * scale / 2
        inside = ((np.abs(u) <= radius) & (np.abs(v) <= arm)) | ((np.abs(v) <= radius) & (np.abs(u) <= arm))
    return inside.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE).mean(axis=(1, 3))


def _object_colour(rng: np.random.Generator, cls: int, size: int) -> np.ndarray:
    """An HWC float colour field: the class hue, jittered, with a linear shading gradient."""
    hue = (HUES[cls] + rng.integers(-HUE_JITTER, HUE_JITTER + 1)) % 180
    hsv = np.array([[[hue, rng.integers(150, 246), rng.integers(140, 246)]]], np.uint8)
    rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)
    ramp = np.linspace(-1, 1, size, dtype=np.float32)
    direction = rng.uniform(0, 2 * np.pi)
    gradient = np.cos(direction) * ramp[None, :] + np.sin(direction) * ramp[:, None]
    shade = 1 + rng.uniform(0, 0.15) * gradient
    return rgb[None, None, :] * shade[:, :, None]


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A low-saturation textured background with grey distractor strokes."""
    hsv = np.array([[[rng.integers(0, 180), rng.integers(0, 50), rng.integers(60, 200)]]], np.uint8)
    base = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)
    cells = int(rng.integers(3, 9))
    blotches = cv2.resize(rng.normal(0, 1, (cells, cells)).astype(np.float32), (size, size))
    ramp = np.arange(size, dtype=np.float32)
    period, direction = rng.uniform(6, 20), rng.uniform(0, np.pi)
    stripes = np.sin(2 * np.pi * (np.cos(direction) * ramp[None, :] + np.sin(direction) * ramp[:, None]) / period)
    texture = rng.uniform(10, 30) * blotches + rng.uniform(0, 14) * stripes
    image = base[None, None, :] + texture[:, :, None]
    for _ in range(int(rng.integers(0, 4))):
        grey = float(rng.uniform(40, 220))
        start = tuple(int(v) for v in rng.integers(0, size, 2))
        end = tuple(int(v) for v in rng.integers(0, size, 2))
        cv2.line(image, start, end, (grey, grey, grey), int(rng.integers(2, 6)), cv2.LINE_AA)
    return image


def _split_seed(seed: int, split: str) -> int:
    return zlib.crc32(split.encode("utf-8")) ^ (seed & 0xFFFFFFFF)


@DATASETS.register()
class SyntheticShapes(SegDataset):
    """Procedural shapes written under ``root`` in the VOC layout on first use, reused afterwards.

    Args:
        root: Parent directory; each split and parameter set gets its own VOC tree in it (``self.root``),
            e.g. ``train-96px-400img-seed0-v5``.
        split: List name, e.g. ``train`` or ``val``; each split draws different images.
        num_images: Number of images in this split.
        size: Image side in pixels.
        seed: Base seed; the same seed, split and sizes give identical files.
        transforms: Applied to every sample.
        label_map: Label value -> class or ignore value, e.g. ``{255: 1}``; other values stay (docs/data.md).
    """

    def __init__(
        self,
        root: str | os.PathLike = "data/synthetic",
        split: str = "train",
        num_images: int = 400,
        size: int = 96,
        seed: int = 0,
        transforms: Optional[Compose] = None,
        label_map: Optional[Mapping[int, int]] = None,
    ) -> None:
        for key, value, low in (("num_images", num_images, 1), ("size", size, 32), ("seed", seed, 0)):
            check_int(value, f"SyntheticShapes: {key}", minimum=low, error=PaddleFCNError)
        params = {"generator": GENERATOR_VERSION, "split": split, "num_images": num_images, "size": size, "seed": seed}
        names = [f"{split}_{i:05d}" for i in range(num_images)]
        tree = Path(root) / split_directory_name(params)
        with _exclusive_lock(Path(root) / f".synthetic_{split}.lock"):
            if not tree.is_dir():
                _generate_split(tree, params, names)
        samples = [(str(tree / "JPEGImages" / f"{n}.jpg"), str(tree / "SegmentationClass" / f"{n}.png")) for n in names]
        source = str(tree / SPLIT_DIR / f"{split}.txt")
        super().__init__(samples, self.describe({}), transforms, source, label_map)
        self.root = str(tree)
        self.split = split

    @classmethod
    def describe(cls, cfg: dict) -> DatasetMeta:
        """Seven classes: background and six shapes."""
        return make_meta(len(CLASS_NAMES), CLASS_NAMES, PALETTE)


def split_directory_name(params: dict) -> str:
    """The directory of one split and parameter set, e.g. ``train-96px-400img-seed0-v5``."""
    return "{split}-{size}px-{num_images}img-seed{seed}-v{generator}".format(**params)


def _generate_split(tree: Path, params: dict, names: list[str]) -> None:
    """Draws the split into a temporary sibling of ``tree`` and renames it to ``tree`` once complete."""
    tree.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{tree.name}-", dir=tree.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the set is meant to be shared
    try:
        base_seed = _split_seed(params["seed"], params["split"])
        for index, name in enumerate(names):
            image, label = render_shapes(np.random.default_rng([base_seed, index]), params["size"])
            write_image(staging / "JPEGImages" / f"{name}.jpg", image)
            write_label(staging / "SegmentationClass" / f"{name}.png", label, PALETTE)
        atomic_write_text(staging / SPLIT_DIR / f"{params['split']}.txt", "".join(f"{n}\n" for n in names))
        atomic_write_text(staging / "synthetic.json", json.dumps(params, indent=2) + "\n")
        try:
            staging.rename(tree)
        except OSError:
            if not tree.is_dir():  # else another process without our lock (e.g. on NFS) finished it first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Holds an exclusive lock on ``path`` across processes (e.g. distributed ranks starting together)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if os.name == "nt":
            import msvcrt

            handle.seek(0)
            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)  # gives up after 10 s; retry
                    break
                except OSError:
                    continue
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
