"""The server's answers: masks, overlays, pixel counts, the model's description and one-line JSON errors."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
from fastapi.responses import JSONResponse

from paddlefcn.serve import ServeLimits
from paddlefcn.serve.model_process import ModelSummary
from paddlefcn.utils.image import encode_image, encode_label_png
from paddlefcn.utils.visualize import overlay
from paddlefcn.version import __version__

# ``?format=`` values and the media type of each answer.
MEDIA_TYPES = {"png": "image/png", "overlay": "image/jpeg", "json": "application/json"}
JPEG_QUALITY = 90


def mask_png(labels: np.ndarray, table: np.ndarray) -> bytes:
    """A palette ("P") PNG whose pixel values are the classes, like the masks ``tools/infer.py`` writes.

    Args:
        labels: ``[H, W]`` classes in 0..255.
        table: The ``[256, 3]`` colours (``paddlefcn.utils.palette.color_table`` of the palette).
    """
    return encode_label_png(labels.astype(np.uint8), table)


def overlay_jpeg(image_rgb: np.ndarray, labels: np.ndarray, palette: list[list[int]]) -> bytes:
    """The class colours blended over the image (``paddlefcn.utils.visualize.overlay``), as a JPEG."""
    return encode_image(overlay(image_rgb, labels, palette), ".jpg", JPEG_QUALITY)


def class_counts(labels: np.ndarray, class_names: list[str], palette: list[list[int]]) -> dict:
    """The image size and, for every class, its name, colour, pixel count and share of the image."""
    counts = np.bincount(labels.ravel(), minlength=len(class_names))
    total = int(labels.size)
    return {
        "width": int(labels.shape[1]),
        "height": int(labels.shape[0]),
        "classes": [
            {
                "id": index,
                "name": name,
                "color": list(palette[index]),
                "pixels": int(counts[index]),
                "share": float(counts[index]) / total if total else 0.0,
            }
            for index, name in enumerate(class_names)
        ],
    }


def model_info(summary: ModelSummary, limits: ServeLimits) -> dict:
    """The served model's ``deploy.yaml`` facts (its precision, calibration and accuracy cost included), the backend
    running it, the package versions and the limits."""
    deploy = summary.deploy
    return {
        "model_dir": summary.model_dir,
        "num_classes": deploy.num_classes,
        "classes": deploy.class_names,
        "palette": deploy.palette,
        "transforms": deploy.transforms,
        "input_shape": deploy.input_shape,
        "output_op": deploy.output_op,
        "precision": deploy.precision,
        "calibration": deploy.calibration,
        "accuracy": deploy.accuracy,
        "backend": summary.backend,
        "runtime": summary.runtime,
        "versions": {"paddlefcn": __version__, "paddle": summary.paddle_version},
        "exported_with": deploy.exported_with,
        "limits": asdict(limits),
    }


def error_response(status: int, message: str) -> JSONResponse:
    """The one-line JSON answer ``{"error": message}`` with ``status``."""
    headers = {"Retry-After": "1"} if status == 503 else None
    return JSONResponse({"error": " ".join(message.split())}, status_code=status, headers=headers)
