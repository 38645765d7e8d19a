"""The baselines as experiment methods: options from a config section, one call that
restores a test set in chunks with progress, and the settings chosen on a validation split.

Both papers' commands (``configs/gan_prior.py`` for 002_*, ``configs/iagan.py`` for 003_*)
carry a ``baselines`` section with one sub-section per method::

    baselines.tv      weight (lambda), maxiter, tol
    baselines.lr      patch, stride, window, group, outer_iterations, c, sigma, sigma_end,
                      refit, relaxation, thresholding
    baselines.sparse  patch, atoms, sparsity, tolerance, outer_iterations, stride
    baselines.dip     iterations, lr, reg_noise_std, channels, scales (0 / -1: the task's default)

and :func:`restore` runs one of them on observations ``y = A x (+ noise)`` on the [0, 1]
image scale, with only ``A`` and ``AT`` of the task's operator. The per-task defaults
(:data:`TUNED`) were chosen on a validation split of CelebA64 that no table uses
(``folder:../shared/data/CelebA64[18800:18850]``) by ``python -m
jaxrestore.inverse.baselines.tune`` (see the README for the grids and the figures).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.baselines.lowrank import LowRankOptions, lowrank_restore
from jaxrestore.inverse.baselines.sparse import SparseOptions, sparse_restore
from jaxrestore.inverse.baselines.tv import TVOptions, tv_restore
from jaxrestore.inverse.chunks import duration, run_in_chunks

BASELINES = ("tv", "lr", "sparse", "dip")
LABELS = {"tv": "TV", "lr": "LR", "sparse": "Sparse", "dip": "DIP"}

# Settings by task key (002_*: the task's name; 003_*: "task:clean" or "task:noisy"), chosen
# on CelebA64[18800:18850] by jaxrestore.inverse.baselines.tune (launch/tune_baselines.sh);
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


def choose_methods(text: str, known, default) -> list[str]:
    """The comma-separated ``methods=`` field of either command, in the order of ``known``;
    empty: ``default`` (the paper's table). An unknown name is one :class:`ConfigError`."""
    chosen = [m.strip() for m in str(text).split(",") if m.strip()]
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise ConfigError(f"unknown method {unknown[0]!r} in methods={text!r}; choose from "
                          f"{', '.join(known)} (empty: the table's {', '.join(default)}).")
    return [m for m in known if m in (chosen or default)]


def config_section(key: str) -> ml_collections.ConfigDict:
    """The ``baselines`` section of a config, with the settings for task ``key``."""
    section = {
        # tol 1e-6 and up to 20,000 iterations: where A hides pixels (a hole, x4 downsampling)
        # TV fills them by a slow diffusion, whose per-iteration change is small from the start
        # (with lambda 3e-4 a 32x32 hole stopped after 19 iterations at tol 1e-5, at 12.3 dB,
        # against 14.6 dB after 20,000; measured on CelebA64 validation faces).
        "tv": {"weight": 0.01, "maxiter": 20000, "tol": 1e-6},
        "lr": {"patch": 6, "stride": 3, "window": 15, "group": 40, "outer_iterations": 8, "c": 8.0,
               "sigma": 0.1, "sigma_end": 0.0, "refit": 0.6, "relaxation": 0.1, "thresholding": "weighted"},
        "sparse": {"patch": 8, "atoms": 256, "sparsity": 8, "tolerance": 0.0, "outer_iterations": 10, "stride": 1},
        "dip": {"iterations": 0, "lr": 0.01, "reg_noise_std": -1.0, "channels": 128, "scales": 5},
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
    import dataclasses

    from jaxrestore.inverse.baselines.dip import default_options, sr_options

    base = sr_options(8 if scale >= 8 else 4, noisy) if scale else default_options(noisy)
    options = dataclasses.replace(
        base, iterations=int(c.iterations) or base.iterations, lr=float(c.lr),
        reg_noise_std=float(c.reg_noise_std) if float(c.reg_noise_std) >= 0 else base.reg_noise_std,
        channels=int(c.channels), scales=int(c.scales))
    return options.check(shape)


def options(name: str, section, shape, *, scale: int | None = None, noisy: bool = False):
    """The options object of baseline ``name`` from the config's ``baselines`` section;
    refuses bad values with one :class:`ConfigError` (before anything is solved)."""
    c = section[name]
    if name == "tv":
        return tv_options(c)
    if name == "lr":
        return lr_options(c, shape)
    if name == "sparse":
        return sparse_options(c, shape)
    if name == "dip":
        return dip_options(c, shape, scale=scale, noisy=noisy)
    raise ConfigError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}.")


def check_operator(name: str, operator) -> None:
    if not getattr(operator, "linear", False):
        raise ConfigError(f"the {LABELS.get(name, name)} baseline needs a linear operator with an adjoint A^T, "
                          f"and {operator.name} is not linear; leave {name} out of methods=...")


def restore(name: str, operator, y01, opts, key, *, chunk: int,
            report: Callable[[str], None] = logging.info) -> tuple[np.ndarray, float, dict]:
    """Baseline ``name`` on every observation ``y01`` (N x output shape, [0, 1] scale) with
    one shared operator. Returns (images N x H x W x C clipped to [0, 1], seconds per image,
    diagnostics for results.json)."""
    check_operator(name, operator)
    y01 = jnp.asarray(y01, jnp.float32)
    n = int(y01.shape[0])
    if name == "dip":
        return _restore_dip(operator, y01, opts, key, chunk=chunk, report=report)
    if name == "tv":
        fn = lambda op, y: (lambda r: (r.image, r.iterations))(tv_restore(op, y, opts))  # noqa: E731
    elif name == "lr":
        fn = lambda op, y: jax.vmap(lambda one: lowrank_restore(op, one, opts).image)(y)  # noqa: E731
    else:
        fn = lambda op, y: (lambda r: (r.image, r.mean_atoms))(sparse_restore(op, y, opts))  # noqa: E731
    out, compile_s, solve_s = run_in_chunks(fn, (operator,), (y01,), chunk=chunk, what=LABELS[name], report=report)
    extra = {"compile_s": compile_s}
    if name == "tv":
        images, iterations = out
        extra.update(iterations_mean=float(np.mean(iterations)), iterations_max=int(np.max(iterations)))
    elif name == "sparse":
        images, atoms = out
        extra["atoms_per_patch"] = float(np.mean(atoms))
    else:
        images = out
    return np.clip(np.asarray(images, np.float64), 0.0, 1.0), solve_s / n, extra


def _restore_dip(operator, y01, opts, key, *, chunk: int, report) -> tuple[np.ndarray, float, dict]:
    from jaxrestore.inverse.baselines.dip import dip_restore

    n = int(y01.shape[0])
    keys = jax.random.split(key, n)
    chunk = max(1, min(int(chunk), n))
    parts, losses = [], []
    t0 = time.perf_counter()
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        result = dip_restore(operator, y01[start:stop], keys[start:stop], opts)
        parts.append(np.asarray(result.image))
        losses.append(np.asarray(result.loss).reshape(stop - start, -1)[:, -1])
        elapsed = time.perf_counter() - t0
        report(f"DIP ({opts.iterations} iterations): {stop}/{n} images, {elapsed / stop:.1f} s/image, "
               f"elapsed {duration(elapsed)}, ETA {duration(elapsed / stop * (n - stop))}")
    seconds = (time.perf_counter() - t0) / n
    report(f"DIP: {seconds:.1f} s per image ({opts.iterations} iterations; 003_*: ~100 s per 128x128 image "
           "on an RTX 2080 Ti)")
    images = np.clip(np.concatenate(parts).astype(np.float64), 0.0, 1.0)
    return images, seconds, {"final_loss_mean": float(np.mean(np.concatenate(losses))),
                             "iterations": int(opts.iterations)}
