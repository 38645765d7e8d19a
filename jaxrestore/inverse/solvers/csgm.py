"""CSGM (Bora et al. 2017; 003_* eq. 2): ``z_hat = argmin_z |y - A G(z)|^2`` by Adam (lr 0.1),
1600 iterations for BEGAN / 1800 for PGGAN, ``restarts`` random starts (5 in the official
code) of which the lowest objective wins. 003_* takes, within a start, the iterate of minimal
objective along the iterations (``keep_best_iterate=True``); the official code takes the last
one (``False``). Observations and generator outputs are on the generator's scale ([-1, 1] for
every prior here); the data term is the sum of squares over the observation's entries, as eq. 2
writes it. The iterations are the shared skeleton's (:mod:`.skeleton`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.solvers.skeleton import (INITS, LatentResult, Segmented, best_of_restarts, initial_latents,
                                                 optimise, per_image_keys, positive, positive_int, segmented)


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
        positive_int(self.z_dim, "csgm.z_dim")
        positive_int(self.iterations, "csgm.iterations")
        positive_int(self.restarts, "csgm.restarts")
        positive(self.lr, "csgm.lr")
        if self.init not in INITS:
            raise ConfigError(f"unknown z initialisation {self.init!r}; choose one of {', '.join(INITS)}.")
        if not self.clip >= 0:
            raise ConfigError(f"csgm.clip must be >= 0 (0 turns it off), got {self.clip}.")
        return self


def data_term(generator_fn, operator, y):
    """``(variables, z) -> |y - A G(z)|^2`` for one observation and one latent ``(z_dim,)``."""

    def value(variables, z):
        return jnp.sum((y - operator.A(generator_fn(variables, z[None])[0])) ** 2)

    return value


def vmap_images(fn, per_image_operator: bool, extra_axes=()):
    return jax.vmap(fn, in_axes=(0 if per_image_operator else None, 0, 0) + tuple(extra_axes))


def _projection(options: CSGMOptions) -> Callable | None:
    return None if not options.clip else (lambda z: jnp.clip(z, -options.clip, options.clip))


def csgm_segments(generator_fn: Callable, options: CSGMOptions, *, per_image_operator: bool = False) -> Segmented:
    """:func:`csgm` of a chunk of images in segments of its iterations
    (:class:`~jaxrestore.inverse.solvers.skeleton.Segmented`): the chunk's arguments are
    ``(g_vars, operator, y, keys)``, one typed key per image, and its outputs ``(z, image,
    objective)``, csgm's with those keys (tested)."""
    options.check()

    def per_image(g_vars, operator, y, key):
        term = data_term(generator_fn, operator, y)
        inits = jax.vmap(lambda k: initial_latents(k, (options.z_dim,), options.init))(
            jax.random.split(key, options.restarts))
        return (lambda z: term(g_vars, z)), inits, lambda z, value: (z, generator_fn(g_vars, z[None])[0], value)

    return segmented(per_image, (None, 0 if per_image_operator else None, 0, 0), options.iterations,
                     optax.adam(options.lr), keep_best=options.keep_best_iterate, restarts=options.restarts,
                     project=_projection(options))


def csgm(generator_fn: Callable, g_vars, operator, y, key, options: CSGMOptions, *,
         per_image_operator: bool = False) -> LatentResult:
    """CSGM estimates for observations ``y`` of shape ``(N, *operator.output_shape)``; ``key`` seeds the
    starts (one key, or N typed keys, as :func:`~jaxrestore.inverse.map_search`)."""
    options.check()
    tx = optax.adam(options.lr)
    project = _projection(options)

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
    return LatentResult(*vmap_images(one_image, per_image_operator)(operator, y, keys))
