"""MATLAB-compatible bicubic resize (``imresize(..., 'bicubic')``).

Super-resolution benchmarks make their low-resolution inputs and their bicubic
baseline with MATLAB's ``imresize``; PSNR figures are only comparable when the
resize is the same one. This module follows MATLAB's algorithm:

- cubic convolution kernel with a = -0.5 (Keys 1981);
- when shrinking, the kernel is stretched by 1/scale (antialiasing);
- output size ``ceil(in * scale)`` when a scale is given;
- out-of-range source indices are mirrored symmetrically (``[1..n, n..1]``);
- the dimension with the smaller scale factor is resized first (rows first on a tie).

- the result has the input's class, after *each* 1-D pass: MATLAB's
  ``resizeAlongDim`` returns the class of its input, so a uint8 image is rounded
  (half away from zero) and saturated to uint8 after the first pass, and the
  second pass resamples those uint8 values and is rounded again.

The last point matters for every LR image made from a uint8 HR: checked against
the LR files that MATLAB's own ``imresize`` made for SelfExSR (Set5/Set14 at x2,
x3 and x4, ``../shared/data/SelfExSR``), rounding after each pass gives every LR
pixel at least 2 pixels from the border exactly (the outermost 2 rows and
columns differ because those files were made from the uncropped images), while
rounding once after two float passes does not (measured: docs/evaluation.md).

:func:`imresize` (NumPy) takes HxW or HxWxC images: an integer image (uint8,
uint16, ...) gives an image of the same dtype rounded after each pass, as MATLAB
does; any other input is computed and returned in float64 with no rounding (the
float path, e.g. the published Y-channel bicubic protocol on ``Y / 255``).
:func:`imresize_jax` is the float path only (HWC/NHWC, float32 for integer
input, never rounded): each axis is resampled by multiplying with a dense
``(out, in)`` weight matrix built in NumPy, so it has static shapes and is
jit-able and differentiable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np

from jaxrestore.errors import ConfigError


def cubic(x: np.ndarray) -> np.ndarray:
    """MATLAB's cubic convolution kernel (a = -0.5), support [-2, 2]."""
    absx = np.abs(x)
    absx2 = absx * absx
    absx3 = absx2 * absx
    inner = (1.5 * absx3 - 2.5 * absx2 + 1.0) * (absx <= 1)
    outer = (-0.5 * absx3 + 2.5 * absx2 - 4.0 * absx + 2.0) * ((absx > 1) & (absx <= 2))
    return inner + outer


def contributions(in_length: int, out_length: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB's ``contributions``: per output pixel, 0-based source indices and weights.

    Returns ``(indices, weights)``, both ``(out_length, P)``; indices are already
    mirrored into ``[0, in_length)`` and all-zero weight columns are dropped as MATLAB does.
    """
    kernel_width = 4.0
    if scale < 1:  # antialiasing: stretch the kernel
        def kernel(x):
            return scale * cubic(scale * x)
        kernel_width = kernel_width / scale
    else:
        kernel = cubic
    x = np.arange(1, out_length + 1, dtype=np.float64)  # 1-based output coordinates
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)  # matching input coordinate
    left = np.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]  # 1-based
    weights = kernel(u[:, None] - indices)
    weights = weights / np.sum(weights, axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    keep = np.any(weights != 0, axis=0)
    return indices[:, keep], weights[:, keep]


def weight_matrix(in_length: int, out_length: int, scale: float) -> np.ndarray:
    """Dense ``(out_length, in_length)`` float64 matrix that resamples one axis."""
    indices, weights = contributions(in_length, out_length, scale)
    matrix = np.zeros((out_length, in_length), dtype=np.float64)
    rows = np.broadcast_to(np.arange(out_length)[:, None], indices.shape)
    np.add.at(matrix, (rows, indices), weights)
    return matrix


def resize_plan(
    in_shape: Sequence[int],
    scale: float | None = None,
    output_shape: Sequence[int] | None = None,
) -> list[tuple[int, np.ndarray]]:
    """The ordered per-axis work of a resize: ``[(axis 0 or 1, weight matrix), ...]``.

    ``axis`` counts the two spatial axes (0 = rows, 1 = columns).
    """
    if (scale is None) == (output_shape is None):
        raise ConfigError("imresize needs exactly one of scale or output_shape; pass one of them.")
    in_h, in_w = int(in_shape[0]), int(in_shape[1])
    if in_h < 1 or in_w < 1:
        raise ConfigError(f"imresize got an empty image of shape {tuple(in_shape)}; pass an image with at least one pixel.")
    if scale is not None:
        scale = float(scale)
        if not scale > 0 or not math.isfinite(scale):
            raise ConfigError(f"imresize scale must be a positive number, got {scale}; pass e.g. 0.25 or 4.")
        scales = (scale, scale)
        out_shape = (int(math.ceil(in_h * scale)), int(math.ceil(in_w * scale)))
    else:
        out_shape = (int(output_shape[0]), int(output_shape[1]))
        if out_shape[0] < 1 or out_shape[1] < 1:
            raise ConfigError(f"imresize output_shape must be positive, got {tuple(output_shape)}; pass (height, width) >= 1.")
        scales = (out_shape[0] / in_h, out_shape[1] / in_w)
    order = sorted(range(2), key=lambda d: scales[d])  # stable: rows first on a tie
    in_lengths = (in_h, in_w)
    return [(d, weight_matrix(in_lengths[d], out_shape[d], scales[d])) for d in order]


def imresize(
    image: np.ndarray,
    scale: float | None = None,
    *,
    output_shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """MATLAB ``imresize(image, scale, 'bicubic')`` on an HxW or HxWxC array.

    Give either ``scale`` (output size ``ceil(in * scale)``) or ``output_shape=(h, w)``.
    An integer image (uint8, ...) returns the same dtype, rounded and saturated after
    each 1-D pass as MATLAB does; anything else returns float64, unrounded.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ConfigError(f"imresize expects an HxW or HxWxC image, got shape {image.shape}; pass one image at a time.")
    integer = np.issubdtype(image.dtype, np.integer)
    out = image
    for axis, matrix in resize_plan(image.shape, scale, output_shape):
        out = np.moveaxis(np.tensordot(matrix, out.astype(np.float64), axes=([1], [axis])), 0, axis)
        if integer:
            out = _to_integer_class(out, image.dtype)
    return out


def imresize_jax(image, scale: float | None = None, *, output_shape: tuple[int, int] | None = None):
    """The float path of :func:`imresize` in jax.numpy for HWC or NHWC arrays; jit-able and
    differentiable.

    Weight matrices depend only on static shapes and are built with NumPy at trace
    time. Computation is in the input's float dtype (float32 for integer input), and
    nothing is rounded: for MATLAB's uint8 result use :func:`imresize` on uint8.
    """
    image = jnp.asarray(image)
    if image.ndim not in (3, 4):
        raise ConfigError(f"imresize_jax expects an HWC or NHWC array, got shape {image.shape}; add a channel axis.")
    if not jnp.issubdtype(image.dtype, jnp.floating):
        image = image.astype(jnp.float32)
    h_axis = image.ndim - 3
    out = image
    for axis, matrix in resize_plan(image.shape[h_axis:h_axis + 2], scale, output_shape):
        target = h_axis + axis
        m = jnp.asarray(matrix, dtype=out.dtype)
        out = jnp.moveaxis(jnp.tensordot(m, out, axes=([1], [target]), precision="highest"), 0, target)
    return out


def _to_integer_class(x: np.ndarray, dtype) -> np.ndarray:
    """MATLAB's conversion of doubles to an integer class: round half away from zero,
    saturate to the class's range; NaN becomes 0."""
    info = np.iinfo(dtype)
    x = np.asarray(x, dtype=np.float64)
    rounded = np.sign(x) * np.floor(np.abs(x) + 0.5)
    return np.nan_to_num(np.clip(rounded, info.min, info.max), nan=0.0).astype(dtype)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB's conversion of doubles to uint8: round half away from zero, then clip to [0, 255].

    NaN becomes 0, as in MATLAB.
    """
    return _to_integer_class(x, np.uint8)
