"""Poisson blending: observed pixels kept, an analytic harmonic solution, and a SciPy
sparse solve of the same system assembled independently."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.blending import poisson_blend
from jaxrestore.inverse.operators import centre_hole_mask


def _irregular_hole(h=24, w=20):
    mask = np.ones((h, w), np.float32)
    mask[5:15, 4:12] = 0
    mask[9:19, 10:16] = 0  # an L-shaped hole
    return mask


def test_observed_pixels_are_kept_exactly_and_a_harmonic_field_is_reproduced():
    h, w = 24, 20
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    # x^2 - y^2 + 3x - y is discretely harmonic for the 5-point Laplacian (the x^2 and y^2
    # second differences are both exactly 2).
    field = (xx ** 2 - yy ** 2 + 3 * xx - yy) / 100.0
    observed = np.stack([field, 2 * field, -field], -1)
    mask = _irregular_hole(h, w)
    noise = np.random.default_rng(0).normal(size=observed.shape)
    observed_with_junk = np.where(mask[..., None] > 0, observed, noise)  # the hole's content is ignored
    guidance = np.full(observed.shape, 0.7)  # zero Laplacian: the solution is the harmonic one
    result = poisson_blend(jnp.asarray(observed_with_junk, jnp.float32), jnp.asarray(guidance, jnp.float32),
                           mask, tol=1e-7)
    out = np.asarray(result.image)
    np.testing.assert_array_equal(out[mask > 0], np.asarray(observed_with_junk, np.float32)[mask > 0])
    np.testing.assert_allclose(out[mask == 0], observed[mask == 0], atol=2e-5)
    assert float(result.residual) < 1e-5


def test_poisson_blend_equals_a_scipy_sparse_solve():
    rng = np.random.default_rng(1)
    h, w = 24, 20
    mask = _irregular_hole(h, w)
    mask[0, 0] = 0  # a hole pixel on the image corner: two neighbours only
    observed = rng.uniform(size=(h, w, 2))
    generated = rng.uniform(size=(h, w, 2))
    hole = np.argwhere(mask == 0)
    index = {tuple(p): i for i, p in enumerate(hole)}
    expected = observed.copy()
    for c in range(2):
        rows, cols, vals, b = [], [], [], np.zeros(len(hole))
        for i, (r, q) in enumerate(hole):
            neighbours = [(r + dr, q + dq) for dr, dq in ((-1, 0), (1, 0), (0, -1), (0, 1))
                          if 0 <= r + dr < h and 0 <= q + dq < w]
            rows.append(i), cols.append(i), vals.append(len(neighbours))
            for n in neighbours:
                b[i] += generated[r, q, c] - generated[n + (c,)]
                if n in index:
                    rows.append(i), cols.append(index[n]), vals.append(-1.0)
                else:
                    b[i] += observed[n + (c,)]
        matrix = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(len(hole), len(hole)))
        solution = scipy.sparse.linalg.spsolve(matrix, b)
        expected[hole[:, 0], hole[:, 1], c] = solution
    result = poisson_blend(jnp.asarray(observed, jnp.float32), jnp.asarray(generated, jnp.float32), mask, tol=1e-7)
    np.testing.assert_allclose(np.asarray(result.image), expected, atol=1e-4)
    assert float(result.residual) < 1e-5


def test_centre_hole_of_a_face_sized_image_and_bad_masks():
    mask = centre_hole_mask(64, 64, 32)
    rng = np.random.default_rng(2)
    result = poisson_blend(jnp.asarray(rng.uniform(size=(64, 64, 3)), jnp.float32),
                           jnp.asarray(rng.uniform(size=(64, 64, 3)), jnp.float32), mask)
    assert float(result.residual) < 1e-5
    with pytest.raises(ConfigError, match="hides every pixel"):
        poisson_blend(jnp.zeros((8, 8, 3)), jnp.zeros((8, 8, 3)), np.zeros((8, 8)))
    with pytest.raises(ConfigError, match="HxW mask"):
        poisson_blend(jnp.zeros((8, 8, 3)), jnp.zeros((8, 8, 3)), np.ones((4, 4)))


def test_colour_blend_keeps_hue_and_saturation_and_takes_the_value_from_grey():
    import colorsys

    from jaxrestore.inverse.blending import colour_blend

    rng = np.random.default_rng(3)
    colour = rng.uniform(size=(16, 16, 3))
    colour[0, 0] = 0.0  # black: no hue to keep, the grey value itself
    grey = rng.uniform(size=(16, 16))
    out = np.asarray(colour_blend(jnp.asarray(grey), jnp.asarray(colour)))
    for (i, j), v in np.ndenumerate(grey):
        h, s, _ = colorsys.rgb_to_hsv(*colour[i, j])
        np.testing.assert_allclose(out[i, j], colorsys.hsv_to_rgb(h, s, v), atol=1e-6)
