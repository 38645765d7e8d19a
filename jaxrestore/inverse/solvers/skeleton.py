"""The one iteration skeleton of every latent solver (MAP, CSGM, IAGAN): iterations in
``lax.scan`` with the best iterate by objective carried in the scan state, restarts by ``vmap``
keeping the one of lowest objective, one PRNG key per image, and the result every solver
returns. Each solver (:mod:`.map`, :mod:`.csgm`, :mod:`.iagan`) adds only its loss and its
parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxrestore.errors import ConfigError

INITS = ("normal", "uniform")


class LatentResult(NamedTuple):
    """What a latent solver returns for N observations."""

    z: jax.Array  # (N, z_dim) the chosen latent
    image: jax.Array  # (N, H, W, C) its image on the generator's scale ([-1, 1] for every prior here)
    objective: jax.Array  # (N,) its objective
    history: jax.Array  # (N, iterations) objective of the chosen run at each iterate


def positive_int(value, what: str) -> None:
    if int(value) != value or value <= 0:
        raise ConfigError(f"{what} must be a positive integer, got {value}.")


def positive(value, what: str) -> None:
    if not value > 0:
        raise ConfigError(f"{what} must be positive, got {value}.")


def initial_latents(key, shape, init: str):
    if init == "normal":
        return jax.random.normal(key, shape)
    return jax.random.uniform(key, shape, minval=-1.0, maxval=1.0)


def per_image_keys(key, count: int, what: str = "map_search"):
    """One key per observation: ``key`` split ``count`` ways, or, when ``key`` is already
    a batch of ``count`` typed keys (``jax.random.key``), those keys (so an image's result
    does not depend on which other images share its batch)."""
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) and key.ndim == 1:
        if key.shape[0] != count:
            raise ConfigError(f"{what} got {key.shape[0]} keys for {count} observations; pass one "
                              "key, or one per observation.")
        return key
    return jax.random.split(key, count)


def _tree_where(condition, new, old):
    return jax.tree.map(lambda a, b: jnp.where(condition, a, b), new, old)


def optimise(objective: Callable, init, tx: optax.GradientTransformation, iterations: int, *,
             keep_best: bool, project: Callable | None = None):
    """The one iteration skeleton of every latent solver (MAP, CSGM, IAGAN): ``iterations``
    steps of ``tx`` on the pytree ``init`` minimising ``objective(params) -> scalar``, in
    ``lax.scan``, each step followed by ``project`` (e.g. a clip) when given. The best iterate
    by objective is carried in the scan state (the final iterate included). Returns
    ``(params, value, history)``: the best iterate and its objective with ``keep_best``,
    otherwise the last iterate and its objective; ``history`` holds the objective of each
    iterate before its step, shape ``(iterations,)``."""
    value_and_grad = jax.value_and_grad(objective)

    def step(carry, _):
        params, opt_state, best, best_value = carry
        value, grad = value_and_grad(params)
        better = value < best_value
        best, best_value = _tree_where(better, params, best), jnp.where(better, value, best_value)
        updates, opt_state = tx.update(grad, opt_state, params)
        params = optax.apply_updates(params, updates)
        if project is not None:
            params = project(params)
        return (params, opt_state, best, best_value), value

    carry = (init, tx.init(init), init, jnp.asarray(jnp.inf, jnp.float32))
    (params, _, best, best_value), history = jax.lax.scan(step, carry, None, length=int(iterations))
    final_value = objective(params)
    if not keep_best:
        return params, final_value, history
    better = final_value < best_value
    return _tree_where(better, params, best), jnp.where(better, final_value, best_value), history


def best_of_restarts(run_one: Callable, key, restarts: int):
    """``run_one(key) -> (params, value, history)`` for ``restarts`` keys split from ``key``,
    ``vmap``\\ ped; returns the restart of lowest value."""
    params, values, histories = jax.vmap(run_one)(jax.random.split(key, int(restarts)))
    best = jnp.argmin(values)
    return jax.tree.map(lambda a: a[best], params), values[best], histories[best]
