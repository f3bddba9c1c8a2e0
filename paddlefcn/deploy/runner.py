"""Running a ``Predictor`` over image files and writing palette masks and overlays."""

from __future__ import annotations

import os
from pathlib import Path

from paddlefcn.data.io import read_image
from paddlefcn.deploy.predictor import Predictor
from paddlefcn.utils.visualize import save_prediction


def predict_files(predictor: Predictor, images: list[Path], save_dir: str | os.PathLike) -> list[Path]:
    """Segments ``images`` in batches of ``predictor.batch_size``.

    For each image ``<stem>.<ext>`` it writes ``<stem>.png`` (a palette PNG whose pixel values are the classes)
    and ``<stem>_overlay.jpg`` into ``save_dir``, as ``tools/predict.py`` does.

    Returns:
        The mask files written, in input order.
    """
    written = []
    for start in range(0, len(images), predictor.batch_size):
        paths = images[start : start + predictor.batch_size]
        pixels = [read_image(p) for p in paths]
        for path, rgb, labels in zip(paths, pixels, predictor.predict(pixels)):
            written.append(save_prediction(save_dir, path.stem, rgb, labels, predictor.palette))
    return written
