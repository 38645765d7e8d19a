"""Total-variation reconstruction for any linear operator (002_* Table 1's TV baseline).

Solves

    min_x  1/2 |y - A x|^2 + lambda TV(x),
    TV(x) = sum_pixels sqrt( sum_c (x[i+1, j, c] - x[i, j, c])^2 + (x[i, j+1, c] - x[i, j, c])^2 ),

the isotropic total variation of Rudin, Osher & Fatemi (1992, "Nonlinear total variation
based noise removal algorithms", Physica D 60) with forward differences (zero past the last
row and column, i.e. Neumann boundaries). The channels are **coupled** (vectorial, colour
TV): one square root per pixel over both directions and all channels, so an edge costs the
same whichever channels carry it and the colours of an edge move together.

The solver is the primal-dual algorithm of Chambolle & Pock (2011, "A first-order
primal-dual algorithm for convex problems with applications to imaging", JMIV 40, Alg. 1
with theta = 1) on ``K = [grad; A]``, using only ``A`` and ``A^T``: a dual field ``p`` for
the gradient (projected per pixel onto the l2 ball of radius lambda, the prox of the
conjugate of lambda |.|_{2,1}) and a dual ``q`` for the data (prox of the conjugate of
1/2 |. - y|^2: ``q <- (q + sigma (A xbar - y)) / (1 + sigma)``). The steps are
``tau = sigma = 0.99 / L`` with ``L^2 = 8 + |A|^2 >= |K|^2`` (``|grad|^2 <= 8`` in 2-D),
so ``tau sigma |K|^2 < 1``; ``|A|`` is given (``TVOptions.operator_norm``) or estimated
inside the solve by power iterations on ``A^T A`` (an estimate from below, so it is
enlarged by ``norm_margin``). The loop is a ``lax.while_loop`` that stops when the relative
change ``|x_k+1 - x_k| / |x_k+1|`` falls below ``tol`` or after ``maxiter`` iterations; it
``vmap``\\ s over images, with one operator or with per-image operators (stacked masks),
each image stopping on its own rule. The relative change is a stopping rule, not a
certificate: with ``G = 0`` the dual objective is finite only where ``grad^T p + A^T q = 0``,
so the primal-dual gap is not computable without a projection, and none is used here.

Values are on whatever scale ``y`` is given, and lambda is on that scale too: the data term
is quadratic and TV is 1-homogeneous, so scaling ``x`` and ``y`` by ``s`` calls for lambda
times ``s``. The experiments call it on [0, 1] images (HxWxC), where lambda ~ 0.1 suits
Gaussian noise of standard deviation 0.1 (see the tests).

(measured iteration counts: docs/baselines.md)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.operators.base import Operator, check_shape

GRADIENT_NORM_SQUARED = 8.0  # |grad|^2 <= 8 for 2-D forward differences (Chambolle 2004)


@dataclasses.dataclass(frozen=True)
class TVOptions:
    weight: float = 0.1  # lambda, on the scale of y
    maxiter: int = 3000
    tol: float = 1e-5  # on |x_k+1 - x_k| / |x_k+1|; 0 runs all maxiter iterations
    operator_norm: float | None = None  # |A|; None estimates it by power iterations
    power_iterations: int = 30
    norm_margin: float = 1.05  # the power-iteration estimate of |A| is multiplied by this

    def check(self) -> "TVOptions":
        if not (self.weight >= 0 and math.isfinite(self.weight)):
            raise ConfigError(f"the TV weight lambda must be a finite number >= 0, got {self.weight}.")
        if int(self.maxiter) != self.maxiter or self.maxiter <= 0:
            raise ConfigError(f"TV maxiter must be a positive integer, got {self.maxiter}.")
        if not self.tol >= 0:
            raise ConfigError(f"the TV tolerance must be >= 0 (0 runs every iteration), got {self.tol}.")
        if self.operator_norm is not None and not (self.operator_norm > 0 and math.isfinite(self.operator_norm)):
            raise ConfigError(f"the operator norm |A| must be a finite number > 0 (or None to estimate it), "
                              f"got {self.operator_norm}.")
        if int(self.power_iterations) != self.power_iterations or self.power_iterations <= 0:
            raise ConfigError(f"TV power_iterations must be a positive integer, got {self.power_iterations}.")
        if not self.norm_margin >= 1:
            raise ConfigError(f"the TV norm_margin must be >= 1 (it enlarges an estimate from below), "
                              f"got {self.norm_margin}.")
        return self


class TVResult(NamedTuple):
    image: jax.Array  # (..., H, W, C) the reconstruction, on the scale of y
    iterations: jax.Array  # (...,) int32 iterations used
    relative_change: jax.Array  # (...,) |x_k+1 - x_k| / |x_k+1| at the last iteration


def image_gradient(x):
    """Forward differences of an (..., H, W, C) image: (..., H, W, C, 2), [..., 0] along
    H and [..., 1] along W, zero on the last row / column."""
    dh = jnp.concatenate([x[..., 1:, :, :] - x[..., :-1, :, :], jnp.zeros_like(x[..., :1, :, :])], axis=-3)
    dw = jnp.concatenate([x[..., :, 1:, :] - x[..., :, :-1, :], jnp.zeros_like(x[..., :, :1, :])], axis=-2)
    return jnp.stack([dh, dw], axis=-1)


def image_gradient_adjoint(p):
    """The adjoint of :func:`image_gradient` (minus the divergence): (..., H, W, C, 2) to
    (..., H, W, C)."""
    ph, pw = p[..., 0], p[..., 1]
    ph = ph.at[..., -1, :, :].set(0.0)
    pw = pw.at[..., :, -1, :].set(0.0)
    pad_h = [(0, 0)] * (ph.ndim - 3) + [(1, 0), (0, 0), (0, 0)]
    pad_w = [(0, 0)] * (pw.ndim - 3) + [(0, 0), (1, 0), (0, 0)]
    return (jnp.pad(ph, pad_h)[..., :-1, :, :] - ph) + (jnp.pad(pw, pad_w)[..., :, :-1, :] - pw)


def total_variation(x):
    """Coupled isotropic TV of (..., H, W, C) images: (...,)."""
    g = image_gradient(x)
    return jnp.sum(jnp.sqrt(jnp.sum(g * g, axis=(-2, -1))), axis=(-2, -1))


def tv_objective(operator: Operator, x, y, weight):
    """``1/2 |y - A x|^2 + lambda TV(x)`` per image (the objective :func:`tv_restore`
    minimises)."""
    residual = operator.A(x) - y
    axes = tuple(range(residual.ndim - len(operator.output_shape), residual.ndim))
    return 0.5 * jnp.sum(residual * residual, axis=axes) + weight * total_variation(x)


def tv_restore(operator: Operator, y, options: TVOptions = TVOptions(), *, x0=None) -> TVResult:
    """TV reconstruction of the observation ``y`` (``operator.output_shape``, or a batch of
    them with leading axes sharing one operator). For per-image operators, ``jax.vmap`` this
    function over the operator and ``y`` together. ``x0`` (default ``A^T y``) starts the
    primal iterate."""
    options = options.check()
    if not getattr(operator, "linear", False):
        name = getattr(operator, "name", type(operator).__name__)
        raise ConfigError(f"TV reconstruction needs a linear operator with an adjoint A^T, and {name} is "
                          "not linear; use a linear operator or a gradient-based latent solver.")
    y = jnp.asarray(y)
    y = y.astype(jnp.promote_types(y.dtype, jnp.float32))
    check_shape(y, operator.output_shape, operator=f"tv_restore({operator.name})", what="an observation")
    lead = y.shape[:y.ndim - len(operator.output_shape)]
    if x0 is None:
        x0 = operator.AT(y)
    else:
        x0 = jnp.asarray(x0, y.dtype)
        check_shape(x0, operator.input_shape, operator=f"tv_restore({operator.name})", what="a starting image x0")
        x0 = jnp.broadcast_to(x0, lead + tuple(operator.input_shape))
    scalars = (jnp.asarray(options.weight, y.dtype), jnp.asarray(options.tol, y.dtype),
               jnp.asarray(options.maxiter, jnp.int32))
    norm = None if options.operator_norm is None else jnp.asarray(options.operator_norm, y.dtype)
    solve = lambda y1, x1: _solve(operator, y1, x1, *scalars, norm, options.power_iterations,  # noqa: E731
                                  options.norm_margin)
    if not lead:
        return solve(y, x0)
    flat_y = y.reshape((-1,) + tuple(operator.output_shape))
    flat_x = x0.reshape((-1,) + tuple(operator.input_shape))
    result = jax.vmap(solve)(flat_y, flat_x)
    return jax.tree.map(lambda a: a.reshape(lead + a.shape[1:]), result)


def operator_norm_estimate(operator: Operator, iterations: int = 30, dtype=jnp.float32):
    """``|A|`` by ``iterations`` power iterations on ``A^T A`` from a fixed pseudo-random
    start (an estimate from below)."""
    v = jax.random.normal(jax.random.PRNGKey(0), tuple(operator.input_shape), dtype)

    def step(_, v):
        w = operator.AT(operator.A(v))
        return w / jnp.maximum(jnp.linalg.norm(w), 1e-30)

    v = jax.lax.fori_loop(0, iterations, step, v / jnp.linalg.norm(v))
    return jnp.linalg.norm(operator.A(v))


@functools.partial(jax.jit, static_argnames=("power_iterations", "norm_margin"))
def _solve(operator, y, x0, weight, tol, maxiter, norm, power_iterations, norm_margin):
    if norm is None:
        norm = operator_norm_estimate(operator, power_iterations, y.dtype) * norm_margin
    step = 0.99 / jnp.sqrt(GRADIENT_NORM_SQUARED + norm * norm)  # tau = sigma
    tau = sigma = step

    def body(state):
        x, xbar, p, q, k, _ = state
        p = p + sigma * image_gradient(xbar)
        size = jnp.sqrt(jnp.sum(p * p, axis=(-2, -1), keepdims=True))  # per pixel, channels coupled
        # Projection onto the ball of radius lambda: p * lambda / max(|p|, lambda) (0 when lambda = 0).
        p = p * jnp.where(size > weight, weight / jnp.maximum(size, 1e-30), 1.0)
        q = (q + sigma * (operator.A(xbar) - y)) / (1.0 + sigma)
        x_new = x - tau * (image_gradient_adjoint(p) + operator.AT(q))
        change = jnp.linalg.norm(x_new - x) / jnp.maximum(jnp.linalg.norm(x_new), 1e-30)
        return x_new, 2.0 * x_new - x, p, q, k + 1, change

    def cond(state):
        *_, k, change = state
        return (k < maxiter) & (change >= tol)

    x0 = x0.astype(y.dtype)
    p0 = jnp.zeros(tuple(operator.input_shape) + (2,), y.dtype)
    q0 = jnp.zeros_like(y)
    state = (x0, x0, p0, q0, jnp.asarray(0, jnp.int32), jnp.asarray(jnp.inf, y.dtype))
    x, _, _, _, k, change = jax.lax.while_loop(cond, body, state)
    return TVResult(x, k, change)
