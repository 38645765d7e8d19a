"""The baselines as experiment methods: options from a config section, one call that
restores a test set in chunks with progress, and the settings chosen on a validation split.

Both papers' commands (``configs/gan_prior.py`` for 002_*, ``configs/iagan.py`` for 003_*)
carry a ``baselines`` section with one sub-section per method::

    baselines.tv      weight (lambda), maxiter, tol
    baselines.lr      patch, stride, window, group, outer_iterations, c, sigma, sigma_end,
                      refit, relaxation, thresholding
    baselines.sparse  patch, atoms, sparsity, tolerance, outer_iterations, stride
    baselines.dip     iterations, lr, reg_noise_std, channels, scales (0 / -1: the task's default),
                      batching (auto: one image after the other on a CPU, vmapped elsewhere)

and :func:`restore` runs one of them on observations ``y = A x (+ noise)`` on the [0, 1]
image scale, with only ``A`` and ``AT`` of the task's operator. The per-task defaults
(:data:`TUNED`) were chosen on a validation split of CelebA64 that no table uses
(``folder:../shared/data/CelebA64[18800:18850]``) by ``python -m
jaxrestore.tune`` (grids and figures: docs/baselines.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.baselines.dip import default_options, dip_batching, dip_restore, sr_options
from jaxrestore.inverse.baselines.lowrank import LowRankOptions, lowrank_restore
from jaxrestore.inverse.baselines.sparse import SparseOptions, sparse_restore
from jaxrestore.inverse.baselines.tv import TVOptions, tv_restore
from jaxrestore.inverse.experiments.chunks import run_in_chunks

# Settings by task key (002_*: the task's name; 003_*: "task:clean" or "task:noisy"), chosen
# on CelebA64[18800:18850] by jaxrestore.tune (launch/tune_baselines.sh);
# a 003_* key takes GENERIC's fields of its noise level, then its own. Only the fields that
# differ from the section defaults are listed.
GENERIC = {"clean": {"tv": {"weight": 0.002}, "lr": {"sigma": 0.1, "sigma_end": 0.005, "relaxation": 1.0}},
           "noisy": {"tv": {"weight": 0.03}, "lr": {"sigma": 0.04}}}
TUNED: dict[str, dict[str, dict]] = {
    "inpaint": {"tv": {"weight": 0.01}, "lr": {"sigma": 1.0, "sigma_end": 0.005, "relaxation": 1.0},
                "sparse": {"stride": 2, "sparsity": 1}},
    "colorize": {"tv": {"weight": 0.001}, "lr": {"sigma": 0.1, "sigma_end": 0.005, "relaxation": 1.0},
                 "sparse": {"stride": 2}},
    "sr": {"tv": {"weight": 3e-5}, "lr": {"sigma": 0.1, "sigma_end": 0.005, "relaxation": 1.0},
           "sparse": {"stride": 2, "sparsity": 8}},
    "denoise": {"tv": {"weight": 0.13}, "lr": {"sigma": 0.1, "c": 8.0},
                "sparse": {"outer_iterations": 1, "sparsity": 16, "tolerance": 0.115}},
    "quantize": {"tv": {"weight": 0.1}, "lr": {"sigma": 0.06},
                 "sparse": {"outer_iterations": 1, "sparsity": 16, "tolerance": 0.07}},
    "cs_fourier:noisy": {"tv": {"weight": 0.02}, "lr": {"relaxation": 1.0}},
    "sr:clean": {"tv": {"weight": 3e-5}},
    "sr:noisy": {"tv": {"weight": 0.005}},
    "deblur:noisy": {"tv": {"weight": 0.005}},
}


def config_section(key: str) -> ml_collections.ConfigDict:
    """The ``baselines`` section of a config, with the settings for task ``key``."""
    section = {
        # tol 1e-6 and up to 20,000 iterations: where A hides pixels (a hole, x4 downsampling)
        # TV fills them by a slow diffusion, whose per-iteration change is small from the start,
        # so a looser tol stops it long before the hole is filled (figures: docs/baselines.md).
        "tv": {"weight": 0.01, "maxiter": 20000, "tol": 1e-6},
        "lr": {"patch": 6, "stride": 3, "window": 15, "group": 40, "outer_iterations": 8, "c": 8.0,
               "sigma": 0.1, "sigma_end": 0.0, "refit": 0.6, "relaxation": 0.1, "thresholding": "weighted"},
        "sparse": {"patch": 8, "atoms": 256, "sparsity": 8, "tolerance": 0.0, "outer_iterations": 10, "stride": 1},
        "dip": {"iterations": 0, "lr": 0.01, "reg_noise_std": -1.0, "channels": 128, "scales": 5, "batching": "auto"},
    }
    generic = GENERIC["noisy" if key.endswith(":noisy") else "clean"] if ":" in key else {}
    for method in section:  # the generic settings of a 003_* noise level, then the task's own
        section[method].update(generic.get(method, {}))
        section[method].update(TUNED.get(key, {}).get(method, {}))
    return ml_collections.ConfigDict({**section, "tuned_for": key})


def tv_options(c) -> TVOptions:
    return TVOptions(weight=float(c.weight), maxiter=int(c.maxiter), tol=float(c.tol)).check()


def lr_options(c, shape) -> LowRankOptions:
    schedule = None
    if float(c.sigma_end) > 0:  # a geometric schedule from sigma down to sigma_end
        schedule = tuple(float(v) for v in np.geomspace(float(c.sigma), float(c.sigma_end), int(c.outer_iterations)))
    return LowRankOptions(patch=int(c.patch), stride=int(c.stride), window=int(c.window), group=int(c.group),
                          outer_iterations=int(c.outer_iterations), c=float(c.c), sigma=float(c.sigma),
                          refit=float(c.refit), relaxation=float(c.relaxation), thresholding=str(c.thresholding),
                          sigma_schedule=schedule).check(shape)


def sparse_options(c, shape) -> SparseOptions:
    return SparseOptions(patch=int(c.patch), atoms=int(c.atoms), sparsity=int(c.sparsity),
                         tolerance=float(c.tolerance), outer_iterations=int(c.outer_iterations),
                         stride=int(c.stride)).check(shape)


def dip_options(c, shape, *, scale: int | None, noisy: bool):
    """DIP's settings: 003_*'s (the official SR settings: x4 2000 iterations and input-noise
    regularisation 0.03, x8 4000 and 0.05; a quarter of the iterations with noise) where a
    field is 0 / negative; other tasks take the x4 settings (our choice)."""
    base = sr_options(8 if scale >= 8 else 4, noisy) if scale else default_options(noisy)
    options = dataclasses.replace(
        base, iterations=int(c.iterations) or base.iterations, lr=float(c.lr),
        reg_noise_std=float(c.reg_noise_std) if float(c.reg_noise_std) >= 0 else base.reg_noise_std,
        channels=int(c.channels), scales=int(c.scales), batching=str(c.get("batching", "auto")))
    return options.check(shape)


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A baseline as an experiment method: its options from its config section, and a solve of a
    chunk of observations ``(operator, y01[, keys]) -> (images, diagnostics)``."""

    label: str
    options: Callable  # (section, shape, *, scale, noisy) -> the options object, checked
    solve: Callable  # options -> fn(operator, y01 chunk[, key chunk]) -> (images[, a per-image diagnostic])
    # (not compiled: (options, progress) with progress(step, total, loss) called between its blocks of steps)
    summary: Callable  # (diagnostics of all images, options) -> what results.json records
    compiled: bool = True  # one compiled program for every chunk; False: the solver compiles its own steps
    keyed: bool = False  # the solve takes one PRNG key per image
    note: Callable | None = None  # options -> what the closing progress line adds (the paper's speed)


def _tv(opts):
    return lambda op, y: (lambda r: (r.image, r.iterations))(tv_restore(op, y, opts))


def _lr(opts):
    return lambda op, y: (jax.vmap(lambda one: lowrank_restore(op, one, opts).image)(y),)


def _sparse(opts):
    return lambda op, y: (lambda r: (r.image, r.mean_atoms))(sparse_restore(op, y, opts))


def _dip(opts, progress=None):
    return lambda op, y, keys: (lambda r: (r.image, r.loss[:, -1]))(dip_restore(op, y, keys, opts, progress=progress))


# The registry, in table order (which also numbers each baseline's PRNG stream).
REGISTRY: dict[str, Baseline] = {
    "tv": Baseline("TV", lambda c, shape, **_: tv_options(c), _tv,
                   lambda it, _: {"iterations_mean": float(np.mean(it)), "iterations_max": int(np.max(it))}),
    "lr": Baseline("LR", lambda c, shape, **_: lr_options(c, shape), _lr, lambda _, __: {}),
    "sparse": Baseline("Sparse", lambda c, shape, **_: sparse_options(c, shape), _sparse,
                       lambda atoms, _: {"atoms_per_patch": float(np.mean(atoms))}),
    "dip": Baseline("DIP", dip_options, _dip,
                    lambda loss, o: {"final_loss_mean": float(np.mean(loss)), "iterations": int(o.iterations),
                                     "batching_used": dip_batching(o.batching)},
                    compiled=False, keyed=True,
                    note=lambda o: f"{o.iterations} iterations; 003_*: ~100 s per 128x128 image on an RTX 2080 Ti"),
}
BASELINES = tuple(REGISTRY)
LABELS = {name: b.label for name, b in REGISTRY.items()}


def options(name: str, section, shape, *, scale: int | None = None, noisy: bool = False):
    """The options object of baseline ``name`` from the config's ``baselines`` section;
    refuses bad values with one :class:`ConfigError` (before anything is solved)."""
    if name not in REGISTRY:
        raise ConfigError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}.")
    return REGISTRY[name].options(section[name], shape, scale=scale, noisy=noisy)


def check_operator(name: str, operator) -> None:
    if not getattr(operator, "linear", False):
        raise ConfigError(f"the {LABELS.get(name, name)} baseline needs a linear operator with an adjoint A^T, "
                          f"and {operator.name} is not linear; leave {name} out of methods=...")


def restore(name: str, operator, y01, opts, key, *, chunk: int,
            report: Callable[[str], None] = logging.info, store=None) -> tuple[np.ndarray, float, dict]:
    """Baseline ``name`` on every observation ``y01`` (N x output shape, [0, 1] scale) with
    one shared operator, ``chunk`` images at a time with progress (finished chunks saved to and
    read from ``store``, :class:`.runs.ChunkStore`; a stop asked of the run is taken after the
    chunk in flight, or for DIP after its block of steps, that chunk then solved again on resume). Returns (images N x H x W x C clipped to
    [0, 1], seconds per image, diagnostics for results.json)."""
    check_operator(name, operator)
    baseline = REGISTRY[name]
    y01 = jnp.asarray(y01, jnp.float32)
    n = int(y01.shape[0])
    batched = (y01, jax.random.split(key, n)) if baseline.keyed else (y01,)
    what = baseline.label if baseline.compiled else f"{baseline.label} ({opts.iterations} iterations)"
    if baseline.compiled:  # a stop waits for the chunk in flight
        solve = baseline.solve(opts)
    else:  # a stop is taken between blocks of steps; the chunk in flight is solved again by the next run
        check = (lambda *_: store.raise_if_stopped(f"during {what}")) if store is not None else None
        solve = baseline.solve(opts, check)
        if jax.default_backend() == "cpu":  # DIP runs one image after the other there: save each as it ends
            chunk = 1
    (images, *diagnostics), compile_s, solve_s = run_in_chunks(
        solve, (operator,), batched, chunk=chunk, what=what, report=report, jit=baseline.compiled,
        store=store)
    if baseline.note is not None:
        report(f"{baseline.label}: {solve_s / n:.1f} s per image ({baseline.note(opts)})")
    extra = {"compile_s": compile_s} if baseline.compiled else {}
    extra.update(baseline.summary(diagnostics[0] if diagnostics else None, opts))
    return np.clip(np.asarray(images, np.float64), 0.0, 1.0), solve_s / n, extra
