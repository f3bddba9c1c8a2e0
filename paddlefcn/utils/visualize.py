"""Colour masks, palette PNGs and overlays for segmentation results.

Class ``i`` gets ``palette[i]``; the ignore index is drawn white (class 0 is usually black
background). Other values without a palette entry use the VOC colour of that index.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from paddlefcn.utils.image import write_image, write_label
from paddlefcn.utils.palette import Palette, color_table


def colorize(mask: np.ndarray, palette: Palette, ignore_index: int = 255) -> np.ndarray:
    """An RGB image ``[H, W, 3]`` uint8 of a class mask ``[H, W]`` with values in ``[0, 255]``."""
    return color_table(palette, ignore_index)[_as_indices(mask)]


def overlay(
    image_rgb: np.ndarray, mask: np.ndarray, palette: Palette, alpha: float = 0.5, ignore_index: int = 255
) -> np.ndarray:
    """Blends the colourised mask over the image; ignored pixels keep the image's colour.

    Args:
        image_rgb: ``[H, W, 3]`` uint8.
        mask: ``[H, W]`` class indices of the same size.
        palette: Class colours.
        alpha: Weight of the mask colour, in ``[0, 1]``.
        ignore_index: Mask value left unblended.

    Returns:
        ``[H, W, 3]`` uint8.
    """
    image = np.asarray(image_rgb)
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[:2] != np.shape(mask):
        raise ValueError(f"image {image.shape} and mask {np.shape(mask)} must be [H, W, 3] and [H, W]")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    colors = colorize(mask, palette, ignore_index).astype(np.float32)
    blended = (1.0 - alpha) * image.astype(np.float32) + alpha * colors
    blended = np.where((np.asarray(mask) == ignore_index)[..., None], image, blended)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def save_mask_png(path: str | os.PathLike, mask: np.ndarray, palette: Palette, ignore_index: int = 255) -> None:
    """Writes a palette ("P" mode) PNG whose pixel values are the class indices (atomically), ignored pixels white."""
    write_label(path, mask, color_table(palette, ignore_index))


def _as_indices(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"a mask must be a 2-D integer array, got {mask.shape} {mask.dtype}")
    if mask.size and (mask.min() < 0 or mask.max() > 255):
        raise ValueError(f"mask values must be in [0, 255], got [{mask.min()}, {mask.max()}]")
    return mask.astype(np.uint8)


def save_prediction(
    save_dir: str | os.PathLike,
    stem: str,
    image_rgb: np.ndarray,
    mask: np.ndarray,
    palette: Palette,
    alpha: float = 0.5,
    ignore_index: int = 255,
) -> Path:
    """Writes ``<stem>.png`` (palette mask) and ``<stem>_overlay.jpg`` (blend) into ``save_dir``.

    Returns:
        The mask file.
    """
    mask_file = Path(save_dir) / f"{stem}.png"
    save_mask_png(mask_file, mask, palette, ignore_index)
    blend = overlay(image_rgb, mask, palette, alpha, ignore_index)
    write_image(Path(save_dir) / f"{stem}_overlay.jpg", blend)
    return mask_file
