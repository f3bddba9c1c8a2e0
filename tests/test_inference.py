"""Inference modes: whole, sliding window, flip and multi-scale averaging."""

import argparse

import numpy as np
import paddle
import pytest
from paddle import nn

import paddlefcn
from paddlefcn.cli import add_inference_arguments, inference_flags
from paddlefcn.engine.inference import predict_logits, predict_mask
from paddlefcn.errors import PaddleFCNError
from paddlefcn.settings import EvalSettings


@pytest.fixture(scope="module")
def tiny_fcn():
    paddle.seed(0)
    model = paddlefcn.build_model(
        {"num_classes": 3, "backbone": {"type": "VGG16", "fc_channels": 16}, "head": {"type": "FCN8s"}}
    )
    model.eval()
    return model


class Identity(nn.Layer):
    """Returns its input: the averaged output must equal the input wherever windows overlap."""

    def forward(self, x):
        return x


class ColumnPosition(nn.Layer):
    """Adds each pixel's column index within its input: not equivariant to flips or crops."""

    def forward(self, x):
        cols = paddle.arange(x.shape[3], dtype=x.dtype).reshape([1, 1, 1, -1])
        return x + cols


def batch(h, w, n=2, seed=0):
    return paddle.to_tensor(np.random.default_rng(seed).standard_normal((n, 3, h, w)).astype("float32"))


@paddle.no_grad()
def test_all_modes_return_logits_at_the_input_size(tiny_fcn):
    images = batch(70, 50)
    for options in (
        {},
        {"mode": "slide", "crop_size": (32, 32), "stride": (24, 20)},
        {"flip": True},
        {"scales": (0.75, 1.25)},
    ):
        assert tiny_fcn(images).shape == predict_logits(tiny_fcn, images, **options).shape == [2, 3, 70, 50]


@paddle.no_grad()
def test_slide_with_a_crop_covering_the_image_equals_whole(tiny_fcn):
    images = batch(64, 64)
    whole = predict_logits(tiny_fcn, images)
    slide = predict_logits(tiny_fcn, images, mode="slide", crop_size=(64, 64), stride=(32, 32))
    np.testing.assert_allclose(slide.numpy(), whole.numpy(), rtol=1e-5, atol=1e-5)


@paddle.no_grad()
def test_slide_pads_images_smaller_than_the_crop(tiny_fcn):
    # The model itself pads 50x40 to 64x64 with zeros, exactly what slide does for a 64x64 crop.
    images = batch(50, 40)
    slide = predict_logits(tiny_fcn, images, mode="slide", crop_size=(64, 64))
    assert slide.shape == [2, 3, 50, 40]
    np.testing.assert_allclose(slide.numpy(), tiny_fcn(images).numpy(), rtol=1e-5, atol=1e-5)


def test_slide_covers_every_pixel_and_averages_overlaps():
    images = batch(45, 70, n=1)
    out = predict_logits(Identity(), images, mode="slide", crop_size=(16, 32), stride=(10, 13))
    np.testing.assert_allclose(out.numpy(), images.numpy(), rtol=1e-6, atol=1e-6)


def test_slide_averages_the_window_outputs():
    # Width 6, crop 4, stride 2: windows start at columns 0 and 2; the local column index of
    # image column j is j in the first window and j - 2 in the second.
    images = paddle.zeros([1, 1, 4, 6])
    out = predict_logits(ColumnPosition(), images, mode="slide", crop_size=(4, 4), stride=(4, 2)).numpy()
    np.testing.assert_allclose(out[0, 0, 0], [0, 1, (2 + 0) / 2, (3 + 1) / 2, 2, 3])


def test_flip_on_a_flip_equivariant_model_equals_no_flip():
    paddle.seed(1)
    model = nn.Conv2D(3, 4, 1)  # a 1x1 convolution commutes with horizontal flips
    images = batch(20, 30)
    with paddle.no_grad():
        plain = predict_logits(model, images)
        flipped = predict_logits(model, images, flip=True)
    np.testing.assert_allclose(flipped.numpy(), plain.numpy(), rtol=1e-5, atol=1e-6)


def test_flip_averages_the_flipped_prediction():
    images = paddle.zeros([1, 1, 2, 4])
    out = predict_logits(ColumnPosition(), images, flip=True).numpy()
    # Column j sees j unflipped and (3 - j) flipped back: the average is 1.5 everywhere.
    np.testing.assert_allclose(out, np.full([1, 1, 2, 4], 1.5))


def test_multi_scale_averages_logits_resized_back():
    images = batch(16, 24, n=1)
    model = ColumnPosition()
    out = predict_logits(model, images, scales=(0.5, 1.0))
    half = paddle.nn.functional.interpolate(images, size=[8, 12], mode="bilinear")
    back = paddle.nn.functional.interpolate(model(half), size=[16, 24], mode="bilinear")
    expected = (back + model(images)) / 2
    assert out.shape == [1, 3, 16, 24]
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_a_single_scale_of_one_is_the_plain_output():
    images = batch(10, 12, n=1)
    np.testing.assert_array_equal(predict_logits(ColumnPosition(), images).numpy(), ColumnPosition()(images).numpy())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "tiles"}, "unknown inference mode 'tiles'"),
        ({"mode": "slide"}, "needs a crop size"),
        ({"mode": "slide", "crop_size": (8, 8), "stride": (9, 4)}, "larger than the crop"),
        ({"mode": "slide", "crop_size": (8, 0)}, "crop size must be a positive integer or \\[height, width\\]"),
        ({"scales": (1.0, -0.5)}, "scales must be positive"),
    ],
)
def test_bad_options_are_user_errors(options, message):
    with pytest.raises(PaddleFCNError, match=message):
        predict_logits(Identity(), batch(8, 8, n=1), **options)


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_inference_arguments(parser)
    return parser.parse_args(list(argv))


def inference_options(eval_cfg, args=None):
    """The options a tool runs with: the ``eval`` section's, then the flags that were given."""
    return EvalSettings.of({"eval": eval_cfg}, **(inference_flags(args) if args else {})).inference_options()


def test_inference_options_default_then_config_then_flags():
    assert inference_options(None) == {
        "mode": "whole",
        "crop_size": None,
        "stride": None,
        "flip": False,
        "scales": (1.0,),
    }
    eval_cfg = {"mode": "slide", "crop_size": [64, 64], "flip": True, "scales": [0.5, 1], "batch_size": 4}
    from_cfg = inference_options(eval_cfg, parse())
    assert from_cfg == {"mode": "slide", "crop_size": (64, 64), "stride": None, "flip": True, "scales": (0.5, 1.0)}
    flags = parse("--mode", "whole", "--crop-size", "32", "48", "--stride", "16", "16", "--no-flip", "--scales", "2")
    assert inference_options(eval_cfg, flags) == {
        "mode": "whole",
        "crop_size": (32, 48),
        "stride": (16, 16),
        "flip": False,
        "scales": (2.0,),
    }
    assert inference_options({"scales": 1.5})["scales"] == (1.5,)


@pytest.mark.parametrize(
    ("eval_cfg", "message"),
    [
        ({"mode": "slide", "crop_size": "512"}, "crop size must be a positive integer or \\[height, width\\]"),
        ({"flip": "yes"}, "eval.flip must be true or false"),
        ({"scales": ["big"]}, "scales must be positive numbers"),
        ({"mode": "slide"}, "needs a crop size"),
    ],
)
def test_bad_config_options_are_user_errors(eval_cfg, message):
    with pytest.raises(PaddleFCNError, match=message):
        inference_options(eval_cfg)


def test_predict_mask_returns_the_argmax_at_the_original_size():
    image = np.zeros((6, 10, 3), dtype=np.uint8)
    image[:, 5:, 1] = 255  # right half green

    def halve(img, label):  # a stand-in val transform that resizes and scales to [0, 1]
        small = img[::2, ::2].astype(np.float32) / 255.0
        return np.ascontiguousarray(small.transpose(2, 0, 1)), label

    mask = predict_mask(Identity(), image, halve)
    assert mask.shape == (6, 10) and mask.dtype == np.int64
    assert (mask[:, :4] == 0).all() and (mask[:, 6:] == 1).all()
