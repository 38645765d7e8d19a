"""Patch-group low-rank restoration for any linear operator (002_* Table 1's low-rank baseline).

002_* does not name its low-rank method; the published method chosen here is WNNM: Gu,
Zhang, Zuo and Feng, "Weighted Nuclear Norm Minimization with Application to Image
Denoising", CVPR 2014. Its denoising step is put inside a data-consistency loop that uses
only the operator's ``A`` and ``AT``, so it runs on every linear operator::

    x <- x + delta * mu * A^T (y - A x)        mu = 1 / |A|^2 (power iteration)
    x <- lowrank_prior(x, sigma_k)

The prior step works on each channel on its own (p*p patch vectors, as WNNM on grey
images; the simpler choice: no colour transform, and K stays above the patch dimension,
which the singular-value estimate below assumes): ``patch`` x ``patch`` patches on a grid of
reference positions with ``stride`` (plus the last row and column, so every pixel is
covered); for each reference the ``group`` (K) nearest patches by squared distance among
the stride-1 positions of a ``window`` x ``window`` search window (shifted to stay inside
the image, so every window has the same static size; ``lax.top_k``, vmapped over
references); the group matrix Y (d x K, columns patches, row mean removed and added back
as WNNM does) is shrunk by weighted singular-value thresholding

    sigma_hat_i = sqrt(max(s_i^2 - K sigma^2, 0)),   w_i = c sqrt(K) / (sigma_hat_i + eps),
    s_i <- max(s_i - w_i sigma^2, 0)                          (WNNM eqs. for w_i, sigma_hat_i)

or by plain SVT (``thresholding="plain"``: ``s_i <- max(s_i - c sqrt(K) sigma^2, 0)``).
The paper's objective ``|Y - X|_F^2 / sigma^2 + |X|_{w,*}`` would halve the threshold; the
constant ``c`` absorbs such factors, and its default (8) was chosen by measurement on a
Set5 crop at sigma = 0.1 (see the tests), not taken from the paper. Every group's denoised
patches are put back and overlaps averaged.

Noise level of the prior step: ``sigma`` at the first iteration, then WNNM's iterative
regularisation ``refit * sqrt(|sigma^2 - mean((y - A x)^2)|)`` (``relaxation`` 0.1 as
WNNM's delta; meant for denoising), or an explicit ``sigma_schedule``, one value per outer
iteration. For operators that hide pixels (masks, downsampling) use ``relaxation=1`` and a
decreasing schedule, e.g. ``tuple(np.geomspace(0.3, 0.01, 20))``. With a :class:`Mask`
operator the hidden pixels start at the mean of each channel's observed pixels
(``fill_missing``, our choice): from zeros, a hole larger than a patch never fills (every
patch inside it is flat zero, its group has rank 0 and the data step does not touch it).

Images are HxWxC float32 (any scale, [0, 1] in the tests); one image per call, ``vmap``
over images (and per-image operators) for a batch::

    result = jax.vmap(lambda op, y: lowrank_restore(op, y, options).image)(ops, ys)

(measured figures: docs/baselines.md)
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.operators.base import check_shape
from jaxrestore.inverse.operators.masks import Mask

THRESHOLDINGS = ("weighted", "plain")


@dataclasses.dataclass(frozen=True)
class LowRankOptions:
    patch: int = 6  # patch side p
    stride: int = 3  # spacing of reference patches
    window: int = 15  # search window side, in patch positions
    group: int = 40  # K, patches per group (the reference included)
    outer_iterations: int = 4
    c: float = 8.0  # weight constant of w_i = c sqrt(K) / (sigma_hat_i + eps)
    sigma: float = 0.1  # noise standard deviation of y, in image units
    refit: float = 0.6  # WNNM's lambda: later sigmas from the remaining residual; 0 keeps sigma
    relaxation: float = 0.1  # delta of the data step (WNNM's iterative regularisation)
    thresholding: str = "weighted"  # or "plain" (singular-value soft thresholding)
    step: float | None = None  # mu; None: 1 / |A|^2 by power iteration
    sigma_schedule: tuple[float, ...] | None = None  # per-iteration prior sigmas, instead of sigma/refit
    power_iterations: int = 30
    eps: float = 1e-8
    fill_missing: bool = True  # Mask operators: hidden pixels start at the observed pixels' mean

    def check(self, shape) -> "LowRankOptions":
        """Raises one ``ConfigError`` for options that cannot work on HxWxC images."""
        h, w = int(shape[0]), int(shape[1])
        positive = {"patch": self.patch, "stride": self.stride, "window": self.window,
                    "group": self.group, "outer_iterations": self.outer_iterations,
                    "power_iterations": self.power_iterations}
        for name, value in positive.items():
            if int(value) != value or value < 1:
                raise ConfigError(f"LowRankOptions.{name} must be a positive integer, got {value}.")
        if self.patch > min(h, w):
            raise ConfigError(f"LowRankOptions.patch {self.patch} is larger than the {h}x{w} image; "
                              f"use a patch of at most {min(h, w)}.")
        candidates = min(self.window, h - self.patch + 1) * min(self.window, w - self.patch + 1)
        if self.group > candidates:
            raise ConfigError(f"LowRankOptions.group {self.group} exceeds the {candidates} patches of a "
                              f"search window on {h}x{w} images; use a group of at most {candidates} "
                              "or a larger window.")
        if self.thresholding not in THRESHOLDINGS:
            raise ConfigError(f"LowRankOptions.thresholding must be one of {THRESHOLDINGS}, "
                              f"got {self.thresholding!r}.")
        for name in ("c", "sigma", "eps"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"LowRankOptions.{name} must be positive, got {getattr(self, name)}.")
        if not 0 < self.relaxation <= 1 or not self.refit >= 0:
            raise ConfigError(f"LowRankOptions needs 0 < relaxation <= 1 and refit >= 0, got "
                              f"{self.relaxation} and {self.refit}.")
        schedule = self.sigma_schedule
        if schedule is not None and (len(schedule) != self.outer_iterations
                                     or not all(v > 0 for v in schedule)):
            raise ConfigError(f"LowRankOptions.sigma_schedule must hold {self.outer_iterations} positive "
                              f"noise levels (one per outer iteration), got {schedule}.")
        if self.step is not None and not self.step > 0:
            raise ConfigError(f"LowRankOptions.step must be positive or None, got {self.step}.")
        return self


class LowRankResult(struct.PyTreeNode):
    image: jax.Array  # HxWxC restored image
    sigmas: jax.Array  # (outer_iterations,) noise level used by each prior step
    step: jax.Array  # mu of the data step


# --- patches and block matching ----------------------------------------------------------

def _grid(length: int, patch: int, stride: int) -> np.ndarray:
    last = length - patch
    return np.unique(np.append(np.arange(0, last + 1, stride), last))


def reference_positions(shape, options: LowRankOptions) -> np.ndarray:
    """``(R, 2)`` top-left corners of the reference patches (row-major), static."""
    rows = _grid(shape[0], options.patch, options.stride)
    cols = _grid(shape[1], options.patch, options.stride)
    return np.stack(np.meshgrid(rows, cols, indexing="ij"), -1).reshape(-1, 2)


def window_candidates(shape, options: LowRankOptions) -> tuple[np.ndarray, np.ndarray]:
    """``(refs (R,), candidates (R, M))``: flat indices, into the stride-1 patch positions
    of an HxW image, of each reference and of the patches of its search window."""
    ph, pw = shape[0] - options.patch + 1, shape[1] - options.patch + 1
    wh, ww = min(options.window, ph), min(options.window, pw)
    refs = reference_positions(shape, options)
    top = np.clip(refs[:, 0] - wh // 2, 0, ph - wh)
    left = np.clip(refs[:, 1] - ww // 2, 0, pw - ww)
    rows = top[:, None, None] + np.arange(wh)[None, :, None]
    cols = left[:, None, None] + np.arange(ww)[None, None, :]
    candidates = (rows * pw + cols).reshape(len(refs), -1)
    return refs[:, 0] * pw + refs[:, 1], candidates


def extract_patches(image, patch: int):
    """All stride-1 patches of an HxWxC image, ``(P, patch*patch*C)``, row-major positions."""
    h, w, _ = image.shape
    ph, pw = h - patch + 1, w - patch + 1
    rows = np.arange(ph)[:, None, None, None] + np.arange(patch)[None, None, :, None]
    cols = np.arange(pw)[None, :, None, None] + np.arange(patch)[None, None, None, :]
    return image[rows, cols].reshape(ph * pw, -1)  # (ph, pw, p, p, C) -> (P, d)


def block_match(patches, refs, candidates, group: int):
    """Indices ``(R, K)`` of the ``group`` candidates nearest each reference by squared
    distance (nearest first), vmapped over references."""
    def one(ref, cand):
        distances = jnp.sum((patches[cand] - patches[ref]) ** 2, axis=-1)
        _, order = jax.lax.top_k(-distances, group)
        return cand[order]
    return jax.vmap(one)(jnp.asarray(refs), jnp.asarray(candidates))


# --- the low-rank step -------------------------------------------------------------------

def low_rank_group(matrix, sigma, options: LowRankOptions):
    """Weighted (or plain) singular-value thresholding of one d x K group matrix, columns
    patches, with its row mean removed first and added back (WNNM)."""
    k = matrix.shape[-1]
    mean = jnp.mean(matrix, axis=-1, keepdims=True)
    u, s, vt = jnp.linalg.svd(matrix - mean, full_matrices=False)
    if options.thresholding == "weighted":
        estimate = jnp.sqrt(jnp.maximum(s ** 2 - k * sigma ** 2, 0.0))
        weights = options.c * np.sqrt(k) / (estimate + options.eps)
    else:
        weights = options.c * np.sqrt(k) * jnp.ones_like(s)
    shrunk = jnp.maximum(s - weights * sigma ** 2, 0.0)
    return (u * shrunk[..., None, :]) @ vt + mean


def lowrank_prior(image, sigma, options: LowRankOptions):
    """One prior step on an HxWxC image, each channel on its own: match, shrink every
    group, average overlaps."""
    channels = jnp.moveaxis(image, -1, 0)[..., None]  # (C, H, W, 1)
    return jnp.moveaxis(jax.vmap(lambda one: _prior_channel(one, sigma, options))(channels)[..., 0], 0, -1)


def _prior_channel(image, sigma, options: LowRankOptions):
    h, w, _ = image.shape
    p = options.patch
    refs, candidates = window_candidates((h, w), options)
    patches = extract_patches(image, p)
    members = block_match(patches, refs, candidates, options.group)  # (R, K)
    groups = jnp.swapaxes(patches[members], -1, -2)  # (R, d, K)
    denoised = jax.vmap(lambda g: low_rank_group(g, sigma, options))(groups)
    denoised = jnp.swapaxes(denoised, -1, -2).reshape(-1, p, p, 1)  # (R*K, p, p, 1)
    pw = w - p + 1
    flat = members.reshape(-1)
    rows = (flat // pw)[:, None, None] + np.arange(p)[None, :, None]
    cols = (flat % pw)[:, None, None] + np.arange(p)[None, None, :]
    total = jnp.zeros_like(image).at[rows, cols].add(denoised)
    count = jnp.zeros_like(image).at[rows, cols].add(1.0)
    return jnp.where(count > 0, total / jnp.maximum(count, 1.0), image)


# --- the solver --------------------------------------------------------------------------

def operator_norm_squared(operator, iterations: int = 30):
    """``|A|^2``, the largest eigenvalue of ``A^T A``, by power iteration from a fixed start."""
    x = jnp.ones(operator.input_shape, jnp.float32)
    x = x + 0.01 * jnp.arange(x.size, dtype=jnp.float32).reshape(x.shape) / x.size

    def body(_, x):
        x = operator.AT(operator.A(x))
        return x / jnp.maximum(jnp.linalg.norm(x), 1e-30)

    x = jax.lax.fori_loop(0, iterations, body, x / jnp.linalg.norm(x))
    return jnp.sum(operator.A(x) ** 2)


def lowrank_restore(operator, y, options: LowRankOptions = LowRankOptions()) -> LowRankResult:
    """Restores one image from ``y = A(x) + noise`` with the WNNM patch-group prior.

    ``operator`` is any linear operator of ``jaxrestore.inverse`` (a pytree,
    so a batch of operators vmaps with its observations); ``y`` its output shape."""
    if not getattr(operator, "linear", False):
        name = getattr(operator, "name", type(operator).__name__)
        raise ConfigError(f"lowrank_restore needs a linear operator (it uses A^T), but {name} is not "
                          "linear; use gradient-based latent search for it.")
    options.check(operator.input_shape)
    if options.sigma_schedule is not None:  # hashable for jit, whatever sequence was given
        options = dataclasses.replace(options, sigma_schedule=tuple(float(v) for v in options.sigma_schedule))
    check_shape(y, operator.output_shape, operator=f"lowrank_restore({operator.name})", what="an observation")
    if y.ndim != 3:
        raise ConfigError(f"lowrank_restore takes one HxWxC observation, got shape {tuple(y.shape)}; "
                          "jax.vmap it over a batch.")
    return _solve(operator, jnp.asarray(y, jnp.float32), options)


def mean_fill(x, known):
    """``x`` with its unknown pixels (``known`` False; HxWx1 or HxWxC) set to the mean of each
    channel's known pixels. Patch groups cannot fill a hole larger than a patch from zeros:
    every patch inside it is flat zero, a group of them has rank 0, and the data step never
    touches it; so the hole starts from a flat estimate and the groups refine its border."""
    known = jnp.broadcast_to(known, x.shape).astype(x.dtype)
    mean = jnp.sum(x * known, axis=(0, 1)) / jnp.maximum(jnp.sum(known, axis=(0, 1)), 1.0)
    return x * known + (1.0 - known) * mean


@functools.partial(jax.jit, static_argnums=(2,))
def _solve(operator, y, options: LowRankOptions) -> LowRankResult:
    if options.step is None:
        mu = 1.0 / operator_norm_squared(operator, options.power_iterations)
    else:
        mu = jnp.asarray(options.step, jnp.float32)
    x = mu * operator.AT(y)
    if options.fill_missing and isinstance(operator, Mask):
        x = mean_fill(x, operator.weights > 0)

    def iteration(x, k):
        residual = y - operator.A(x)
        x = x + options.relaxation * mu * operator.AT(residual)
        refit = options.refit * jnp.sqrt(jnp.abs(options.sigma ** 2 - jnp.mean(residual ** 2)))
        sigma = jnp.where((k == 0) | (options.refit == 0), options.sigma, refit)
        if options.sigma_schedule is not None:
            sigma = jnp.asarray(options.sigma_schedule, jnp.float32)[k]
        x = lowrank_prior(x, sigma, options)
        return x, sigma

    x, sigmas = jax.lax.scan(iteration, x, jnp.arange(options.outer_iterations))
    return LowRankResult(image=x, sigmas=sigmas, step=mu)
