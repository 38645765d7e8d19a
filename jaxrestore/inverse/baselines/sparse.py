"""Sparse-coding restoration with a fixed overcomplete DCT patch dictionary (002_* Table 1's
sparse baseline).

The prior is Elad & Aharon's (IEEE TIP 15(12), 2006, "Image denoising via sparse and
redundant representations over learned dictionaries"): every ``p`` x ``p`` patch of the
image is a sparse combination of atoms of a dictionary. We use their *fixed* overcomplete
DCT dictionary (the initial dictionary of their K-SVD, built as KSVD-Box's ``odctdict``:
``sqrt(atoms)`` sampled cosines per axis, non-DC atoms made zero-mean, unit norm, 2-D
atoms their Kronecker products) and do **not** learn it by K-SVD. Sparse codes are found
by Orthogonal Matching Pursuit (Pati, Rezaiifar & Krishnaprasad, Asilomar 1993): at most
``sparsity`` atoms, stopping early per patch once the residual's RMS falls to
``tolerance`` (Elad & Aharon's error-constrained rule ``|r|^2 <= n (C sigma)^2``, with
``tolerance = C sigma``, C = 1.15). OMP runs a fixed number of masked steps, so it jits
and vmaps.

Restoration for any linear operator uses only ``A`` and ``AT`` (plug-and-play style), for
``outer_iterations`` rounds from ``x = AT y``:

    z <- x + mu AT(y - A x)            (a Landweber step, mu = 1 / |A|^2 by power iteration)
    x <- average over the overlapping patches of z of their sparse reconstructions D alpha

For inpainting — the operator is a :class:`~jaxrestore.inverse.operators.Mask`, detected
by type — OMP codes each patch from its known pixels only (the dictionary's rows weighted
by the patch's mask, atoms renormalised for the selection, as Mairal, Elad & Sapiro do for
missing pixels, IEEE TIP 17(1), 2008) and the full atoms fill the hidden pixels. A patch
is coded only when at least half of its pixels are known: a patch inside a large hole
(002_*'s 32x32 centre hole) has nothing to code, and its "code" would be rounding noise.
So the hole is filled from its border inwards over the rounds (``outer_iterations``): the
pixels covered by a coded patch become known for the next round, and every round ends
with the data-consistency step that puts the observations back.

Colour images are coded per channel (8x8 grey patches of each channel, one dictionary),
the simpler choice of the two. Images are HxWxC float32 in [0, 1] (any scale works: the
method is homogeneous except for ``tolerance``, which is in the image's units).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.operators.base import check_shape
from jaxrestore.inverse.operators.masks import Mask


@dataclasses.dataclass(frozen=True)
class SparseOptions:
    patch: int = 8  # patches are patch x patch pixels of one channel
    atoms: int = 256  # dictionary size, a square (sqrt(atoms) cosines per axis) >= patch^2
    sparsity: int = 8  # at most this many atoms per patch
    tolerance: float = 0.0  # stop a patch's OMP once its residual RMS <= this (0: fixed sparsity)
    outer_iterations: int = 10  # data-consistency / sparse-coding rounds (one for a Mask)
    stride: int = 1  # patch grid step (the last row/column of patches is always included)
    step: float | None = None  # Landweber step mu; None: 1 / |A|^2 by power iteration

    def check(self, image_shape=None) -> "SparseOptions":
        for name in ("patch", "atoms", "sparsity", "outer_iterations", "stride"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ConfigError(f"sparse coding: {name} must be a positive integer, got {value}.")
        side = math.isqrt(int(self.atoms))
        if side * side != self.atoms or side < self.patch:
            raise ConfigError(f"sparse coding: atoms must be a square number at least patch^2 = "
                              f"{self.patch ** 2} (e.g. {max(side + 1, self.patch) ** 2}), got {self.atoms}.")
        if self.sparsity > self.patch ** 2:
            raise ConfigError(f"sparse coding: sparsity {self.sparsity} exceeds the {self.patch ** 2} "
                              f"pixels of a {self.patch}x{self.patch} patch; use at most {self.patch ** 2}.")
        if self.stride > self.patch:
            raise ConfigError(f"sparse coding: a stride of {self.stride} skips pixels between "
                              f"{self.patch}x{self.patch} patches; use a stride of at most {self.patch}.")
        if not self.tolerance >= 0:
            raise ConfigError(f"sparse coding: tolerance must be >= 0, got {self.tolerance}.")
        if self.step is not None and not self.step > 0:
            raise ConfigError(f"sparse coding: the step mu must be positive (or None), got {self.step}.")
        if image_shape is not None and self.patch > min(image_shape[:2]):
            raise ConfigError(f"sparse coding: {self.patch}x{self.patch} patches do not fit "
                              f"{image_shape[0]}x{image_shape[1]} images; use a patch of at most "
                              f"{min(image_shape[:2])}.")
        return self


class SparseResult(NamedTuple):
    image: jax.Array  # (..., H, W, C) the restored image
    residual: jax.Array  # (...,) |A x - y| / |y|
    mean_atoms: jax.Array  # (...,) atoms per patch, averaged, in the last round's coding


def overcomplete_dct(patch: int = 8, atoms: int = 256) -> np.ndarray:
    """Elad & Aharon's overcomplete 2-D DCT, ``(patch^2, atoms)`` float32 with unit-norm
    columns; pixel index ``i * patch + j`` for row i, column j of a patch."""
    side = math.isqrt(int(atoms))
    d = np.zeros((patch, side))
    d[:, 0] = 1.0 / np.sqrt(patch)
    n = np.arange(patch)
    for k in range(1, side):
        v = np.cos(n * np.pi * k / side)
        v = v - v.mean()
        d[:, k] = v / np.linalg.norm(v)
    return np.kron(d, d).astype(np.float32)


def omp(dictionary, signals, *, sparsity: int, tolerance: float = 0.0, weights=None):
    """Orthogonal Matching Pursuit codes ``(..., atoms)`` of ``signals`` ``(..., n)`` on
    ``dictionary`` ``(n, atoms)`` (unit-norm columns): at most ``sparsity`` atoms, fewer
    where the residual's RMS over the observed pixels reaches ``tolerance``. With
    ``weights`` ``(..., n)`` (a mask), the signal is taken as ``weights * D alpha``: the
    dictionary's rows are weighted and the atoms renormalised for the selection."""
    dictionary = jnp.asarray(dictionary)
    signals = jnp.asarray(signals, dictionary.dtype)
    if weights is None:
        weights = jnp.ones_like(signals)
    weights = jnp.broadcast_to(jnp.asarray(weights, dictionary.dtype), signals.shape)
    lead = signals.shape[:-1]
    one = functools.partial(_omp_one, dictionary, sparsity=int(sparsity), tolerance=float(tolerance))
    codes = jax.vmap(one)(signals.reshape(-1, signals.shape[-1]), weights.reshape(-1, signals.shape[-1]))
    return codes.reshape(lead + (dictionary.shape[1],))


def _omp_one(dictionary, signal, weights, *, sparsity, tolerance):
    n, atoms = dictionary.shape
    sub_dictionary = weights[:, None] * dictionary
    norms = jnp.linalg.norm(sub_dictionary, axis=0)
    usable = norms > 1e-3
    inverse_norms = jnp.where(usable, 1.0 / jnp.where(usable, norms, 1.0), 0.0)
    limit = tolerance ** 2 * jnp.sum(weights ** 2)
    slots = jnp.arange(sparsity)

    def step(j, state):
        support, count, coef, residual, chosen = state
        score = jnp.abs(sub_dictionary.T @ residual) * inverse_norms
        score = jnp.where(chosen | ~usable, -1.0, score)
        best = jnp.argmax(score)
        scale = jnp.sqrt(jnp.sum(signal ** 2)) + 1e-30
        active = (jnp.sum(residual ** 2) > limit) & (score[best] > 1e-6 * scale)
        support = jnp.where(active, support.at[j].set(best), support)
        chosen = jnp.where(active, chosen.at[best].set(True), chosen)
        count = count + active.astype(count.dtype)
        used = slots < count
        columns = sub_dictionary[:, support] * used
        gram = columns.T @ columns + jnp.diag(jnp.where(used, 1e-7, 1.0))
        coef = jnp.linalg.solve(gram, columns.T @ signal)
        residual = signal - columns @ coef
        return support, count, coef, residual, chosen

    start = (jnp.zeros(sparsity, jnp.int32), jnp.zeros((), jnp.int32), jnp.zeros(sparsity, signal.dtype),
             signal, jnp.zeros(atoms, bool))
    support, count, coef, _, _ = jax.lax.fori_loop(0, sparsity, step, start)
    return jnp.zeros(atoms, signal.dtype).at[support].add(jnp.where(slots < count, coef, 0.0))


def patch_grid(length: int, patch: int, stride: int) -> np.ndarray:
    """Top-left positions along one axis: every ``stride``, plus the last one that fits."""
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] != length - patch:
        starts.append(length - patch)
    return np.asarray(starts)


def _patch_index(shape, patch, stride):
    rows, cols = patch_grid(shape[0], patch, stride), patch_grid(shape[1], patch, stride)
    offset = np.arange(patch)
    r = (rows[:, None, None, None] + offset[None, None, :, None])
    c = (cols[None, :, None, None] + offset[None, None, None, :])
    r, c = np.broadcast_arrays(r, c)
    return r.reshape(-1, patch * patch), c.reshape(-1, patch * patch)


def extract_patches(image, patch: int, stride: int):
    """``(C, P, patch^2)`` patches of an HxWxC image, per channel."""
    r, c = _patch_index(image.shape, patch, stride)
    return jnp.moveaxis(image, -1, 0)[:, r, c]


def average_patches(patches, shape, patch: int, stride: int):
    """The HxWxC image whose each pixel is the mean of the patches ``(C, P, patch^2)`` over it."""
    r, c = _patch_index(shape, patch, stride)
    total = jnp.zeros((shape[2],) + tuple(shape[:2]), patches.dtype).at[:, r, c].add(patches)
    count = np.zeros(tuple(shape[:2]))
    np.add.at(count, (r, c), 1.0)
    return jnp.moveaxis(total / count, 0, -1)


def operator_norm_squared(operator, iterations: int = 30):
    """``|A|^2``, the largest eigenvalue of ``A^T A``, by power iteration from a fixed start."""
    x = jax.random.normal(jax.random.key(0), tuple(operator.input_shape))

    def body(_, x):
        x = operator.AT(operator.A(x))
        return x / jnp.linalg.norm(x)

    x = jax.lax.fori_loop(0, iterations, body, x / jnp.linalg.norm(x))
    return jnp.sum(operator.A(x) ** 2)


def sparse_restore(operator, y, options: SparseOptions = SparseOptions(), *,
                   per_image_operator: bool = False) -> SparseResult:
    """Sparse-coding restoration of ``y``: one observation ``operator.output_shape``, or a
    batch ``(N, ...)`` of them (``vmap``\\ ped; with ``per_image_operator`` the operator's
    leaves carry a leading N axis, e.g. stacked masks)."""
    if not getattr(operator, "linear", False):
        raise ConfigError(f"sparse coding needs a linear operator (it uses A^T), but {operator.name} "
                          "is not linear; use gradient-based latent search for it.")
    options.check(operator.input_shape)
    check_shape(y, operator.output_shape, operator=operator.name, what="an observation")
    if y.ndim == len(operator.output_shape):
        return _restore_jit(operator, y, options)
    if y.ndim != len(operator.output_shape) + 1:
        raise ConfigError(f"sparse_restore takes one observation or a batch (N, ...) of them, got "
                          f"shape {tuple(y.shape)}.")
    return _restore_batch(operator, y, options, bool(per_image_operator))


def _restore(operator, y, options: SparseOptions) -> SparseResult:
    shape = tuple(operator.input_shape)
    dictionary = jnp.asarray(overcomplete_dct(options.patch, options.atoms))
    mu = 1.0 / operator_norm_squared(operator) if options.step is None else options.step

    def code(patches, weights=None):
        codes = omp(dictionary, patches, sparsity=options.sparsity, tolerance=options.tolerance,
                    weights=weights)
        atoms_used = jnp.mean(jnp.sum(codes != 0, axis=-1))
        return codes @ dictionary.T, atoms_used

    def project(x):
        return x + mu * operator.AT(y - operator.A(x))

    if isinstance(operator, Mask):
        p, stride = options.patch, options.stride
        rows, cols = _patch_index(shape, p, stride)

        def fill(_, carry):
            x, known, _ = carry
            known_patches = extract_patches(known, p, stride)
            coded = jnp.sum(known_patches, axis=-1) >= 0.5 * p * p  # (C, P)
            patches, atoms_used = code(extract_patches(x, p, stride), known_patches)
            total = jnp.zeros((shape[2],) + shape[:2], x.dtype).at[:, rows, cols].add(
                jnp.where(coded[..., None], patches, 0.0))
            count = jnp.zeros((shape[2],) + shape[:2], x.dtype).at[:, rows, cols].add(
                jnp.broadcast_to(coded[..., None], patches.shape).astype(x.dtype))
            covered = jnp.moveaxis(count > 0, 0, -1)
            average = jnp.moveaxis(total / jnp.maximum(count, 1.0), 0, -1)
            x = project(jnp.where(covered, average, x))
            return x, jnp.maximum(known, covered.astype(x.dtype)), atoms_used

        observed = (jnp.broadcast_to(operator.weights, shape) > 0).astype(y.dtype)
        x, _, atoms_used = jax.lax.fori_loop(0, options.outer_iterations, fill,
                                             (project(jnp.zeros(shape, y.dtype)), observed, jnp.zeros((), y.dtype)))
    else:
        def round_(_, carry):
            x, _ = carry
            patches, atoms_used = code(extract_patches(project(x), options.patch, options.stride))
            return average_patches(patches, shape, options.patch, options.stride), atoms_used

        x, atoms_used = jax.lax.fori_loop(0, options.outer_iterations, round_,
                                          (operator.AT(y), jnp.zeros((), y.dtype)))
    residual = jnp.linalg.norm(operator.A(x) - y) / jnp.maximum(jnp.linalg.norm(y), 1e-30)
    return SparseResult(image=x, residual=residual, mean_atoms=atoms_used)


_restore_jit = jax.jit(_restore, static_argnums=2)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _restore_batch(operator, y, options: SparseOptions, per_image_operator: bool) -> SparseResult:
    one = lambda op, observation: _restore(op, observation, options)  # noqa: E731
    return jax.vmap(one, in_axes=(0 if per_image_operator else None, 0))(operator, y)
