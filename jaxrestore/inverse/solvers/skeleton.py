"""The one iteration skeleton of every latent solver (MAP, CSGM, IAGAN): iterations in
``lax.scan`` with the best iterate by objective carried in the scan state, restarts by ``vmap``
keeping the one of lowest objective, one PRNG key per image, and the result every solver
returns. Each solver (:mod:`.map`, :mod:`.csgm`, :mod:`.iagan`) adds only its loss and its
parameters."""

from __future__ import annotations

import functools
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


def optimise_start(init, tx: optax.GradientTransformation):
    """The carry of :func:`optimise` before its first step: ``(params, optimiser state, best
    params, best objective)``."""
    return init, tx.init(init), init, jnp.asarray(jnp.inf, jnp.float32)


def optimise_step(objective: Callable, carry, tx: optax.GradientTransformation, *, project: Callable | None = None):
    """One step of :func:`optimise` from ``carry``: ``(carry, objective of the iterate before the
    step)``; the body of :func:`optimise_steps`' scan, and what a host loop calls step by step."""
    params, opt_state, best, best_value = carry
    value, grad = jax.value_and_grad(objective)(params)
    better = value < best_value
    best, best_value = _tree_where(better, params, best), jnp.where(better, value, best_value)
    updates, opt_state = tx.update(grad, opt_state, params)
    params = optax.apply_updates(params, updates)
    if project is not None:
        params = project(params)
    return (params, opt_state, best, best_value), value


def optimise_steps(objective: Callable, carry, tx: optax.GradientTransformation, length: int, *,
                   project: Callable | None = None):
    """``length`` steps of :func:`optimise` from ``carry`` in ``lax.scan``: ``(carry, objectives
    of the iterates before their steps)``. Steps from one carry in segments give the iterates
    one scan of all the steps gives (tested)."""

    def step(carry, _):
        return optimise_step(objective, carry, tx, project=project)

    return jax.lax.scan(step, carry, None, length=int(length))


def optimise_end(objective: Callable, carry, *, keep_best: bool):
    """``(params, objective)`` after the last step: the best iterate (the final one included)
    with ``keep_best``, otherwise the last iterate."""
    params, _, best, best_value = carry
    final_value = objective(params)
    if not keep_best:
        return params, final_value
    better = final_value < best_value
    return _tree_where(better, params, best), jnp.where(better, final_value, best_value)


def optimise(objective: Callable, init, tx: optax.GradientTransformation, iterations: int, *,
             keep_best: bool, project: Callable | None = None):
    """The one iteration skeleton of every latent solver (MAP, CSGM, IAGAN): ``iterations``
    steps of ``tx`` on the pytree ``init`` minimising ``objective(params) -> scalar``, in
    ``lax.scan``, each step followed by ``project`` (e.g. a clip) when given. The best iterate
    by objective is carried in the scan state (the final iterate included). Returns
    ``(params, value, history)``: the best iterate and its objective with ``keep_best``,
    otherwise the last iterate and its objective; ``history`` holds the objective of each
    iterate before its step, shape ``(iterations,)``. :func:`optimise_start`,
    :func:`optimise_steps` and :func:`optimise_end` are its three parts, for a solve in
    segments (:class:`Segmented`)."""
    carry, history = optimise_steps(objective, optimise_start(init, tx), tx, iterations, project=project)
    params, value = optimise_end(objective, carry, keep_best=keep_best)
    return params, value, history


class Segmented(NamedTuple):
    """A solver of a chunk of images cut into segments of its iterations, so that a run can stop,
    report and resume between segments (``jaxrestore.inverse.experiments.chunks``). Each takes
    the arguments of the chunk (the fixed ones, then the per-image ones):

    - ``start(*args) -> carry``;
    - ``steps(*args, carry, length) -> carry``, ``length`` iterations (static);
    - ``end(*args, carry) -> outputs``, a tuple of per-image arrays.

    ``start``, then ``steps`` over lengths adding up to ``iterations``, then ``end`` give what the
    solver gives in one scan."""

    start: Callable
    steps: Callable
    end: Callable
    iterations: int
    # batching "loop": one step of one image, ``(*image_args, image_carry) -> (image_carry, objective)``,
    # called from the host image after image and step after step (:func:`host_steps`); None otherwise
    image_step: Callable | None = None
    in_axes: tuple | None = None  # which chunk arguments carry the image axis (for image_step)


# How the images of a chunk run when each has its own weights (IAGAN): see over_images and host_steps.
IMAGE_BATCHING = ("vmap", "map", "loop")


def over_images(fn: Callable, in_axes: tuple, batching: str = "vmap") -> Callable:
    """``fn`` of one image's arguments mapped over a chunk of images: ``in_axes`` says which
    arguments carry a leading image axis (0) and which are shared (None). ``"vmap"`` runs the
    images as one batch (``jax.vmap``): per-image arrays that are weights (IAGAN's theta) become
    grouped convolutions. ``"map"`` runs them one after the other inside the compiled program
    (``lax.map``): each image's convolutions keep a batch of one. The two agree to rounding.
    (``"loop"``, images and steps from the host, is :func:`host_steps`; here it is ``"map"``.)"""
    if batching == "vmap":
        return jax.vmap(fn, in_axes=in_axes)
    if batching not in ("map", "loop"):
        raise ConfigError(f"image batching must be one of {', '.join(IMAGE_BATCHING)}, got {batching!r}.")
    if any(axis not in (0, None) for axis in in_axes):
        raise ValueError(f"over_images maps axis 0 or nothing, got in_axes {in_axes}")

    def mapped(*args):
        batched = tuple(a for a, axis in zip(args, in_axes) if axis == 0)

        def one(items):
            it = iter(items)
            return fn(*(next(it) if axis == 0 else a for a, axis in zip(args, in_axes)))

        return jax.lax.map(one, batched)

    return mapped


def segmented(per_image: Callable, in_axes: tuple, iterations: int, tx: optax.GradientTransformation, *,
              keep_best: bool, restarts: int | None, project: Callable | None = None,
              batching: str = "vmap") -> Segmented:
    """A latent solver of a chunk of images in segments, from its per-image parts:
    ``per_image(*args) -> (objective, inits, finish)`` for one image's arguments (``in_axes`` says
    which arguments carry a leading image axis), where ``inits`` holds the starting parameters of
    each restart (a leading axis of ``restarts``; no such axis when ``restarts`` is None) and
    ``finish(params, objective) -> outputs`` makes the image's outputs from the chosen iterate.
    Every image and restart takes :func:`optimise`'s steps; the restart of lowest objective wins,
    as in :func:`best_of_restarts`. ``batching`` is how the images of a chunk run
    (:func:`over_images`); with ``"loop"`` the result also has ``image_step``, for
    :func:`host_steps` (``steps`` then maps the images inside the program)."""
    over_restarts = (lambda fn: fn) if restarts is None else jax.vmap

    def start(*args):
        def one(*a):
            return over_restarts(lambda p: optimise_start(p, tx))(per_image(*a)[1])

        return over_images(one, in_axes, batching)(*args)

    def steps(*args, length: int):
        def one(*a):
            objective = per_image(*a[:-1])[0]
            run = lambda c: optimise_steps(objective, c, tx, length, project=project)[0]  # noqa: E731
            return over_restarts(run)(a[-1])

        return over_images(one, in_axes + (0,), batching)(*args)

    def end(*args):
        def one(*a):
            objective, _, finish = per_image(*a[:-1])
            close = lambda c: optimise_end(objective, c, keep_best=keep_best)  # noqa: E731
            if restarts is None:
                return finish(*close(a[-1]))
            params, values = jax.vmap(close)(a[-1])
            best = jnp.argmin(values)
            return finish(jax.tree.map(lambda leaf: leaf[best], params), values[best])

        return over_images(one, in_axes + (0,), batching)(*args)

    def image_step(*a):
        objective = per_image(*a[:-1])[0]
        return over_restarts(lambda c: optimise_step(objective, c, tx, project=project))(a[-1])

    if batching != "loop":
        return Segmented(start, steps, end, int(iterations))
    return Segmented(start, steps, end, int(iterations), image_step=image_step, in_axes=tuple(in_axes))


def image_arguments(args: tuple, in_axes: tuple, i: int) -> tuple:
    """Image ``i``'s arguments of a chunk: its slice of those with an image axis, the rest as they are."""
    return tuple(jax.tree.map(lambda a: a[i], arg) if axis == 0 else arg for arg, axis in zip(args, in_axes))


def compile_image_step(solver: Segmented, args: tuple, carry):
    """``solver.image_step`` compiled ahead of time for one image of a chunk with arguments ``args``
    and carry ``carry`` (arrays or shapes, e.g. from ``jax.eval_shape``), for :func:`host_steps`."""
    image_args = jax.eval_shape(lambda a: image_arguments(a, solver.in_axes, 0), args)
    image_carry = jax.eval_shape(lambda c: jax.tree.map(lambda leaf: leaf[0], c), carry)
    return jax.jit(solver.image_step).lower(*image_args, image_carry).compile()


@functools.partial(jax.jit, static_argnums=1)
def split_images(tree, images: int) -> list:
    """The ``images`` slices of a pytree's leading axis, in one compiled program."""
    return [jax.tree.map(lambda leaf: leaf[i], tree) for i in range(images)]


@jax.jit
def stack_images(trees: list):
    """The inverse of :func:`split_images`, in one compiled program."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def host_steps(step: Callable, args: tuple, in_axes: tuple, carry, length: int, *, history: bool = False):
    """Batching ``"loop"``: ``length`` steps of every image of a chunk, called from the host one
    image and one step at a time (``step`` is :attr:`Segmented.image_step` compiled), so that no
    convolution runs inside a loop of the compiled program: on XLA:CPU a convolution's backward
    pass inside a ``while`` loop (``lax.scan``, ``lax.map``) takes a slow path (jax issue
    #12868), many times slower for large generators (docs/speed.md). JAX's asynchronous
    dispatch keeps the host ahead. Returns the carry, and with ``history`` the objectives
    ``(images, length, ...)``."""
    images = jax.tree.leaves(carry)[0].shape[0]
    batched = tuple(arg for arg, axis in zip(args, in_axes) if axis == 0)
    per_image = split_images(batched, images)
    carries, values = split_images(carry, images), []
    for i in range(images):
        it = iter(per_image[i])
        image_args = tuple(next(it) if axis == 0 else arg for arg, axis in zip(args, in_axes))
        c = carries[i]
        for _ in range(int(length)):
            c, value = step(*image_args, c)
            if history:
                values.append(value)
        carries[i] = c
    carry = stack_images(carries)
    if not history:
        return carry, None
    stacked = jnp.stack(values)
    return carry, stacked.reshape((images, int(length)) + stacked.shape[1:])


def segment_lengths(iterations: int, target: int) -> list[int]:
    """Segment lengths adding up to ``iterations``, each at most ``target``: equal lengths (one
    compiled program) where ``iterations`` has a divisor in ``[target / 2, target]``, else
    ``target`` and one remainder."""
    iterations, target = int(iterations), max(1, int(target))
    if iterations <= target:
        return [iterations]
    length = next((d for d in range(target, (target + 1) // 2 - 1, -1) if iterations % d == 0), None)
    if length is not None:
        return [length] * (iterations // length)
    return [target] * (iterations // target) + ([iterations % target] if iterations % target else [])


def best_of_restarts(run_one: Callable, key, restarts: int):
    """``run_one(key) -> (params, value, history)`` for ``restarts`` keys split from ``key``,
    ``vmap``\\ ped; returns the restart of lowest value."""
    params, values, histories = jax.vmap(run_one)(jax.random.split(key, int(restarts)))
    best = jnp.argmin(values)
    return jax.tree.map(lambda a: a[best], params), values[best], histories[best]
