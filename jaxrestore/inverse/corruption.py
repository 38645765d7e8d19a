"""Corruption processes of 002_* Sec. 4.1 that are not operators (images in [0, 1], HWC or
NHWC). The masking, greyscale and downsampling corruptions are the operators themselves
(:mod:`jaxrestore.inverse.operators`) applied to the clean image."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrestore.errors import ConfigError

# The released code quantises uint8 values v to floor(v / 55) * 55: five levels per channel.
QUANTIZATION_STEP = 55
QUANTIZATION_LEVELS = tuple(QUANTIZATION_STEP * k for k in range(5))  # 0, 55, 110, 165, 220


def gaussian_noise(key, images, sigma: float = 0.1):
    """``images + sigma * N(0, 1)`` on [0, 1], *not* clipped, as the released code adds it
    (its output may leave [0, 1]; the solver sees the unclipped observation)."""
    if not sigma >= 0:
        raise ConfigError(f"the noise level sigma must be >= 0, got {sigma}.")
    return images + sigma * jax.random.normal(key, images.shape, images.dtype)


def quantize(images, step: int = QUANTIZATION_STEP):
    """Each channel of each pixel to ``floor(v / step) * step / 255`` with ``v`` its uint8
    value (``round(255 x)``): five levels {0, 55, 110, 165, 220} / 255 for step 55. Exact
    integer arithmetic, so a value on a level boundary is never rounded the wrong way. (The
    released code's float32 graph, ``floor(x * 255 / 55)``, puts v = 55 one level low, and its
    ``corrupt_image.py`` truncates ``k * 55.0`` to int, giving 54, 109, 164, 219: both float
    artefacts, measured by re-evaluating those formulas in NumPy.)"""
    if int(step) != step or not 1 <= step <= 255:
        raise ConfigError(f"the quantisation step must be an integer in [1, 255], got {step}.")
    v = jnp.clip(jnp.round(images * 255.0), 0, 255).astype(jnp.int32)
    return ((v // step) * step).astype(images.dtype) / 255.0
