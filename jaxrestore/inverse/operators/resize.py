"""Resize operators: separable per-axis matrices (``A x = R x C^T`` per channel) for MATLAB's
bicubic ``imresize`` down and up and the released code's bilinear down-and-up, with the
pseudo-inverse in closed form by the Kronecker rule."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrestore.errors import ConfigError
from jaxrestore.imaging.resize import resize_plan
from jaxrestore.inverse.operators.base import Operator, shape_text


class SeparableResize(Operator):
    """``A x = R x C^T`` per channel, with static per-axis matrices ``R`` (rows) and ``C``
    (columns). Its pseudo-inverse is ``R^+ y C^+T`` (the Kronecker rule), computed once in
    float64."""

    shape: tuple[int, int, int] = struct.field(pytree_node=False)
    rows: tuple = struct.field(pytree_node=False)  # nested tuples: hashable static matrices
    cols: tuple = struct.field(pytree_node=False)

    @classmethod
    def from_matrices(cls, shape, rows: np.ndarray, cols: np.ndarray, **kwargs):
        rows, cols = np.asarray(rows, np.float64), np.asarray(cols, np.float64)
        if rows.shape[1] != shape[0] or cols.shape[1] != shape[1]:
            raise ConfigError(f"resize matrices {rows.shape} and {cols.shape} do not fit {shape_text(shape)} images.")
        return cls(shape=tuple(int(s) for s in shape), rows=_freeze(rows), cols=_freeze(cols), **kwargs)

    @property
    def input_shape(self):
        return self.shape

    @property
    def output_shape(self):
        return (len(self.rows), len(self.cols), self.shape[2])

    def matrices(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.rows), np.asarray(self.cols)

    @staticmethod
    def _sandwich(x, rows, cols):
        h_axis = x.ndim - 3
        rows, cols = jnp.asarray(rows, x.dtype), jnp.asarray(cols, x.dtype)
        out = jnp.moveaxis(jnp.tensordot(rows, x, axes=([1], [h_axis]), precision="highest"), 0, h_axis)
        return jnp.moveaxis(jnp.tensordot(cols, out, axes=([1], [h_axis + 1]), precision="highest"), 0, h_axis + 1)

    def _apply(self, x):
        rows, cols = self.matrices()
        return self._sandwich(x, rows, cols)

    def _adjoint(self, y):
        rows, cols = self.matrices()
        return self._sandwich(y, rows.T, cols.T)

    def _pinv_closed_form(self, y):
        rows, cols = self.matrices()
        return self._sandwich(y, np.linalg.pinv(rows), np.linalg.pinv(cols))


def _freeze(matrix: np.ndarray) -> tuple:
    return tuple(tuple(float(v) for v in row) for row in matrix)


def bicubic_downsample(shape, factor: int = 4) -> SeparableResize:
    """x``factor`` downsampling by MATLAB's bicubic ``imresize`` (antialiased, the project's
    ``jaxrestore.imaging.resize``), float path: HxWxC to ceil(H/f) x ceil(W/f) x C."""
    shape = _check_factor(shape, factor, "bicubic_downsample")
    plan = dict(resize_plan(shape[:2], 1.0 / factor))
    return SeparableResize.from_matrices(shape, plan[0], plan[1])


def bicubic_upsample(lr_shape, factor: int = 4) -> SeparableResize:
    """x``factor`` upsampling by MATLAB's bicubic ``imresize``: h x w x C to hf x wf x C.
    003_*'s stand-in for the pseudo-inverse of :func:`bicubic_downsample` in back-projection
    (it is not the pseudo-inverse: ``A U A != A``) and its "Bicubic" column."""
    lr_shape = tuple(int(s) for s in lr_shape)
    if len(lr_shape) != 3 or int(factor) != factor or factor < 1:
        raise ConfigError(f"bicubic_upsample takes an HxWxC shape and a positive integer factor, got "
                          f"{lr_shape} and {factor}.")
    plan = dict(resize_plan(lr_shape[:2], float(factor)))
    return SeparableResize.from_matrices(lr_shape, plan[0], plan[1])


def bilinear_matrix(in_length: int, out_length: int) -> np.ndarray:
    """``(out, in)`` matrix of TensorFlow 1's ``resize_bilinear(align_corners=True)`` on one
    axis: output pixel i samples input position ``i (in - 1) / (out - 1)`` linearly, no
    antialiasing."""
    matrix = np.zeros((out_length, in_length))
    ratio = (in_length - 1) / (out_length - 1) if out_length > 1 else 0.0
    for i in range(out_length):
        position = i * ratio
        low = min(int(np.floor(position)), in_length - 1)
        high = min(low + 1, in_length - 1)
        frac = position - low
        matrix[i, low] += 1.0 - frac
        matrix[i, high] += frac
    return matrix


def bilinear_down_up(shape, factor: int = 4) -> SeparableResize:
    """The released code's super-resolution operator: bilinear (align_corners) down to
    H//f x W//f, then bilinear back up to HxW, applied to both G(z) and the observation;
    HxWxC to HxWxC."""
    shape = _check_factor(shape, factor, "bilinear_down_up")
    h, w = shape[:2]
    rows = bilinear_matrix(h // factor, h) @ bilinear_matrix(h, h // factor)
    cols = bilinear_matrix(w // factor, w) @ bilinear_matrix(w, w // factor)
    return SeparableResize.from_matrices(shape, rows, cols)


def _check_factor(shape, factor, what) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3:
        raise ConfigError(f"{what} takes an HxWxC image shape, got {shape}.")
    if int(factor) != factor or factor < 1 or shape[0] < factor or shape[1] < factor:
        raise ConfigError(f"{what}: the factor must be a positive integer no larger than the image, "
                          f"got {factor} for {shape_text(shape)} images.")
    return shape
