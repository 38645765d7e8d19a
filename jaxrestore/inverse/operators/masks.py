"""Masks: ``A x = w * x`` element-wise (inpainting), the centre hole of 002_* and Yeh et al.'s
weighted mask of the released code's data term."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.operators.base import Operator, concrete, shape_text


class Mask(Operator):
    """``A x = w * x`` element-wise: a binary mask (1 = observed, 0 = missing) or Yeh et
    al.'s weighted mask (:func:`weighted_mask`). ``weights`` is a leaf of shape HxWx1 or
    HxWxC, so per-image masks vmap. The output keeps the image's shape (zeros where hidden)."""

    weights: jax.Array
    shape: tuple[int, int, int] = struct.field(pytree_node=False)

    @classmethod
    def create(cls, weights, shape=None) -> "Mask":
        weights = jnp.asarray(weights, jnp.float32)
        if weights.ndim == 2:
            weights = weights[..., None]
        if weights.ndim != 3:
            raise ConfigError(f"a mask must be HxW or HxWxC, got shape {shape_text(weights.shape)}.")
        if shape is None:
            shape = weights.shape[:2] + (3,)
        shape = tuple(int(s) for s in shape)
        if weights.shape[:2] != shape[:2] or weights.shape[2] not in (1, shape[2]):
            raise ConfigError(f"the mask has shape {shape_text(weights.shape)} but the images are "
                              f"{shape_text(shape)}; make a mask of {shape_text(shape[:2])} pixels.")
        if concrete(weights) and not np.any(np.asarray(weights) != 0):
            raise ConfigError("the mask hides every pixel, so there is nothing to restore from; "
                              "mark the observed pixels with 1 (missing ones with 0).")
        return cls(weights=weights, shape=shape)

    def _apply(self, x):
        return self.weights * x

    def _adjoint(self, y):
        return self.weights * y

    def _pinv_closed_form(self, y):
        w = jnp.broadcast_to(self.weights, self.shape)
        safe = jnp.where(w != 0, w, 1.0)
        return jnp.where(w != 0, y / safe, 0.0)


def centre_hole_mask(height: int, width: int, size: int = 32) -> np.ndarray:
    """A float32 HxW mask of ones with a ``size`` x ``size`` hole of zeros in the centre
    (002_* Sec. 4.1: a missing central 32x32 patch of a 64x64 face)."""
    if not 0 < size < min(height, width):
        raise ConfigError(f"the hole size {size} must be between 1 and {min(height, width) - 1} for "
                          f"{height}x{width} images.")
    mask = np.ones((height, width), np.float32)
    top, left = (height - size) // 2, (width - size) // 2
    mask[top:top + size, left:left + size] = 0.0
    return mask


def weighted_mask(mask, size: int = 15) -> np.ndarray:
    """Yeh et al.'s weighted mask: each observed pixel weighted by the fraction of missing
    pixels in the ``size`` x ``size`` box around it (symmetric extension at the borders),
    hidden pixels 0 — observed pixels far from the hole count for nothing. The released
    code of 002_* uses a 15x15 box. HxW float in, HxW float32 out."""
    mask = np.asarray(mask, np.float64)
    if mask.ndim != 2:
        raise ConfigError(f"weighted_mask takes an HxW mask, got shape {shape_text(mask.shape)}.")
    if size < 1 or size % 2 == 0:
        raise ConfigError(f"the weighted mask's box size must be odd and positive, got {size}.")
    r = size // 2
    padded = np.pad(1.0 - mask, r, mode="symmetric")
    # Box sums by a 2-D cumulative sum (summed-area table).
    table = np.zeros((padded.shape[0] + 1, padded.shape[1] + 1))
    table[1:, 1:] = padded.cumsum(0).cumsum(1)
    h, w = mask.shape
    box = (table[size:size + h, size:size + w] - table[:h, size:size + w]
           - table[size:size + h, :w] + table[:h, :w])
    return (mask * box / size ** 2).astype(np.float32)
