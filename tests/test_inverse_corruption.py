"""Corruption processes of 002_* Sec. 4.1 (noise and quantisation)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.corruption import QUANTIZATION_LEVELS, gaussian_noise, quantize


def test_quantize_maps_every_uint8_value_to_the_highest_level_not_above_it():
    v = np.arange(256)
    got = np.asarray(quantize(jnp.asarray(v / 255.0, jnp.float32)))
    expected = np.array([max(level for level in QUANTIZATION_LEVELS if level <= value) for value in v]) / 255.0
    np.testing.assert_array_equal(np.round(got * 255).astype(int), np.round(expected * 255).astype(int))
    np.testing.assert_allclose(got, expected, atol=1e-7)
    assert sorted(set(np.round(got * 255).astype(int))) == [0, 55, 110, 165, 220]
    with pytest.raises(ConfigError, match="quantisation step"):
        quantize(jnp.zeros((2, 2, 3)), step=0)


def test_gaussian_noise_has_the_stated_sigma_and_is_not_clipped():
    x = jnp.full((64, 64, 3), 0.5, jnp.float32)
    noisy = gaussian_noise(jax.random.key(0), x, 0.1)
    residual = np.asarray(noisy - x)
    assert abs(residual.std() - 0.1) < 0.1 * 4 / np.sqrt(2 * residual.size)  # 4 standard errors
    assert abs(residual.mean()) < 0.1 * 4 / np.sqrt(residual.size)
    ones = gaussian_noise(jax.random.key(1), jnp.ones((64, 64, 3)), 0.1)
    assert float(ones.max()) > 1.0  # not clipped to [0, 1]
    with pytest.raises(ConfigError, match="sigma"):
        gaussian_noise(jax.random.key(0), x, -1.0)
