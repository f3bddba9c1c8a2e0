"""Colourised masks, palette PNGs, overlays and image writing."""

import numpy as np
import pytest
from PIL import Image

from paddlefcn.errors import PaddleFCNError
from paddlefcn.utils.image import write_image, write_label
from paddlefcn.utils.palette import voc_palette
from paddlefcn.utils.visualize import colorize, overlay, save_mask_png

PALETTE = [(10, 20, 30), (200, 0, 0), (0, 0, 250)]


def test_voc_palette_as_a_colour_array():
    palette = np.asarray(voc_palette(256), dtype=np.uint8)
    assert palette.shape == (256, 3) and palette.dtype == np.uint8
    assert palette[:4].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]]
    assert palette[15].tolist() == [192, 128, 128]  # VOC "person"
    assert palette[255].tolist() == [224, 224, 192]
    assert len({tuple(c) for c in palette}) == 256


def test_colorize_uses_the_palette_and_draws_ignore_white():
    mask = np.array([[0, 1], [2, 255]])
    rgb = colorize(mask, PALETTE)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert rgb.reshape(-1, 3).tolist() == [[10, 20, 30], [200, 0, 0], [0, 0, 250], [255, 255, 255]]


def test_colorize_rejects_values_outside_a_byte():
    with pytest.raises(ValueError, match="mask values"):
        colorize(np.array([[0, 300]]), PALETTE)


def test_mask_png_is_a_palette_image_that_reads_back_as_class_indices(tmp_path):
    rng = np.random.default_rng(0)
    mask = rng.integers(0, 3, size=(17, 23))
    mask[0, :5] = 255
    path = tmp_path / "sub" / "mask.png"
    save_mask_png(path, mask, PALETTE)
    image = Image.open(path)
    assert image.format == "PNG" and image.mode == "P"
    np.testing.assert_array_equal(np.asarray(image), mask)
    np.testing.assert_array_equal(np.asarray(image.convert("RGB")), colorize(mask, PALETTE))
    assert [p.name for p in path.parent.iterdir()] == ["mask.png"]  # no temporary file left behind


def test_overlay_blends_and_leaves_ignored_pixels_alone():
    image = np.full((2, 2, 3), 100, dtype=np.uint8)
    mask = np.array([[1, 2], [0, 255]])
    out = overlay(image, mask, PALETTE, alpha=0.5)
    assert out.dtype == np.uint8
    assert out[0, 0].tolist() == [150, 50, 50]
    assert out[0, 1].tolist() == [50, 50, 175]
    assert out[1, 1].tolist() == [100, 100, 100]
    np.testing.assert_array_equal(overlay(image, mask, PALETTE, alpha=0.0), image)
    with pytest.raises(ValueError, match="must be"):
        overlay(image, np.zeros((3, 2), dtype=np.int64), PALETTE)


@pytest.mark.parametrize(("name", "fmt"), [("a.png", "PNG"), ("b.jpg", "JPEG")])
def test_write_image_writes_the_format_of_the_extension(tmp_path, name, fmt):
    rgb = np.zeros((16, 24, 3), dtype=np.uint8)
    rgb[..., 0] = np.arange(24) * 10  # a smooth ramp, which JPEG keeps closely
    rgb[..., 2] = 90
    write_image(tmp_path / name, rgb)
    image = Image.open(tmp_path / name)
    assert image.format == fmt and image.mode == "RGB" and image.size == (24, 16)
    assert np.abs(np.asarray(image).astype(int) - rgb).max() <= (0 if fmt == "PNG" else 8)


def test_write_image_with_an_unknown_extension_or_a_wrong_array_is_a_user_error(tmp_path):
    with pytest.raises(PaddleFCNError, match=r"c\.xyz: cannot write an image with extension '\.xyz'"):
        write_image(tmp_path / "c.xyz", np.zeros((2, 2, 3), dtype=np.uint8))
    with pytest.raises(PaddleFCNError, match=r"d\.png: expected an \[H, W, 3\] uint8 image, got \(2, 2\) uint8"):
        write_image(tmp_path / "d.png", np.zeros((2, 2), dtype=np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_label_png_keeps_indices_and_uses_the_voc_colours_after_the_palette(tmp_path):
    label = np.array([[0, 1, 2], [3, 255, 1]], dtype=np.int64)
    write_label(tmp_path / "l.png", label, PALETTE[:2])
    image = Image.open(tmp_path / "l.png")
    assert image.mode == "P"
    np.testing.assert_array_equal(np.asarray(image), label)
    colours = np.asarray(image.getpalette()).reshape(-1, 3)
    assert colours[:2].tolist() == [list(c) for c in PALETTE[:2]]
    assert colours[2:].tolist() == voc_palette(256)[2:]  # 255 keeps VOC's void colour


@pytest.mark.parametrize(
    ("label", "message"),
    [
        (np.zeros((2, 2), dtype=np.float32), r"bad\.png: a label map must be a 2-D integer array"),
        (np.zeros((2, 2, 1), dtype=np.uint8), r"bad\.png: a label map must be a 2-D integer array"),
        (np.array([[0, 256]]), r"bad\.png: label values must be in 0\.\.255 .*got \[0, 256\]"),
    ],
)
def test_writing_a_label_that_is_not_a_byte_map_names_the_file(tmp_path, label, message):
    with pytest.raises(PaddleFCNError, match=message):
        write_label(tmp_path / "bad.png", label)
    assert list(tmp_path.iterdir()) == []
