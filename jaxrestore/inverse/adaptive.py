"""CSGM, IAGAN and back-projection (003_*: Abu Hussein, Tirer and Giryes, "Image-Adaptive
GAN based Reconstruction").

- **CSGM** (Bora et al. 2017; 003_* eq. 2): ``z_hat = argmin_z |y - A G(z)|^2``, Adam
  (lr 0.1), 1600 iterations for BEGAN / 1800 for PGGAN, ``restarts`` random starts (5 in
  the official code) of which the lowest objective wins. 003_* takes, within a start, the
  iterate of minimal objective along the iterations (``keep_best_iterate=True``); the
  official code takes the last one (``False``).
- **IAGAN** (eq. 3): from ``z_hat``, ``z`` and the generator's weights ``theta`` are
  optimised together on ``|y - A G_theta(z)|^2`` with ``jax.grad`` with respect to both,
  two Adam optimisers with their own learning rates (``optax.multi_transform``), in
  ``lax.scan``; each image gets its own ``theta`` and optimiser states (``vmap``), so a
  batch holds one copy of the generator's weights per image, twice (the current and the
  best iterate), plus Adam's two moments. ``theta`` is the ``params`` collection of the
  generator's variables (running BatchNorm statistics stay fixed); leaves whose path
  contains one of ``freeze`` stay fixed too.
- **Back-projection** (eq. 10): ``x_bp = x_hat + A^+ (y - A x_hat)``, the closest point to
  ``x_hat`` on ``{x : A x = y}``; ``A^+`` is the operator's pseudo-inverse (closed form or
  conjugate gradients) or an approximation the caller passes (003_*'s bicubic upsampling
  for super-resolution). With noise it amplifies the noise (``A^+ e``), as 003_* warns.

All three share the iteration skeleton of :mod:`jaxrestore.inverse.solvers`
(:func:`~jaxrestore.inverse.solvers.optimise`, :func:`~jaxrestore.inverse.solvers.best_of_restarts`,
:func:`~jaxrestore.inverse.solvers.per_image_keys`). Observations and generator outputs
are on the generator's scale ([-1, 1] for every prior here); the data term is the sum of
squares over the observation's entries, as eq. 2/3 write it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.solvers import INITS, best_of_restarts, initial_latents, optimise, per_image_keys


def _positive_int(value, what: str) -> None:
    if int(value) != value or value <= 0:
        raise ConfigError(f"{what} must be a positive integer, got {value}.")


def _positive(value, what: str) -> None:
    if not value > 0:
        raise ConfigError(f"{what} must be positive, got {value}.")


@dataclasses.dataclass(frozen=True)
class CSGMOptions:
    z_dim: int = 64
    iterations: int = 1600
    lr: float = 0.1
    restarts: int = 5
    init: str = "uniform"  # BEGAN: z ~ U(-1, 1); PGGAN/DCGAN: "normal"
    clip: float = 0.0  # > 0: clip z to [-clip, clip] after each step (0: no clip)
    keep_best_iterate: bool = True  # the paper; False: the official code's last iterate

    def check(self) -> "CSGMOptions":
        _positive_int(self.z_dim, "csgm.z_dim")
        _positive_int(self.iterations, "csgm.iterations")
        _positive_int(self.restarts, "csgm.restarts")
        _positive(self.lr, "csgm.lr")
        if self.init not in INITS:
            raise ConfigError(f"unknown z initialisation {self.init!r}; choose one of {', '.join(INITS)}.")
        if not self.clip >= 0:
            raise ConfigError(f"csgm.clip must be >= 0 (0 turns it off), got {self.clip}.")
        return self


@dataclasses.dataclass(frozen=True)
class IAGANOptions:
    iterations: int = 600
    lr_z: float = 1e-4
    lr_theta: float = 1e-4
    keep_best_iterate: bool = True  # the paper; False: the official code's last iterate
    collections: tuple[str, ...] = ("params",)  # variable collections that form theta
    freeze: tuple[str, ...] = ()  # path fragments of theta leaves kept fixed (e.g. "scale")

    def check(self) -> "IAGANOptions":
        _positive_int(self.iterations, "iagan.iterations")
        _positive(self.lr_z, "iagan.lr_z")
        _positive(self.lr_theta, "iagan.lr_theta")
        if not self.collections:
            raise ConfigError("iagan.collections is empty, so no generator weight would adapt; use ('params',).")
        return self


class LatentResult(NamedTuple):
    z: jax.Array  # (N, z_dim)
    image: jax.Array  # (N, H, W, C) on the generator's scale
    objective: jax.Array  # (N,)
    history: jax.Array  # (N, iterations) objective along the chosen run


def data_term(generator_fn, operator, y):
    """``(variables, z) -> |y - A G(z)|^2`` for one observation and one latent ``(z_dim,)``."""

    def value(variables, z):
        return jnp.sum((y - operator.A(generator_fn(variables, z[None])[0])) ** 2)

    return value


def _vmap_images(fn, per_image_operator: bool, extra_axes=()):
    return jax.vmap(fn, in_axes=(0 if per_image_operator else None, 0, 0) + tuple(extra_axes))


def csgm(generator_fn: Callable, g_vars, operator, y, key, options: CSGMOptions, *,
         per_image_operator: bool = False) -> LatentResult:
    """CSGM estimates for observations ``y`` (N, *operator.output_shape); ``key`` seeds the
    starts (one key, or N typed keys, as :func:`~jaxrestore.inverse.solvers.map_search`)."""
    options.check()
    tx = optax.adam(options.lr)
    project = None if not options.clip else (lambda z: jnp.clip(z, -options.clip, options.clip))

    def one_image(op, yy, k):
        term = data_term(generator_fn, op, yy)
        objective = lambda z: term(g_vars, z)  # noqa: E731

        def one_start(kk):
            z0 = initial_latents(kk, (options.z_dim,), options.init)
            return optimise(objective, z0, tx, options.iterations, keep_best=options.keep_best_iterate,
                            project=project)

        z, value, history = best_of_restarts(one_start, k, options.restarts)
        return z, generator_fn(g_vars, z[None])[0], value, history

    keys = per_image_keys(key, y.shape[0], "csgm")
    return LatentResult(*_vmap_images(one_image, per_image_operator)(operator, y, keys))


def split_theta(g_vars, collections) -> tuple[dict, dict]:
    """``(theta, fixed)``: the variable collections IAGAN adapts, and the rest."""
    missing = [c for c in collections if c not in g_vars]
    if missing:
        raise ConfigError(f"the generator's variables have no collection {missing[0]!r} (they have "
                          f"{sorted(g_vars)}); set iagan.collections to some of those.")
    theta = {c: g_vars[c] for c in collections}
    return theta, {c: v for c, v in g_vars.items() if c not in collections}


def _labels(theta, freeze) -> dict:
    def label(path, _):
        text = "/".join(str(getattr(p, "key", getattr(p, "idx", p))) for p in path)
        return "frozen" if any(f and f in text for f in freeze) else "theta"

    return jax.tree_util.tree_map_with_path(label, theta)


def iagan_optimizer(options: IAGANOptions, theta) -> optax.GradientTransformation:
    """Adam on z (lr_z) and Adam on theta (lr_theta), frozen leaves untouched, over the
    pytree ``{"z": z, "theta": theta}``."""
    labels = {"z": "z", "theta": _labels(theta, options.freeze)}
    return optax.multi_transform({"z": optax.adam(options.lr_z), "theta": optax.adam(options.lr_theta),
                                  "frozen": optax.set_to_zero()}, labels)


def iagan(generator_fn: Callable, g_vars, operator, y, z_hat, options: IAGANOptions, *,
          per_image_operator: bool = False) -> LatentResult:
    """IAGAN estimates from CSGM's ``z_hat`` (N, z_dim): per image, ``z`` and ``theta``
    jointly by ``jax.grad`` inside ``lax.scan``; returns ``G_theta(z)`` of the chosen
    iterate (the adapted weights themselves are not returned)."""
    options.check()
    theta0, fixed = split_theta(g_vars, options.collections)
    tx = iagan_optimizer(options, theta0)

    def one_image(op, yy, z0):
        term = data_term(generator_fn, op, yy)

        def objective(p):
            return term({**fixed, **p["theta"]}, p["z"])

        p, value, history = optimise(objective, {"z": z0, "theta": theta0}, tx, options.iterations,
                                     keep_best=options.keep_best_iterate)
        image = generator_fn({**fixed, **p["theta"]}, p["z"][None])[0]
        return p["z"], image, value, history

    if z_hat.shape[0] != y.shape[0]:
        raise ConfigError(f"iagan got {z_hat.shape[0]} latents for {y.shape[0]} observations; pass CSGM's z per image.")
    return LatentResult(*_vmap_images(one_image, per_image_operator)(operator, y, z_hat))


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
