"""Patch-group low-rank baseline (WNNM, Gu et al. CVPR 2014): the thresholding step and the
block matching against NumPy transcriptions, denoising a Set5 crop, vmap, and the errors."""

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.baselines.lowrank import (
    LowRankOptions, block_match, extract_patches, low_rank_group, lowrank_restore, operator_norm_squared,
    window_candidates)
from jaxrestore.inverse.operators import GREY_WEIGHTS, Greyscale, HSVValue, Identity, Mask

SET5 = Path("/work/shared/data/Set5")


def numpy_svt(matrix, sigma, c, weighted, eps=1e-8):
    """WNNM's shrinkage of one d x K group written out in float64 NumPy."""
    matrix = np.asarray(matrix, np.float64)
    k = matrix.shape[1]
    mean = matrix.mean(axis=1, keepdims=True)
    u, s, vt = np.linalg.svd(matrix - mean, full_matrices=False)
    if weighted:
        w = c * np.sqrt(k) / (np.sqrt(np.maximum(s ** 2 - k * sigma ** 2, 0)) + eps)
    else:
        w = np.full_like(s, c * np.sqrt(k))
    return u @ np.diag(np.maximum(s - w * sigma ** 2, 0)) @ vt + mean


@pytest.mark.parametrize("thresholding", ["weighted", "plain"])
def test_low_rank_step_equals_numpy(thresholding):
    rng = np.random.default_rng(0)
    # A rank-2 group of 36-pixel patches, K = 20, plus noise: some values shrink, some vanish.
    clean = rng.standard_normal((36, 2)) @ rng.standard_normal((2, 20)) * 0.3
    group = (clean + 0.1 * rng.standard_normal((36, 20))).astype(np.float32)
    options = LowRankOptions(c=2.0, sigma=0.1, thresholding=thresholding)
    got = np.asarray(low_rank_group(jnp.asarray(group), 0.1, options))
    want = numpy_svt(group, 0.1, 2.0, thresholding == "weighted")
    np.testing.assert_allclose(got, want, atol=2e-5)
    # Not the identity: the thresholding did something measurable.
    assert np.abs(want - group).max() > 0.05
    s = np.linalg.svd(want - want.mean(1, keepdims=True), compute_uv=False)
    assert np.sum(s > 1e-4) < 20


def test_block_match_returns_the_k_nearest():
    rng = np.random.default_rng(1)
    h, w, p, window, k = 20, 17, 4, 7, 6
    image = rng.random((h, w, 1)).astype(np.float32)
    options = LowRankOptions(patch=p, stride=3, window=window, group=k)
    refs, candidates = window_candidates((h, w), options)
    got = np.asarray(block_match(extract_patches(jnp.asarray(image), p), refs, candidates, k))
    ph, pw = h - p + 1, w - p + 1
    assert got.shape == (len(refs), k)
    for r, ref in enumerate(refs):
        ri, rj = divmod(int(ref), pw)
        top, left = min(max(ri - window // 2, 0), ph - window), min(max(rj - window // 2, 0), pw - window)
        target = image[ri:ri + p, rj:rj + p, 0]
        brute = sorted(((np.sum((image[i:i + p, j:j + p, 0] - target) ** 2), i * pw + j)
                        for i in range(top, top + window) for j in range(left, left + window)))
        assert got[r].tolist() == [index for _, index in brute[:k]]
        assert got[r, 0] == ref  # the reference is its own nearest patch


def _crop():
    image = np.asarray(Image.open(SET5 / "butterfly.png").convert("RGB"), np.float32) / 255.0
    return image[80:144, 80:144]


def _psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2))


def test_denoises_a_set5_crop():
    clean = _crop()
    noisy = clean + 0.1 * np.random.default_rng(0).standard_normal(clean.shape).astype(np.float32)
    result = lowrank_restore(Identity((64, 64, 3)), jnp.asarray(noisy), LowRankOptions(sigma=0.1))
    before, after = _psnr(noisy, clean), _psnr(result.image, clean)
    # Measured: 20.02 dB noisy -> 29.39 dB restored.
    assert before == pytest.approx(20.0, abs=0.1)
    assert after > before + 8.5
    assert float(result.step) == pytest.approx(1.0, rel=1e-5)
    assert result.sigmas.shape == (4,) and float(result.sigmas[0]) == pytest.approx(0.1)
    # Plain SVT at the same c: 27.96 dB, so WNNM's weights are worth about 1.4 dB here.
    plain = lowrank_restore(Identity((64, 64, 3)), jnp.asarray(noisy),
                            LowRankOptions(sigma=0.1, thresholding="plain"))
    assert before + 7.5 < _psnr(plain.image, clean) < after - 1.0


def test_inpaints_half_the_pixels_of_a_set5_crop():
    clean = _crop()
    mask = (np.random.default_rng(3).random((64, 64, 1)) > 0.5).astype(np.float32)
    operator = Mask.create(mask, clean.shape)
    y = operator.A(jnp.asarray(clean))
    schedule = tuple(float(v) for v in np.geomspace(0.3, 0.01, 20))
    options = LowRankOptions(relaxation=1.0, outer_iterations=20, sigma_schedule=schedule)
    restored = lowrank_restore(operator, y, options).image
    # Measured: 7.0 dB zero fill -> 31.5 dB; observed pixels off by 0.005 on average.
    assert _psnr(y, clean) < 8
    assert _psnr(restored, clean) > 29.0
    observed = np.broadcast_to(mask, clean.shape) > 0
    assert np.abs(np.asarray(restored)[observed] - clean[observed]).mean() < 0.02


def test_a_hole_starts_at_the_observed_mean():
    """With a prior noise level of ~0 the groups are left as they are (zero thresholds) and
    the result is the start: observed pixels, and the per-channel mean of the observed pixels
    in a centre hole (computed here with NumPy); with fill_missing=False the hole stays 0."""
    rng = np.random.default_rng(5)
    shape = (24, 24, 3)
    image = rng.random(shape).astype(np.float32)
    mask = np.ones((24, 24, 1), np.float32)
    mask[6:18, 6:18] = 0
    operator = Mask.create(mask, shape)
    y = operator.A(jnp.asarray(image))
    options = LowRankOptions(patch=4, stride=2, window=9, group=10, outer_iterations=2, relaxation=1.0,
                             sigma_schedule=(1e-9, 1e-9))
    known = np.broadcast_to(mask, shape) > 0
    expected = np.where(known, image, image[known[..., 0]].mean(axis=0))
    np.testing.assert_allclose(np.asarray(lowrank_restore(operator, y, options).image), expected, atol=2e-5)
    zero = lowrank_restore(operator, y, dataclasses.replace(options, fill_missing=False)).image
    np.testing.assert_allclose(np.asarray(zero), np.where(known, image, 0.0), atol=2e-5)


def test_operator_norm_by_power_iteration():
    grey = sum(v * v for v in GREY_WEIGHTS)
    assert float(operator_norm_squared(Greyscale(8, 8))) == pytest.approx(grey, rel=1e-4)
    mask = np.ones((8, 8, 1), np.float32) * 0.5
    mask[2, 3] = 0.9
    assert float(operator_norm_squared(Mask.create(mask, (8, 8, 3)))) == pytest.approx(0.81, rel=1e-3)


def test_vmapped_batch_equals_per_image_runs():
    rng = np.random.default_rng(2)
    shape = (24, 24, 3)
    masks = (rng.random((2, 24, 24, 1)) > 0.3).astype(np.float32)
    operators = [Mask.create(m, shape) for m in masks]
    images = rng.random((2,) + shape).astype(np.float32)
    ys = jnp.stack([op.A(jnp.asarray(x)) for op, x in zip(operators, images)])
    options = LowRankOptions(patch=4, stride=2, window=9, group=10, outer_iterations=2, relaxation=1.0,
                             sigma_schedule=[0.1, 0.05])  # a list is accepted too
    batch = jax.tree.map(lambda *leaves: jnp.stack(leaves), *operators)
    batched = jax.vmap(lambda op, y: lowrank_restore(op, y, options).image)(batch, ys)
    for i, op in enumerate(operators):
        np.testing.assert_allclose(batched[i], lowrank_restore(op, ys[i], options).image, atol=1e-5)


@pytest.mark.parametrize("options, message", [
    (LowRankOptions(patch=40), "larger than the 32x32 image"),
    (LowRankOptions(patch=6, window=5, group=26), "exceeds the 25 patches"),
    (LowRankOptions(thresholding="hard"), "thresholding must be one of"),
    (LowRankOptions(stride=0), "stride must be a positive integer"),
    (LowRankOptions(sigma=0.0), "sigma must be positive"),
    (LowRankOptions(outer_iterations=3, sigma_schedule=(0.1, 0.05)), "must hold 3 positive noise levels"),
])
def test_option_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        options.check((32, 32, 3))
    with pytest.raises(ConfigError, match=message):
        lowrank_restore(Identity((32, 32, 3)), jnp.zeros((32, 32, 3)), options)


def test_operator_errors():
    with pytest.raises(ConfigError, match="HSVValue is not linear"):
        lowrank_restore(HSVValue(16, 16), jnp.zeros((16, 16, 1)), LowRankOptions(patch=4, group=4))
    with pytest.raises(ConfigError, match="expects an observation of shape 16x16x3"):
        lowrank_restore(Identity((16, 16, 3)), jnp.zeros((16, 15, 3)), LowRankOptions(patch=4, group=4))
