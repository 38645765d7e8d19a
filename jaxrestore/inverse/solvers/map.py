"""Latent-space search with a GAN prior: MAP of 002_* eq. (3).

For one observation ``y = A(x)`` the solver minimises over the latent ``z``

    objective(z) = sum |y - A(G(z))|  +  lambda * prior(z)

with the L1 term *summed* over the observation's pixels and channels on images in
[-1, 1], as 002_*'s released code does, so ``lambda`` is tied to that scale and to the
image size (an image of 64x64x3 has 12,288 terms). ``prior`` is

- ``"released"``: ``-log D(G(z))`` (what the released code optimised);
- ``"paper"``: ``log(1 - D(G(z))) - log D(G(z))`` = ``-logit``, eq. (3) (``log p_z`` is
  constant for uniform z);
- ``"none"``: no prior term.

The optimiser is the released one: Nesterov momentum (``optax.sgd(lr, momentum,
nesterov=True)``, the same update as the released ``v = mu v - lr g; z += -mu v_prev +
(1 + mu) v``) with ``z`` clipped to [-1, 1] after each step. The iterations run in
``lax.scan``; restarts and images are ``vmap``\\ ped; the best restart is chosen by its
final objective (or, with ``keep_best_iterate``, each restart keeps its best iterate
along the way).

Bring your own prior: ``generator_fn(params, z) -> images`` maps a batch of latents
``(N, z_dim)`` to images ``(N, H, W, C)`` in [-1, 1], ``discriminator_fn(params, images)
-> logits`` maps images to ``(N,)`` logits; both should run in inference mode (BatchNorm
with running statistics), so that a batched solve equals per-image solves::

    G = lambda p, z: my_generator.apply(p, z, train=False)
    D = lambda p, x: my_discriminator.apply(p, x, train=False)
    result = map_search(G, g_vars, D, d_vars, operator, y, key, MAPOptions(z_dim=100))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.solvers.skeleton import (INITS, LatentResult, Segmented, best_of_restarts, initial_latents,
                                                 optimise, per_image_keys, segmented)

PRIORS = ("released", "paper", "none")


@dataclasses.dataclass(frozen=True)
class MAPOptions:
    z_dim: int = 100
    iterations: int = 1000
    lr: float = 1e-4
    momentum: float = 0.9
    prior_weight: float = 0.01  # lambda
    prior: str = "released"
    init: str = "normal"  # released: z ~ N(0, I); the paper: U(-1, 1)
    restarts: int = 1
    keep_best_iterate: bool = False

    def check(self) -> "MAPOptions":
        if self.prior not in PRIORS:
            raise ConfigError(f"unknown prior {self.prior!r}; choose one of {', '.join(PRIORS)}.")
        if self.init not in INITS:
            raise ConfigError(f"unknown z initialisation {self.init!r}; choose one of {', '.join(INITS)}.")
        if not self.prior_weight >= 0:
            raise ConfigError(f"the prior weight lambda must be >= 0, got {self.prior_weight}.")
        if int(self.iterations) != self.iterations or self.iterations <= 0:
            raise ConfigError(f"the number of iterations must be a positive integer, got {self.iterations}.")
        if int(self.restarts) != self.restarts or self.restarts <= 0:
            raise ConfigError(f"the number of restarts must be a positive integer, got {self.restarts}.")
        if not self.lr > 0:
            raise ConfigError(f"the learning rate must be positive, got {self.lr}.")
        return self


def latent_optimizer(options: MAPOptions) -> optax.GradientTransformation:
    """The released update: Nesterov momentum SGD (clipping happens after it)."""
    return optax.sgd(options.lr, momentum=options.momentum, nesterov=True)


def clipped_step(tx: optax.GradientTransformation, z, opt_state, grad):
    """One optimiser step on ``z`` followed by the released clip to [-1, 1]."""
    updates, opt_state = tx.update(grad, opt_state, z)
    return jnp.clip(optax.apply_updates(z, updates), -1.0, 1.0), opt_state


def prior_term(logits, prior: str):
    if prior == "released":
        return jax.nn.softplus(-logits)  # -log sigmoid(logit)
    if prior == "paper":
        return -logits  # log(1 - D) - log D
    return jnp.zeros_like(logits)


def map_search(generator_fn: Callable, g_params, discriminator_fn: Callable | None, d_params,
               operator, y, key, options: MAPOptions, *, per_image_operator: bool = False) -> LatentResult:
    """MAP estimates for a batch of observations ``y`` of shape ``(N, *operator.output_shape)``, in
    [-1, 1]; ``operator`` is one operator for all images, or with ``per_image_operator`` a
    batch of operators (leaves with a leading N axis, e.g. stacked masks). ``key`` seeds
    z's initialisation (image i, restart r get their own keys split from it); a batch of N
    typed keys (``jax.random.key``) gives each image its own, so an image's result does not
    depend on which other images share its batch."""
    _check(options, discriminator_fn)
    keys = per_image_keys(key, y.shape[0])
    solve = jax.vmap(lambda op, yy, k: _solve_image(generator_fn, g_params, discriminator_fn, d_params,
                                                     op, yy, k, options),
                     in_axes=(0 if per_image_operator else None, 0, 0))
    return solve(operator, y, keys)


def _check(options: MAPOptions, discriminator_fn) -> None:
    options.check()
    if options.prior != "none" and discriminator_fn is None:
        raise ConfigError(f"prior {options.prior!r} needs a discriminator; pass one or use prior='none'.")


def map_segments(generator_fn: Callable, discriminator_fn: Callable | None, options: MAPOptions, *,
                 per_image_operator: bool = False) -> Segmented:
    """:func:`map_search` of a chunk of images in segments of its iterations
    (:class:`~jaxrestore.inverse.solvers.skeleton.Segmented`), for a run that stops, reports and
    resumes between them: the chunk's arguments are ``(g_params, d_params, operator, y, keys)``,
    one typed key per image, and its outputs ``(z, image, objective)``, map_search's with those
    keys (tested)."""
    _check(options, discriminator_fn)
    clip = lambda z: jnp.clip(z, -1.0, 1.0)  # noqa: E731

    def per_image(g_params, d_params, operator, y, key):
        objective = objective_fn(generator_fn, g_params, discriminator_fn, d_params, operator, y, options)
        inits = jax.vmap(lambda k: initial_latents(k, (options.z_dim,), options.init))(
            jax.random.split(key, options.restarts))
        return objective, inits, lambda z, value: (z, generator_fn(g_params, z[None])[0], value)

    return segmented(per_image, (None, None, 0 if per_image_operator else None, 0, 0), options.iterations,
                     latent_optimizer(options), keep_best=options.keep_best_iterate, restarts=options.restarts,
                     project=clip)


def objective_fn(generator_fn, g_params, discriminator_fn, d_params, operator, y, options: MAPOptions):
    """The per-latent objective ``z (z_dim,) -> scalar`` of eq. (3) for one observation."""

    def objective(z):
        image = generator_fn(g_params, z[None])[0]
        context = jnp.sum(jnp.abs(y - operator.A(image)))
        if options.prior == "none":
            return context
        logit = discriminator_fn(d_params, image[None])[0]
        return context + options.prior_weight * prior_term(logit, options.prior)

    return objective


def _solve_image(generator_fn, g_params, discriminator_fn, d_params, operator, y, key, options):
    objective = objective_fn(generator_fn, g_params, discriminator_fn, d_params, operator, y, options)
    tx = latent_optimizer(options)
    clip = lambda z: jnp.clip(z, -1.0, 1.0)  # noqa: E731  the released clip after each step

    def one_restart(k):
        z0 = initial_latents(k, (options.z_dim,), options.init)
        return optimise(objective, z0, tx, options.iterations, keep_best=options.keep_best_iterate, project=clip)

    z, value, history = best_of_restarts(one_restart, key, options.restarts)
    return LatentResult(z=z, image=generator_fn(g_params, z[None])[0], objective=value, history=history)
