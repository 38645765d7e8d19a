"""Post-processing of latent-search results (002_* Sec. 3.3, following Yeh et al.).

Poisson blending (Perez et al. 2003): inside the hole, find the image ``f`` whose
discrete 5-point Laplacian equals that of the generated image ``g`` (the guidance),
with the observed pixels around the hole as the Dirichlet boundary. For a hole pixel
p with in-image neighbours N(p):

    |N(p)| f_p - sum_{q in N(p), q in hole} f_q
        = sum_{q in N(p), q observed} observed_q + sum_{q in N(p)} (g_p - g_q)

a symmetric positive-definite system in the hole pixels (when every hole component
touches an observed pixel), solved per channel by conjugate gradients in JAX. Observed
pixels are returned unchanged, bit for bit. Images HxWxC, any range.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrestore.errors import ConfigError


class BlendResult(NamedTuple):
    image: jax.Array  # HxWxC: observed pixels as given, the hole solved
    residual: jax.Array  # relative residual |b - L f| / |b| of the hole's system


def _neighbour_sum(u, valid):
    """Sum over the 4 in-image neighbours of each pixel of ``u * valid`` (zero outside)."""
    x = u * valid
    padded = jnp.pad(x, ((1, 1), (1, 1), (0, 0)))
    return padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]


def _neighbour_count(shape):
    ones = jnp.ones(shape[:2] + (1,))
    return _neighbour_sum(ones, 1.0)


def poisson_blend(observed, generated, mask, *, tol: float = 1e-6, maxiter: int = 2000) -> BlendResult:
    """Blend ``generated`` into the hole of ``observed``. ``mask`` HxW (or HxWx1): 1 where
    a pixel is observed (kept), 0 in the hole (solved)."""
    observed = jnp.asarray(observed)
    generated = jnp.asarray(generated, observed.dtype)
    mask = jnp.asarray(mask, observed.dtype)
    if mask.ndim == 2:
        mask = mask[..., None]
    if observed.shape != generated.shape or observed.ndim != 3 or mask.shape != observed.shape[:2] + (1,):
        raise ConfigError(f"poisson_blend needs HxWxC images of one shape and an HxW mask, got "
                          f"{observed.shape}, {generated.shape} and {mask.shape}.")
    try:
        concrete = np.asarray(mask)
    except jax.errors.TracerArrayConversionError:
        concrete = None
    if concrete is not None and not concrete.any():
        raise ConfigError("the mask hides every pixel, so Poisson blending has no boundary; mark the "
                          "observed pixels with 1.")
    hole = 1.0 - (mask != 0).astype(observed.dtype)
    known = 1.0 - hole
    count = _neighbour_count(observed.shape)

    def system(u):  # L restricted to the hole (u is zero outside it)
        return hole * (count * u - _neighbour_sum(u, hole))

    guidance = count * generated - _neighbour_sum(generated, 1.0)  # sum_q (g_p - g_q)
    b = hole * (_neighbour_sum(observed, known) + guidance)
    x0 = hole * generated
    u, _ = jax.scipy.sparse.linalg.cg(system, b, x0=x0, tol=tol, maxiter=maxiter)
    u = hole * u
    residual = jnp.linalg.norm(b - system(u)) / jnp.maximum(jnp.linalg.norm(b), 1e-30)
    return BlendResult(image=jnp.where(hole > 0, u, observed), residual=residual)


def colour_blend(grey, colour):
    """Colourisation's optional blend (the released ``--blend``): keep the hue and saturation
    of ``colour`` (HxWx3, [0, 1]) and take the HSV value from ``grey`` (HxWx1 or HxW, [0, 1]).
    With hue and saturation fixed, RGB scales linearly with V, so the result is
    ``colour * grey / max(colour)`` (grey itself where ``colour`` is black): exact, where the
    released code goes through Pillow's 8-bit HSV images and rounds (its measured difference:
    docs/papers/002-gan-prior.md)."""
    colour = jnp.asarray(colour)
    grey = jnp.asarray(grey, colour.dtype)
    if grey.ndim == colour.ndim - 1:
        grey = grey[..., None]
    value = jnp.max(colour, axis=-1, keepdims=True)
    safe = jnp.where(value > 0, value, 1.0)
    return jnp.where(value > 0, colour * (grey / safe), jnp.broadcast_to(grey, colour.shape))
