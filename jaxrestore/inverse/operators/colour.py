"""Colour operators from RGB to one channel: greyscale (002_*'s colourisation, as released) and
the HSV value (002_*'s text; not linear)."""

from __future__ import annotations

import jax.numpy as jnp
from flax import struct

from jaxrestore.inverse.operators.base import Operator


# ITU-R BT.601 luma weights as rounded in MATLAB's rgb2gray and TensorFlow's
# tf.image.rgb_to_grayscale (what 002_*'s released colorisation code compares against).
GREY_WEIGHTS = (0.2989, 0.5870, 0.1140)


class _RgbToOneChannel(Operator):
    """Shapes of an operator from an HxWx3 colour image to an HxWx1 channel."""

    height: int = struct.field(pytree_node=False)
    width: int = struct.field(pytree_node=False)

    @property
    def input_shape(self):
        return (self.height, self.width, 3)

    @property
    def output_shape(self):
        return (self.height, self.width, 1)


class Greyscale(_RgbToOneChannel):
    """``A x = sum_c w_c x_c``: RGB HxWx3 to grey HxWx1 (002_*'s colourisation, as the released
    code with tf.image.rgb_to_grayscale's weights 0.2989 / 0.5870 / 0.1140)."""

    weights: tuple[float, float, float] = struct.field(pytree_node=False, default=GREY_WEIGHTS)

    def _w(self, dtype):
        return jnp.asarray(self.weights, dtype)

    def _apply(self, x):
        return jnp.sum(x * self._w(x.dtype), axis=-1, keepdims=True)

    def _adjoint(self, y):
        return y * self._w(y.dtype)

    def _pinv_closed_form(self, y):
        w = self._w(y.dtype)
        return y * w / jnp.sum(w * w)


class HSVValue(_RgbToOneChannel):
    """``A x = max_c x_c``, the V of HSV (002_*'s text describes colourisation on V). Not
    linear: no adjoint, no pseudo-inverse; latent search differentiates through it."""

    linear = False

    def _apply(self, x):
        return jnp.max(x, axis=-1, keepdims=True)
