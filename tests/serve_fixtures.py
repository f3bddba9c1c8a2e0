"""A tiny exported model and test images for the serving tests."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import paddle
from model_fixtures import TINY_MODEL, scored_model
from PIL import Image

from paddlefcn.deploy import export_model

NORMALIZE = {"type": "Normalize", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
CFG = {"model": TINY_MODEL, "data": {"val": {"type": "FileList", "num_classes": 3, "transforms": [NORMALIZE]}}}


def export_tiny_model(directory: Path, **options: object) -> Path:
    """Exports the tiny three-class model (random score layers, argmax output) to ``directory/export``.

    Args:
        directory: Gets the weights and the export.
        **options: ``export_model`` options (``input_shape`` ...).
    """
    weights = directory / "model.pdparams"
    paddle.save(scored_model().state_dict(), str(weights))
    export_model(CFG, weights, directory / "export", output_op="argmax", **options)
    return directory / "export"


def smooth_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth random RGB image (so the model's classes form regions)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((width, height), Image.BILINEAR))


def encode(image: np.ndarray, fmt: str = "PNG") -> bytes:
    """``image`` encoded in the PIL format ``fmt``."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt)
    return buffer.getvalue()


def image_kinds(image: np.ndarray) -> dict[str, bytes]:
    """``image`` as a JPEG, an 8-bit, a 16-bit, a grayscale and an RGBA PNG, by file name.

    The 16-bit samples are not multiples of 257, so scaling them to 8 bits by rounding or by dropping the low byte
    gives different images.
    """
    rng = np.random.default_rng(0)
    deep = image.astype(np.uint16) * 257 + rng.integers(0, 257, image.shape, dtype=np.uint16)
    alpha = rng.integers(0, 256, image.shape[:2], dtype=np.uint8)
    return {
        "jpeg.jpg": encode(image, "JPEG"),
        "png8.png": encode(image),
        "png16.png": cv2.imencode(".png", deep[:, :, ::-1])[1].tobytes(),
        "gray.png": encode(image[:, :, 1]),
        "rgba.png": encode(np.dstack([image, alpha])),
    }


def png_declaring(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header declares ``width`` x ``height`` RGB pixels (its data is one row)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = zlib.compress(b"\0" * (1 + 3 * min(width, 16)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", row) + chunk(b"IEND", b"")
