"""Back-projection (003_* eq. 10): ``x_bp = x_hat + A^+ (y - A x_hat)``, the closest point to
``x_hat`` on ``{x : A x = y}``; ``A^+`` is the operator's pseudo-inverse (closed form or
conjugate gradients) or an approximation the caller passes (003_*'s bicubic upsampling for
super-resolution). With noise it amplifies the noise (``A^+ e``), as 003_* warns.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp


def back_project(operator, x_hat, y, *, inverse: Callable | None = None, tol: float = 1e-6,
                 maxiter: int = 500):
    """Eq. (10): ``x_hat + A^+ (y - A x_hat)`` for a batch; returns ``(x_bp, residual)``,
    ``residual`` the relative least-squares gap of the pseudo-inverse solve per image (0
    for a closed form; ``nan`` when ``inverse`` is an approximation the caller passed)."""
    difference = y - operator.A(x_hat)
    if inverse is not None:
        return x_hat + inverse(difference), jnp.full(x_hat.shape[:1], jnp.nan, x_hat.dtype)
    correction, residual = operator.pinv_solve(difference, tol=tol, maxiter=maxiter)
    return x_hat + correction, residual
