"""IAGAN (003_* eq. 3): from CSGM's ``z_hat``, ``z`` and the generator's weights ``theta`` are
optimised together on ``|y - A G_theta(z)|^2`` with ``jax.grad`` with respect to both, two Adam
optimisers with their own learning rates (``optax.multi_transform``), in ``lax.scan`` (the
shared skeleton, :mod:`.skeleton`); each image gets its own ``theta`` and optimiser states, so a
batch holds one copy of the generator's weights per image, twice (the current and the best
iterate), plus Adam's two moments. How the images of a batch run is ``batching``: ``vmap``
makes each convolution a grouped convolution over the images' weights, a slow path on XLA:CPU;
``map`` runs the images one after the other inside the compiled program, each convolution with
its own weights, but inside a loop of the program, where XLA:CPU's backward convolutions take
another slow path (jax issue #12868); ``loop`` calls one compiled step of one image from the host,
image after image and step after step (:func:`~.skeleton.host_steps`), which avoids both;
``auto`` takes ``loop`` on a CPU and ``vmap`` on an accelerator (measured figures:
docs/speed.md). ``loop`` needs concrete arguments: called inside ``jax.jit``, :func:`iagan`
runs it as ``map``. All give the same results to rounding (tested). ``theta`` is the ``params`` collection of the
generator's variables (running BatchNorm statistics stay fixed); leaves whose path contains
one of ``freeze`` stay fixed too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import optax

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.solvers.csgm import data_term
from jaxrestore.inverse.solvers.skeleton import (IMAGE_BATCHING, LatentResult, Segmented, host_steps, optimise,
                                                 over_images, positive, positive_int, segmented)

BATCHING = ("auto",) + IMAGE_BATCHING


@dataclasses.dataclass(frozen=True)
class IAGANOptions:
    iterations: int = 600
    lr_z: float = 1e-4
    lr_theta: float = 1e-4
    keep_best_iterate: bool = True  # the paper; False: the official code's last iterate
    collections: tuple[str, ...] = ("params",)  # variable collections that form theta
    freeze: tuple[str, ...] = ()  # path fragments of theta leaves kept fixed (e.g. "scale")
    batching: str = "auto"  # how a batch of images with their own weights runs: auto, vmap, map or loop

    def check(self) -> "IAGANOptions":
        if self.batching not in BATCHING:
            raise ConfigError(f"iagan.batching must be one of {', '.join(BATCHING)}, got {self.batching!r}.")
        positive_int(self.iterations, "iagan.iterations")
        positive(self.lr_z, "iagan.lr_z")
        positive(self.lr_theta, "iagan.lr_theta")
        if not self.collections:
            raise ConfigError("iagan.collections is empty, so no generator weight would adapt; use ('params',).")
        return self


def image_batching(batching: str) -> str:
    """The strategy ``batching`` names: ``auto`` is ``loop`` on a CPU backend (grouped convolutions
    and convolutions inside compiled loops are slow paths of XLA:CPU) and ``vmap`` on a GPU or TPU."""
    if batching != "auto":
        return batching
    return "loop" if jax.default_backend() == "cpu" else "vmap"


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
    batching = image_batching(options.batching)
    traced = any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves((g_vars, operator, y, z_hat)))
    if batching == "loop" and not traced:
        return _iagan_on_host(generator_fn, g_vars, operator, y, z_hat, options, per_image_operator)
    in_axes = (0 if per_image_operator else None, 0, 0)
    batching = "map" if batching == "loop" else batching
    return LatentResult(*over_images(one_image, in_axes, batching)(operator, y, z_hat))


def _iagan_on_host(generator_fn, g_vars, operator, y, z_hat, options: IAGANOptions, per_image_operator: bool):
    """:func:`iagan` with batching ``loop``: :func:`iagan_segments`' parts, the steps from the host."""
    solver = iagan_segments(generator_fn, g_vars, dataclasses.replace(options, batching="loop"),
                            per_image_operator=per_image_operator)
    args = (g_vars, operator, y, z_hat)
    carry = jax.jit(solver.start)(*args)
    carry, history = host_steps(jax.jit(solver.image_step), args, solver.in_axes, carry, solver.iterations,
                                history=True)
    z, image, value = jax.jit(solver.end)(*args, carry)
    return LatentResult(z=z, image=image, objective=value, history=history)


def iagan_segments(generator_fn: Callable, g_vars, options: IAGANOptions, *,
                   per_image_operator: bool = False) -> Segmented:
    """:func:`iagan` of a chunk of images in segments of its iterations
    (:class:`~jaxrestore.inverse.solvers.skeleton.Segmented`): the chunk's arguments are
    ``(g_vars, operator, y, z_hat)`` (``g_vars`` as given here: it shapes the optimiser) and its
    outputs ``(z, image, objective)``, iagan's (tested)."""
    options.check()
    tx = iagan_optimizer(options, split_theta(g_vars, options.collections)[0])

    def per_image(variables, operator, y, z0):
        theta, rest = split_theta(variables, options.collections)
        term = data_term(generator_fn, operator, y)

        def image(p):
            return generator_fn({**rest, **p["theta"]}, p["z"][None])[0]

        def objective(p):
            return term({**rest, **p["theta"]}, p["z"])

        return objective, {"z": z0, "theta": theta}, lambda p, value: (p["z"], image(p), value)

    return segmented(per_image, (None, 0 if per_image_operator else None, 0, 0), options.iterations, tx,
                     keep_best=options.keep_best_iterate, restarts=None, batching=image_batching(options.batching))
