"""Joint transforms: shapes, ignore padding, flip symmetry, nearest labels, normalisation, None labels."""

import numpy as np
import pytest

from paddlefcn import TRANSFORMS
from paddlefcn.data import Compose, build_transforms
from paddlefcn.data.transforms import (
    ColorJitter,
    Normalize,
    RandomHorizontalFlip,
    RandomPaddingCrop,
    RandomScale,
    Resize,
    resize_label,
)
from paddlefcn.errors import PaddleFCNError


def _sample(height=6, width=8, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    label = rng.integers(0, 5, (height, width)).astype(np.int64)
    return image, label


def test_all_transforms_are_registered():
    for name in ("RandomScale", "RandomPaddingCrop", "RandomHorizontalFlip", "Resize", "Normalize", "ColorJitter"):
        assert name in TRANSFORMS


def test_resize_sets_size_and_upsamples_labels_by_repeating():
    image, label = _sample(3, 4)
    out_image, out_label = Resize(size=[6, 8])(image, label)
    assert out_image.shape == (6, 8, 3) and out_image.dtype == np.uint8
    np.testing.assert_array_equal(out_label, np.repeat(np.repeat(label, 2, axis=0), 2, axis=1))
    assert out_label.dtype == np.int64


def test_nearest_downsampling_picks_pixel_centres():
    label = np.arange(64, dtype=np.int64).reshape(8, 8)
    np.testing.assert_array_equal(resize_label(label, 4, 4), label[1::2, 1::2])


def test_resize_label_only_takes_existing_values():
    image, label = _sample(7, 9)
    _, out = Resize(size=[13, 5])(image, label * 50)
    assert set(np.unique(out)) <= set(np.unique(label * 50))


def test_resize_accepts_int_and_rejects_bad_sizes():
    assert Resize(size=5)(*_sample())[0].shape == (5, 5, 3)
    with pytest.raises(PaddleFCNError, match="Resize"):
        Resize(size=[0, 4])


def test_random_scale_range_and_step():
    image, label = _sample(10, 20)
    for _ in range(10):
        out_image, out_label = RandomScale(min=0.5, max=2.0)(image, label)
        height, width = out_image.shape[:2]
        assert 5 <= height <= 20 and abs(width - 2 * height) <= 1
        assert out_label.shape == (height, width)
    heights = {RandomScale(min=0.5, max=1.5, step=0.5)(image, label)[0].shape[0] for _ in range(40)}
    assert heights == {5, 10, 15}


def test_random_scale_rejects_bad_range():
    with pytest.raises(PaddleFCNError, match="RandomScale"):
        RandomScale(min=2.0, max=1.0)


def test_padding_crop_pads_label_with_ignore_and_image_with_mean():
    image, label = _sample(4, 5)
    out_image, out_label = RandomPaddingCrop(crop_size=[6, 7], pad_value="mean", ignore_index=255)(image, label)
    assert out_image.shape == (6, 7, 3) and out_label.shape == (6, 7)
    np.testing.assert_array_equal(out_image[:4, :5], image)
    np.testing.assert_array_equal(out_label[:4, :5], label)
    assert (out_label[4:, :] == 255).all() and (out_label[:, 5:] == 255).all()
    np.testing.assert_array_equal(out_image[5, 6], [124, 116, 104])  # round(255 * ImageNet mean)


def test_padding_crop_with_zero_pad_value():
    image, label = _sample(2, 2)
    out_image, _ = RandomPaddingCrop(crop_size=3, pad_value=0)(image, label)
    assert (out_image[2] == 0).all()


def test_crop_is_an_aligned_window_of_image_and_label():
    image, label = _sample(20, 30)
    code = image[:, :, 0].astype(np.int64) * 1000 + label  # ties each pixel's label to its image value
    for _ in range(10):
        out_image, out_label = RandomPaddingCrop(crop_size=[8, 9])(image, label)
        assert out_image.shape == (8, 9, 3)
        window = out_image[:, :, 0].astype(np.int64) * 1000 + out_label
        found = any(
            np.array_equal(code[top : top + 8, left : left + 9], window) for top in range(13) for left in range(22)
        )
        assert found


def test_flip_mirrors_image_and_label_together():
    image, label = _sample()
    out_image, out_label = RandomHorizontalFlip(prob=1.0)(image, label)
    np.testing.assert_array_equal(out_image, image[:, ::-1])
    np.testing.assert_array_equal(out_label, label[:, ::-1])
    same_image, same_label = RandomHorizontalFlip(prob=0.0)(image, label)
    np.testing.assert_array_equal(same_image, image)
    np.testing.assert_array_equal(same_label, label)


def test_flip_happens_about_half_the_time():
    image, label = _sample()
    flips = sum(np.array_equal(RandomHorizontalFlip()(image, label)[1], label[:, ::-1]) for _ in range(200))
    assert 60 < flips < 140


def test_normalize_matches_numpy():
    image, _ = _sample()
    out, _ = Normalize()(image, None)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(out, (image / 255.0 - mean) / std, rtol=1e-5, atol=1e-5)
    assert out.dtype == np.float32
    custom, _ = Normalize(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])(image, None)
    np.testing.assert_allclose(custom, image / 127.5 - 1, atol=1e-5)


def test_color_jitter_changes_image_not_label():
    image, label = _sample(16, 16)
    np.random.seed(0)
    out_image, out_label = ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.1)(image, label)
    assert out_image.dtype == np.uint8 and out_image.shape == image.shape
    assert not np.array_equal(out_image, image)
    np.testing.assert_array_equal(out_label, label)


def test_color_jitter_saturation_zero_factor_range_keeps_grey_images_grey():
    grey = np.repeat(np.arange(0, 256, 16, dtype=np.uint8).reshape(4, 4, 1), 3, axis=2)
    out, _ = ColorJitter(brightness=0.0, contrast=0.0, saturation=1.0, hue=0.0)(grey, None)
    np.testing.assert_array_equal(out[:, :, 0], out[:, :, 1])
    np.testing.assert_array_equal(out[:, :, 1], out[:, :, 2])


def test_every_transform_accepts_a_missing_label():
    image, _ = _sample(10, 10)
    for transform in (
        RandomScale(),
        RandomPaddingCrop(crop_size=12),
        RandomHorizontalFlip(prob=1.0),
        Resize(size=[5, 6]),
        ColorJitter(),
        Normalize(),
    ):
        out_image, out_label = transform(image, None)
        assert out_label is None and out_image.ndim == 3


def test_compose_returns_chw_float32_and_int64_labels():
    image, label = _sample(6, 8)
    compose = build_transforms([{"type": "RandomHorizontalFlip", "prob": 1.0}, {"type": "Normalize"}])
    out_image, out_label = compose(image, label.astype(np.int32))
    assert out_image.shape == (3, 6, 8) and out_image.dtype == np.float32
    assert out_label.dtype == np.int64
    np.testing.assert_allclose(out_image, Normalize()(image[:, ::-1], None)[0].transpose(2, 0, 1))
    assert Compose([])(image, None)[1] is None


def test_build_transforms_errors():
    with pytest.raises(PaddleFCNError, match="did you mean 'Resize'"):
        build_transforms([{"type": "Resise"}])
    with pytest.raises(PaddleFCNError, match="must be a list"):
        build_transforms({"type": "Resize"})
    assert build_transforms(None).transforms == []
