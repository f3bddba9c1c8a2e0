"""Running a ``Predictor`` over image files and writing palette masks and overlays."""

from __future__ import annotations

import os
from pathlib import Path

from paddlefcn.data import read_image
from paddlefcn.deploy.predictor import Predictor
from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.visualize import overlay, save_image, save_mask_png

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def list_images(source: str | os.PathLike) -> list[Path]:
    """``source`` itself if it is a file, else the images directly inside the directory, sorted by name."""
    path = Path(os.path.expanduser(str(source)))
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise PaddleFCNError(f"input not found: {path}")
    images = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise PaddleFCNError(f"{path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    stems = [p.stem for p in images]
    duplicate = next((s for s in stems if stems.count(s) > 1), None)
    if duplicate is not None:
        raise PaddleFCNError(f"{path}: several images are named '{duplicate}.*'; their outputs would collide")
    return images


def predict_files(predictor: Predictor, images: list[Path], save_dir: str | os.PathLike) -> list[Path]:
    """Segments ``images`` in batches of ``predictor.batch_size``.

    For each image ``<stem>.<ext>`` it writes ``<stem>.png`` (a palette PNG whose pixel values are the classes)
    and ``<stem>_overlay.jpg`` into ``save_dir``, as ``tools/predict.py`` does.

    Returns:
        The mask files written, in input order.
    """
    root = Path(save_dir)
    written = []
    for start in range(0, len(images), predictor.batch_size):
        paths = images[start : start + predictor.batch_size]
        pixels = [read_image(p) for p in paths]
        for path, rgb, labels in zip(paths, pixels, predictor.predict(pixels)):
            mask_file = root / f"{path.stem}.png"
            save_mask_png(mask_file, labels, predictor.palette)
            save_image(root / f"{path.stem}_overlay.jpg", overlay(rgb, labels, predictor.palette))
            written.append(mask_file)
    return written
