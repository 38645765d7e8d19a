"""Colour conversions: hand-computed MATLAB rgb2ycbcr values and round trips."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from jaxrestore.errors import DataError
from jaxrestore.imaging.color import (
    rgb_to_hsv_value,
    rgb_to_y,
    rgb_to_y_uint8,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)


def test_black_white_and_primaries_float():
    rgb = np.array([[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float64)
    got = rgb_to_ycbcr(rgb) * 255
    want = np.array([
        [16, 128, 128],
        [16 + 65.481 + 128.553 + 24.966, 128 - 37.797 - 74.203 + 112, 128 + 112 - 93.786 - 18.214],
        [16 + 65.481, 128 - 37.797, 128 + 112],
        [16 + 128.553, 128 - 74.203, 128 - 93.786],
        [16 + 24.966, 128 + 112, 128 - 18.214],
    ])
    np.testing.assert_allclose(got, want, atol=1e-10)
    np.testing.assert_allclose(got[1], [235, 128, 128], atol=1e-10)  # white: studio-range top


def test_y_uint8_hand_values():
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [10, 200, 30], [100, 100, 100]]], np.uint8)
    # 16 + (65.481*10 + 128.553*200 + 24.966*30)/255 = 16 + 26914.59/255 = 121.547... -> 122
    # red: 16 + 65.481 = 81.481 -> 81
    # 16 + 219*100/255 = 101.882... -> 102
    np.testing.assert_array_equal(rgb_to_y_uint8(rgb), [[16, 235, 81, 122, 102]])
    assert rgb_to_y_uint8(rgb).dtype == np.uint8


def test_y_uint8_rounds_exact_ties_up_on_every_cpu():
    # 65481 R + 128553 G + 24966 B + 16 * 255000 = 255000 * (k + 1/2) exactly for 194 colours, e.g.
    # (0, 204, 68): 32002500 = 255000 * 125.5 and (2, 44, 141): 13387500 = 255000 * 52.5; MATLAB's
    # round half away from zero gives 126 and 53. A float formula rounds some ties down (31 of the
    # 194 with 16 + rgb @ [65.481, 128.553, 24.966] / 255 on the machine this was written on).
    rgb = np.array([[[0, 204, 68], [2, 44, 141], [1, 173, 225], [5, 65, 25]]], np.uint8)
    np.testing.assert_array_equal(rgb_to_y_uint8(rgb), [[126, 53, 126, 53]])


def test_y_uint8_matches_rounded_float_conversion():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 30, 3)).astype(np.uint8)
    want = np.floor(rgb_to_ycbcr(rgb / 255.0)[..., 0] * 255 + 0.5)
    np.testing.assert_array_equal(rgb_to_y_uint8(rgb), want)
    np.testing.assert_allclose(rgb_to_y(rgb / 255.0), rgb_to_ycbcr(rgb / 255.0)[..., 0], atol=1e-12)


def test_round_trip():
    rng = np.random.default_rng(1)
    rgb = rng.random((4, 5, 6, 3))
    np.testing.assert_allclose(ycbcr_to_rgb(rgb_to_ycbcr(rgb)), rgb, atol=1e-12)
    ycbcr = rng.uniform(16 / 255, 235 / 255, (7, 3))
    np.testing.assert_allclose(rgb_to_ycbcr(ycbcr_to_rgb(ycbcr)), ycbcr, atol=1e-12)


def test_ycbcr_to_rgb_matlab_coefficients():
    # MATLAB ycbcr2rgb: R = 1.164383*(Y-16) + 1.596027*(Cr-128) on the 0..255 scale.
    ycbcr = np.array([100.0, 128.0, 150.0]) / 255
    r = ycbcr_to_rgb(ycbcr)[0] * 255
    np.testing.assert_allclose(r, 1.164383 * 84 + 1.596027 * 22, atol=1e-4)


def test_hsv_value_is_channel_max():
    rgb = np.array([[0.1, 0.7, 0.3], [0.9, 0.2, 0.95]])
    np.testing.assert_allclose(rgb_to_hsv_value(rgb), [0.7, 0.95])


def test_jax_arrays_work():
    rng = np.random.default_rng(2)
    rgb = rng.random((2, 3, 4, 3)).astype(np.float32)
    got = rgb_to_ycbcr(jnp.asarray(rgb))
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(got), rgb_to_ycbcr(rgb.astype(np.float64)), atol=1e-6)
    np.testing.assert_allclose(np.asarray(ycbcr_to_rgb(got)), rgb, atol=1e-5)
    np.testing.assert_allclose(np.asarray(rgb_to_y(jnp.asarray(rgb))), rgb_to_ycbcr(rgb)[..., 0], atol=1e-6)
    np.testing.assert_allclose(np.asarray(rgb_to_hsv_value(jnp.asarray(rgb))), rgb.max(-1))


def test_wrong_channel_count_is_data_error():
    with pytest.raises(DataError):
        rgb_to_ycbcr(np.zeros((4, 4, 1)))
    with pytest.raises(DataError):
        rgb_to_y_uint8(np.zeros((4, 4, 3), np.float32))
