import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from paddlefcn import PaddleFCNError
from paddlefcn.models.upsample import Interpolate, TransposedConv, bilinear_kernel

FACTORS = [2, 4, 8, 16, 32]


@pytest.mark.parametrize("scheme", ["4x/2x/x", "2x/2x"])
@pytest.mark.parametrize("factor", FACTORS)
def test_output_is_exactly_factor_times_input(scheme, factor):
    up = TransposedConv(3, factor, scheme=scheme)
    out = up(paddle.randn([2, 3, 5, 7]))
    assert out.shape == [2, 3, 5 * factor, 7 * factor]
    kernel = up.deconv.weight.shape[-1]
    assert kernel == (2 * factor if scheme == "4x/2x/x" else factor)


@pytest.mark.parametrize("factor", FACTORS)
def test_2x2x_nearest_is_nearest_neighbour_upsampling(factor):
    x = paddle.randn([2, 4, 6, 5])
    out = TransposedConv(4, factor, scheme="2x/2x", init="nearest")(x)
    expected = F.interpolate(x, scale_factor=factor, mode="nearest")
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


@pytest.mark.parametrize("factor", FACTORS)
def test_4x2xx_nearest_is_nearest_neighbour_upsampling(factor):
    x = paddle.randn([1, 2, 4, 6])
    out = TransposedConv(2, factor, scheme="4x/2x/x", init="nearest")(x)
    np.testing.assert_allclose(out.numpy(), F.interpolate(x, scale_factor=factor, mode="nearest").numpy(), atol=1e-6)


@pytest.mark.parametrize("factor", FACTORS)
def test_4x2xx_bilinear_equals_bilinear_interpolation_inside(factor):
    x = paddle.randn([2, 3, 6, 7])
    out = TransposedConv(3, factor, scheme="4x/2x/x", init="bilinear")(x).numpy()
    expected = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False).numpy()
    inner = (slice(None), slice(None), slice(factor, -factor), slice(factor, -factor))
    np.testing.assert_allclose(out[inner], expected[inner], rtol=1e-5, atol=1e-5)
    assert not np.allclose(out, expected, atol=1e-3), "the border is expected to differ (zero padding)"


@pytest.mark.parametrize("factor", FACTORS)
def test_2x2x_bilinear_scales_the_signal_by_a_quarter(factor):
    ones = paddle.ones([1, 1, 8, 8])
    gain_2x2x = float(TransposedConv(1, factor, scheme="2x/2x", init="bilinear")(ones).mean())
    inside = TransposedConv(1, factor, scheme="4x/2x/x", init="bilinear")(ones)[:, :, factor:-factor, factor:-factor]
    gain_4x2xx = float(inside.mean())
    assert gain_2x2x == pytest.approx(0.25, abs=1e-6)
    assert gain_4x2xx == pytest.approx(1.0, abs=1e-6)


def test_bilinear_kernel_matches_the_formula():
    # Side 4 (factor 2): the 1-D ramp is 1 - |x - 1.5| / 2.
    ramp = np.array([0.25, 0.75, 0.75, 0.25])
    np.testing.assert_allclose(bilinear_kernel(4), np.outer(ramp, ramp))
    np.testing.assert_allclose(bilinear_kernel(3), np.outer([0.5, 1, 0.5], [0.5, 1, 0.5]))


def test_bilinear_init_does_not_mix_channels():
    x = paddle.zeros([1, 3, 4, 4])
    x[:, 1] = 1.0
    out = TransposedConv(3, 2, init="bilinear")(x).numpy()
    assert np.abs(out[:, [0, 2]]).max() == 0 and out[:, 1].max() > 0


def test_random_init_differs_from_bilinear():
    paddle.seed(1)
    random = TransposedConv(3, 2, init="random").deconv.weight.numpy()
    bilinear = TransposedConv(3, 2, init="bilinear").deconv.weight.numpy()
    assert not np.allclose(random, bilinear) and np.abs(random[0, 1]).sum() > 0


@pytest.mark.parametrize("learnable", [True, False])
def test_frozen_upsampler_gets_no_gradient(learnable):
    up = TransposedConv(2, 4, init="bilinear", learnable=learnable)
    x = paddle.randn([1, 2, 3, 3])
    x.stop_gradient = False
    up(x).sum().backward()
    assert (up.deconv.weight.grad is not None) == learnable
    assert x.grad is not None, "a frozen upsampler still passes gradients to its input"


def test_interpolate_has_no_weights_and_resizes():
    up = Interpolate(3, 8)
    x = paddle.randn([1, 3, 4, 5])
    assert up.parameters() == []
    np.testing.assert_allclose(
        up(x).numpy(), F.interpolate(x, size=[32, 40], mode="bilinear", align_corners=False).numpy(), atol=1e-6
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scheme": "3x"}, "unknown upsampler scheme '3x'"),
        ({"init": "xavier"}, "unknown upsampler init 'xavier'"),
        ({"factor": 3}, "scheme '4x/2x/x' needs an even factor, got 3"),
        ({"factor": 1, "scheme": "2x/2x"}, "factor must be >= 2, got 1"),
    ],
)
def test_bad_upsampler_settings_are_named(kwargs, message):
    args = {"channels": 2, "factor": 2, **kwargs}
    with pytest.raises(PaddleFCNError, match=message):
        TransposedConv(**args)
