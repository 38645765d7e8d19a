"""The operator base class of the inverse problems of 002_* and 003_*, and the identity.

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

def shape_text(shape) -> str:
    return "x".join(str(int(s)) for s in shape)


def check_shape(array, expected: tuple[int, ...], *, operator: str, what: str) -> None:
    """One clear error when the trailing (HWC) axes of ``array`` are not ``expected``."""
    got = tuple(array.shape[-len(expected):]) if array.ndim >= len(expected) else tuple(array.shape)
    if got != tuple(expected):
        raise ConfigError(
            f"{operator} expects {what} of shape {shape_text(expected)} (HxWxC) but got "
            f"{shape_text(array.shape)}; resize or crop the image to {shape_text(expected)}, or build "
            f"the operator for shape {shape_text(got)}.")


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


def concrete(array) -> bool:
    """Whether ``array`` has values here (not a tracer inside jit or vmap)."""
    try:
        np.asarray(array)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return False
    return True
