"""MATLAB-compatible bicubic resize: against MATLAB's own output (SelfExSR), a slow loop
transcription and hand values."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrestore.errors import ConfigError
from jaxrestore.imaging.resize import imresize, imresize_jax, to_uint8
from matlab_reference import (SELFEXSR_BORDER, imresize_loop, interior, matlab_round_uint8,
                              resize_axis_loop, selfexsr_pairs)


@pytest.mark.parametrize("scale", [0.25, 1 / 3, 0.5, 2.0, 3.0, 4.0, 0.7, 1.5])
@pytest.mark.parametrize("shape", [(13, 17, 3), (9, 8), (1, 5, 1)])
def test_imresize_matches_loop_transcription(scale, shape):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=shape).astype(np.float64)  # the float path: no rounding
    got = imresize(image, scale)
    want = imresize_loop(image, scale)
    assert got.dtype == np.float64
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


@pytest.mark.parametrize("scale", [0.25, 1 / 3, 0.5, 2.0, 3.0, 4.0, 0.7])
@pytest.mark.parametrize("shape", [(13, 17, 3), (9, 8), (1, 5, 1)])
def test_uint8_imresize_rounds_after_each_pass_like_the_transcription(scale, shape):
    image = np.random.default_rng(1).integers(0, 256, size=shape).astype(np.uint8)
    got = imresize(image, scale)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, imresize_loop(image, scale))
    if shape == (13, 17, 3):  # ... which is not rounding once after two float passes
        assert np.any(got != to_uint8(imresize(image.astype(np.float64), scale)))


@pytest.mark.parametrize("dataset", ["Set5", "Set14"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_uint8_downscale_equals_matlab_selfexsr_lr_images(dataset, scale):
    """MATLAB's own LR files: equal on every pixel at least 2 pixels from the border."""
    pairs = selfexsr_pairs(dataset, scale)
    assert len(pairs) == {"Set5": 5, "Set14": 14}[dataset]
    once_differs = total = 0
    for name, hr, lr in pairs:
        got = imresize(hr, 1 / scale)
        assert got.dtype == np.uint8 and got.shape == lr.shape, name
        np.testing.assert_array_equal(interior(got), interior(lr), err_msg=name)
        once = to_uint8(imresize(hr.astype(np.float64), 1 / scale))  # one rounding after two passes
        once_differs += int(np.sum(interior(once) != interior(lr)))
        total += interior(lr).size
    assert once_differs / total > 0.05  # the single-rounding variant is measurably not MATLAB's


def test_loop_transcription_equals_matlab_selfexsr_lr_images():
    """The reference the other tests recompute with is itself MATLAB's imresize (Set5, x2-x4)."""
    for scale in (2, 3, 4):
        for name, hr, lr in selfexsr_pairs("Set5", scale)[1:4]:
            got = imresize_loop(hr, 1 / scale)
            np.testing.assert_array_equal(interior(got), interior(lr), err_msg=f"{name} x{scale}")
    assert SELFEXSR_BORDER == 2


def test_output_size_is_ceil_of_scaled_size():
    image = np.zeros((13, 17, 3), np.uint8)
    assert imresize(image, 0.25).shape == (4, 5, 3)
    assert imresize(image, 1 / 3).shape == (5, 6, 3)
    assert imresize(image, 2).shape == (26, 34, 3)
    assert imresize(image, output_shape=(7, 30)).shape == (7, 30, 3)


def test_hand_values_upscale_by_two():
    # u = x/2 + 1/4; weights of cubic(0.25)=0.8671875, cubic(0.75)=0.2265625,
    # cubic(1.25)=-0.0703125, cubic(1.75)=-0.0234375; mirrored ends fold onto [0, 1].
    got = imresize(np.array([[0.0, 1.0]]), 2)
    want_row = [-0.09375, 0.203125, 0.796875, 1.09375]
    np.testing.assert_allclose(got, [want_row, want_row], atol=1e-12)


def test_hand_values_downscale_by_two():
    # Output x=2 sits at u = 2/0.5 + 0.5*(1 - 2) = 3.5; the antialiased kernel is
    # 0.5*cubic(d/2). Sources j=5..8 (value 8) lie at d = -1.5, -2.5, -3.5, -4.5, so
    # weights 0.5*[cubic(.75), cubic(1.25), cubic(1.75), 0] = 0.5*[0.2265625, -0.0703125, -0.0234375, 0];
    # the weights over all taps sum to 1 before normalisation.
    image = np.array([[0.0, 0.0, 0.0, 0.0, 8.0, 8.0, 8.0, 8.0]])
    got = imresize(image, 0.5)
    assert got.shape == (1, 4)
    np.testing.assert_allclose(got[0, 1], 8 * 0.5 * (0.2265625 - 0.0703125 - 0.0234375), atol=1e-12)
    np.testing.assert_allclose(got[0, 1], 0.53125, atol=1e-12)
    np.testing.assert_allclose(got[0, 2], 8 - 0.53125, atol=1e-12)  # mirror image of output 2
    # Output 1 (u = 1.5) reaches source 5 only through cubic(1.75): bicubic overshoot.
    np.testing.assert_allclose(got[0, 0], 8 * 0.5 * -0.0234375, atol=1e-12)
    np.testing.assert_allclose(got[0, 3], 8 + 8 * 0.5 * 0.0234375, atol=1e-12)


@pytest.mark.parametrize("scale", [0.25, 0.5, 3.0, 4.0])
def test_constant_image_stays_constant(scale):
    image = np.full((12, 9, 3), 77, np.uint8)
    np.testing.assert_array_equal(imresize(image, scale), 77)
    np.testing.assert_allclose(imresize(image.astype(np.float32), scale), 77.0, atol=1e-9)


def test_dimension_order_smaller_scale_first():
    # Shrink rows, stretch columns: MATLAB resizes the shrinking dimension first.
    rng = np.random.default_rng(1)
    image = rng.random((12, 10))
    got = imresize(image, output_shape=(6, 15))
    cols_then_rows = resize_axis_loop(resize_axis_loop(image, 0, 6, 0.5), 1, 15, 1.5)
    np.testing.assert_allclose(got, cols_then_rows, atol=1e-9)


def test_imresize_jax_matches_numpy_and_jits():
    rng = np.random.default_rng(2)
    batch = rng.random((2, 16, 12, 3)).astype(np.float32)
    for scale in (0.25, 4.0):
        fn = jax.jit(lambda x, s=scale: imresize_jax(x, s))
        got = np.asarray(fn(batch))
        for i in range(2):
            np.testing.assert_allclose(got[i], imresize(batch[i], scale), atol=1e-5)
    single = np.asarray(imresize_jax(batch[0], output_shape=(5, 7)))
    np.testing.assert_allclose(single, imresize(batch[0], output_shape=(5, 7)), atol=1e-5)


def test_imresize_jax_is_differentiable():
    x = jnp.asarray(np.random.default_rng(3).random((8, 8, 1)), jnp.float32)
    grad = jax.grad(lambda v: jnp.sum(imresize_jax(v, 0.5)))(x)
    # Each output pixel's weights sum to 1, so the total gradient equals the output size.
    np.testing.assert_allclose(float(jnp.sum(grad)), 16.0, rtol=1e-5)


def test_to_uint8_rounds_half_away_and_clips():
    x = np.array([-3.0, -0.5, 0.49, 0.5, 1.5, 2.5, 254.5, 255.4, 300.0, np.nan])
    np.testing.assert_array_equal(to_uint8(x), [0, 0, 0, 1, 2, 3, 255, 255, 255, 0])
    np.testing.assert_array_equal(matlab_round_uint8(x[:-1]), to_uint8(x[:-1]))


def test_other_integer_classes_round_per_pass_and_saturate():
    # uint16 keeps its class and range; the overshoot of a step edge saturates instead of wrapping.
    edge = np.array([[0, 0, 0, 0, 65535, 65535, 65535, 65535]], np.uint16)
    got = imresize(edge, 2)
    assert got.dtype == np.uint16
    floats = imresize(edge.astype(np.float64), 2)  # a single row: the row pass only copies it
    want = np.clip(np.sign(floats) * np.floor(np.abs(floats) + 0.5), 0, 65535)
    np.testing.assert_array_equal(got, want)
    assert got.max() == 65535 and got.min() == 0


def test_bad_arguments_raise_config_error():
    with pytest.raises(ConfigError):
        imresize(np.zeros((4, 4)))
    with pytest.raises(ConfigError):
        imresize(np.zeros((4, 4)), 2, output_shape=(8, 8))
    with pytest.raises(ConfigError):
        imresize(np.zeros((4, 4)), -1.0)
    with pytest.raises(ConfigError):
        imresize(np.zeros((2, 4, 4, 3)), 2)
