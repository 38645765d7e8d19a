"""Pixel losses between a restored image and its target (NHWC float32 in [0, 1])."""

from __future__ import annotations

import jax.numpy as jnp


def check_same_shape(a, b) -> None:
    """Raises ValueError if the two images differ in shape (no silent broadcasting)."""
    if jnp.shape(a) != jnp.shape(b):
        raise ValueError(
            f"Restored and target images differ in shape ({jnp.shape(a)} vs {jnp.shape(b)}); "
            "check the scale factor and crop size."
        )


def mse(a, b):
    """Mean squared error over all elements (SRGAN's l_MSE, 000 eq. 2)."""
    check_same_shape(a, b)
    return jnp.mean(jnp.square(jnp.asarray(a, jnp.float32) - jnp.asarray(b, jnp.float32)))


def l1(a, b):
    """Mean absolute error over all elements."""
    check_same_shape(a, b)
    return jnp.mean(jnp.abs(jnp.asarray(a, jnp.float32) - jnp.asarray(b, jnp.float32)))
