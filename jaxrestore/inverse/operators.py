"""Forward operators ``A`` of the inverse problems of 002_* and 003_*.

An operator maps an image ``x`` (HxWxC, any leading batch axes) to an observation
``y = A(x)``. It is a pytree: what differs from image to image (a mask) is a leaf, what
fixes the program (shapes, weights of a resize) is static, so a batch of per-image
operators ``vmap``\\ s together with its images and every method is jit-able.

Every operator has static ``input_shape`` and ``output_shape`` (one image, HWC) and checks
the trailing axes of what it is given against them, raising one :class:`ConfigError` that
names both shapes. Linear operators also have

- ``AT(y)``, the adjoint, by ``jax.linear_transpose`` of ``A`` unless a subclass writes
  it out;
- ``pinv(y)``, the Moore-Penrose pseudo-inverse ``A^+ y``: in closed form where there is
  one (a diagonal mask, a colour projection, a separable resize: the pseudo-inverse of a
  Kronecker product is the Kronecker product of the per-axis pseudo-inverses), otherwise
  by conjugate gradients on ``A A^T u = y`` (``x = A^T u``); ``pinv_solve(y)`` returns
  ``(x, residual)``, the residual being the relative least-squares optimality gap
  ``|A^T (A x - y)| / |A^T y|`` per image (0 at the exact pseudo-inverse, for any ``y``).

Values are whatever scale the caller uses ([0, 1] or [-1, 1]): every operator here is
linear or, for ``HSVValue``, positively homogeneous, and none adds an offset.
Corruption processes (noise, quantisation) are not operators; see
:mod:`jaxrestore.inverse.corruption`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrestore.errors import ConfigError
from jaxrestore.imaging.resize import resize_plan

# ITU-R BT.601 luma weights as rounded in MATLAB's rgb2gray and TensorFlow's
# tf.image.rgb_to_grayscale (what 002_*'s released colorisation code compares against).
GREY_WEIGHTS = (0.2989, 0.5870, 0.1140)


def _shape_text(shape) -> str:
    return "x".join(str(int(s)) for s in shape)


def check_shape(array, expected: tuple[int, ...], *, operator: str, what: str) -> None:
    """One clear error when the trailing (HWC) axes of ``array`` are not ``expected``."""
    got = tuple(array.shape[-len(expected):]) if array.ndim >= len(expected) else tuple(array.shape)
    if got != tuple(expected):
        raise ConfigError(
            f"{operator} expects {what} of shape {_shape_text(expected)} (HxWxC) but got "
            f"{_shape_text(array.shape)}; resize or crop the image to {_shape_text(expected)}, or build "
            f"the operator for shape {_shape_text(got)}.")


class Operator(struct.PyTreeNode):
    """Base class: subclasses define ``input_shape``, ``output_shape`` and ``_apply``."""

    linear = True

    @property
    def name(self) -> str:
        return type(self).__name__

    # Most operators keep the image's shape, held in a static ``shape`` field; the others
    # override these.
    @property
    def input_shape(self):
        return tuple(self.shape)

    @property
    def output_shape(self):
        return self.input_shape

    def A(self, x):
        check_shape(x, self.input_shape, operator=self.name, what="an image")
        return self._apply(x)

    def __call__(self, x):
        return self.A(x)

    def AT(self, y):
        """The adjoint: ``<A x, y> = <x, A^T y>`` for all x, y."""
        self._require_linear("an adjoint")
        check_shape(y, self.output_shape, operator=f"{self.name}.AT", what="an observation")
        return self._adjoint(y)

    def pinv(self, y, *, tol: float = 1e-6, maxiter: int = 500):
        """``A^+ y``, the minimum-norm least-squares solution of ``A x = y`` (``tol`` and
        ``maxiter`` apply where it is computed by conjugate gradients)."""
        self._require_linear("a pseudo-inverse")
        check_shape(y, self.output_shape, operator=f"{self.name}.pinv", what="an observation")
        x = self._pinv_closed_form(y)
        return self._pinv_cg(y, tol=tol, maxiter=maxiter) if x is None else x

    def pinv_solve(self, y, *, tol: float = 1e-6, maxiter: int = 500):
        """``(A^+ y, residual)`` with the residual ``|A^T (A x - y)| / |A^T y|`` per image,
        for closed forms and conjugate gradients alike."""
        x = self.pinv(y, tol=tol, maxiter=maxiter)
        return x, _relative(self._adjoint(self._apply(x) - y), self._adjoint(y))

    # --- for subclasses -------------------------------------------------------------
    def _adjoint(self, y):
        lead = y.shape[:y.ndim - len(self.output_shape)]
        primal = jax.ShapeDtypeStruct(lead + tuple(self.input_shape), y.dtype)
        (x,) = jax.linear_transpose(self._apply, primal)(y)
        return x

    def _pinv_closed_form(self, y):
        return None

    def _pinv_cg(self, y, *, tol, maxiter):
        normal = lambda u: self._apply(self._adjoint(u))  # noqa: E731  A A^T
        u, _ = jax.scipy.sparse.linalg.cg(normal, y, tol=tol, maxiter=maxiter)
        return self._adjoint(u)

    def _require_linear(self, what: str) -> None:
        if not self.linear:
            raise ConfigError(f"{self.name} is not linear, so it has no {what}; solvers that need "
                              "A^T or A^+ (back-projection, the classical baselines) cannot use it, "
                              "gradient-based latent search can.")


def _relative(residual, y):
    axes = tuple(range(y.ndim - 3, y.ndim))
    return jnp.sqrt(jnp.sum(residual ** 2, axes)) / jnp.maximum(jnp.sqrt(jnp.sum(y ** 2, axes)), 1e-30)


class Identity(Operator):
    """``A = I`` (denoising, dequantisation)."""

    shape: tuple[int, int, int] = struct.field(pytree_node=False)

    def _apply(self, x):
        return x

    def _adjoint(self, y):
        return y

    def _pinv_closed_form(self, y):
        return y


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
            raise ConfigError(f"a mask must be HxW or HxWxC, got shape {_shape_text(weights.shape)}.")
        if shape is None:
            shape = weights.shape[:2] + (3,)
        shape = tuple(int(s) for s in shape)
        if weights.shape[:2] != shape[:2] or weights.shape[2] not in (1, shape[2]):
            raise ConfigError(f"the mask has shape {_shape_text(weights.shape)} but the images are "
                              f"{_shape_text(shape)}; make a mask of {_shape_text(shape[:2])} pixels.")
        if _concrete(weights) and not np.any(np.asarray(weights) != 0):
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


def _concrete(array) -> bool:
    try:
        np.asarray(array)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return False
    return True


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
        raise ConfigError(f"weighted_mask takes an HxW mask, got shape {_shape_text(mask.shape)}.")
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
            raise ConfigError(f"resize matrices {rows.shape} and {cols.shape} do not fit {_shape_text(shape)} images.")
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
    :mod:`jaxrestore.imaging.resize`), float path: HxWxC to ceil(H/f) x ceil(W/f) x C."""
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
                          f"got {factor} for {_shape_text(shape)} images.")
    return shape
