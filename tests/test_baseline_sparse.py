"""Sparse-coding baseline: the overcomplete DCT against a SciPy construction, OMP against
exact sparse codes and a NumPy transcription, denoising and inpainting on a Set5 crop,
a vmapped batch against per-image runs, and the user errors."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.fft
from PIL import Image

from jaxrestore.errors import ConfigError
from jaxrestore.inverse import operators as ops
from jaxrestore.inverse.baselines.sparse import (SparseOptions, average_patches, extract_patches, omp,
                                                 operator_norm_squared, overcomplete_dct, sparse_restore)

SET5 = pathlib.Path("/work/shared/data/Set5")
if not SET5.exists():
    SET5 = pathlib.Path(__file__).resolve().parents[1] / "data" / "Set5"


def _psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))


@pytest.fixture(scope="module")
def butterfly_crop():
    path = SET5 / "butterfly.png"  # ../shared/data is beside the repository in CI too
    image = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0
    return image[96:160, 96:160]  # 64x64, wing edges and texture


def _scipy_odct(patch, atoms):
    """Elad & Aharon's overcomplete DCT from SciPy's DCT-I: for a length-(L+1) DCT-I the
    response to the unit vector e_i is w_i cos(pi k i / L) (w_0 = 1, w_i = 2 inside)."""
    side = int(round(np.sqrt(atoms)))
    basis = scipy.fft.dct(np.eye(side + 1), type=1, axis=0)  # [k, i]
    weights = np.where(np.arange(side + 1) == 0, 1.0, 2.0)
    cosines = (basis / weights[None, :])[:side, :patch].T  # (patch, side): cos(pi k i / side)
    cosines[:, 1:] -= cosines[:, 1:].mean(axis=0)
    cosines /= np.linalg.norm(cosines, axis=0)
    atoms_2d = [np.outer(cosines[:, a], cosines[:, b]).ravel() for a in range(side) for b in range(side)]
    return np.stack(atoms_2d, axis=1)


def test_overcomplete_dct_matches_scipy_and_is_unit_norm():
    d = overcomplete_dct(8, 256)
    assert d.shape == (64, 256) and d.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(d, axis=0), 1.0, atol=1e-6)
    np.testing.assert_allclose(d, _scipy_odct(8, 256), atol=1e-6)
    # One DC atom; all others are zero-mean, so a patch's mean is one atom's job.
    np.testing.assert_allclose(d[:, 0], 1 / 8, atol=1e-7)
    np.testing.assert_allclose(d[:, 1:].sum(axis=0), 0.0, atol=1e-5)
    assert np.linalg.matrix_rank(d.astype(np.float64)) == 64  # it spans all 8x8 patches
    np.testing.assert_allclose(overcomplete_dct(4, 49), _scipy_odct(4, 49), atol=1e-6)


def test_omp_recovers_a_known_sparse_code_exactly():
    d = overcomplete_dct(8, 256)
    rng = np.random.default_rng(0)
    codes = []
    while len(codes) < 20:
        # The overcomplete DCT is coherent (0.98), so keep supports that meet Tropp's exact
        # recovery condition max_j |D_S^+ d_j|_1 < 1 (IEEE TIT 2004, Thm. 3.1), under
        # which OMP must find them (about half of random 3-supports do).
        support = rng.choice(256, size=3, replace=False)
        others = np.setdiff1d(np.arange(256), support)
        if np.abs(np.linalg.pinv(d[:, support].astype(np.float64)) @ d[:, others]).sum(0).max() >= 1:
            continue
        code = np.zeros(256, np.float32)
        code[support] = rng.choice([-1, 1], 3) * rng.uniform(0.5, 2.0, 3)
        codes.append(code)
    codes = np.stack(codes)
    found = np.asarray(omp(d, codes @ d.T, sparsity=3))
    assert [set(np.flatnonzero(f)) for f in found] == [set(np.flatnonzero(c)) for c in codes]
    np.testing.assert_allclose(found, codes, atol=2e-5)
    # A loose tolerance stops early: with an error threshold above the signal, no atoms.
    assert not np.any(np.asarray(omp(d, codes @ d.T, sparsity=3, tolerance=10.0)))


def _numpy_omp(d, signal, sparsity):
    """Textbook OMP (Pati et al. 1993) in float64."""
    residual, support = signal.copy(), []
    for _ in range(sparsity):
        support.append(int(np.argmax(np.abs(d.T @ residual))))
        coef, *_ = np.linalg.lstsq(d[:, support], signal, rcond=None)
        residual = signal - d[:, support] @ coef
    code = np.zeros(d.shape[1])
    code[support] = coef
    return code


def test_omp_equals_a_numpy_transcription_on_random_signals():
    d = overcomplete_dct(8, 256)
    signals = np.random.default_rng(1).normal(size=(8, 64)).astype(np.float32)
    found = np.asarray(omp(d, signals, sparsity=6))
    for f, s in zip(found, signals):
        reference = _numpy_omp(d.astype(np.float64), s.astype(np.float64), 6)
        assert set(np.flatnonzero(f)) == set(np.flatnonzero(reference))
        np.testing.assert_allclose(f, reference, atol=1e-4)


def test_masked_omp_codes_from_the_observed_pixels_only():
    d = overcomplete_dct(8, 256)
    rng = np.random.default_rng(2)
    mask = (rng.uniform(size=64) > 0.5).astype(np.float32)
    masked = mask[:, None] * d.astype(np.float64)
    masked /= np.linalg.norm(masked, axis=0)
    while True:  # a support that meets Tropp's exact recovery condition on the masked rows
        support = rng.choice(256, size=3, replace=False)
        others = np.setdiff1d(np.arange(256), support)
        if np.abs(np.linalg.pinv(masked[:, support]) @ masked[:, others]).sum(0).max() < 1:
            break
    code = np.zeros(256, np.float32)
    code[support] = [2.0, -1.0, 0.7]
    garbage = np.where(mask > 0, d @ code, 99.0)  # hidden pixels must not matter ...
    found = np.asarray(omp(d, mask * garbage, sparsity=3, weights=mask))
    np.testing.assert_allclose(found, code, atol=1e-4)  # ... and the full atoms fill them in


def test_patches_average_back_to_the_image():
    image = jnp.asarray(np.random.default_rng(3).uniform(size=(13, 11, 2)), jnp.float32)
    for stride in (1, 3, 5):
        patches = extract_patches(image, 5, stride)
        np.testing.assert_allclose(average_patches(patches, image.shape, 5, stride), image, atol=1e-6)


def test_operator_norm_by_power_iteration():
    op = ops.bicubic_downsample((16, 16, 1), 2)
    rows, cols = op.matrices()
    expected = np.linalg.norm(np.kron(rows, cols), 2) ** 2
    # Power iteration converges slowly here (a small eigengap); Landweber only needs
    # mu < 2 / |A|^2, so a per-cent is ample.
    assert float(operator_norm_squared(op)) == pytest.approx(expected, rel=1e-2)
    assert float(operator_norm_squared(op, 200)) == pytest.approx(expected, rel=1e-3)
    assert float(operator_norm_squared(ops.Identity(shape=(8, 8, 3)))) == pytest.approx(1.0, rel=1e-5)


def test_denoising_a_set5_crop_beats_the_noisy_input(butterfly_crop):
    hr = butterfly_crop
    noisy = (hr + 0.1 * np.random.default_rng(0).normal(size=hr.shape)).astype(np.float32)
    options = SparseOptions(sparsity=16, tolerance=1.15 * 0.1, outer_iterations=1, stride=1)
    result = sparse_restore(ops.Identity(shape=hr.shape), jnp.asarray(noisy), options)
    noisy_psnr, restored = _psnr(noisy, hr), _psnr(result.image, hr)
    # Measured: 20.02 dB noisy -> 26.05 dB, about 4 atoms per patch.
    assert noisy_psnr == pytest.approx(20.0, abs=0.1)
    assert restored > noisy_psnr + 5.5
    assert 2 < float(result.mean_atoms) < 8


def test_inpainting_half_the_pixels_beats_the_zero_filled_input(butterfly_crop):
    hr = butterfly_crop
    mask = (np.random.default_rng(1).uniform(size=hr.shape[:2]) > 0.5).astype(np.float32)
    op = ops.Mask.create(mask)
    y = op.A(jnp.asarray(hr))
    result = sparse_restore(op, y, SparseOptions(sparsity=16, stride=2))
    zero_filled, restored = _psnr(y, hr), _psnr(result.image, hr)
    # Measured: 7.42 dB zero-filled -> 25.29 dB; observed pixels are kept exactly.
    assert restored > 24.5 and restored > zero_filled + 15
    np.testing.assert_allclose(np.asarray(result.image)[mask > 0], hr[mask > 0], atol=1e-6)


def test_vmapped_batch_equals_per_image_runs():
    rng = np.random.default_rng(4)
    images = rng.uniform(size=(2, 16, 16, 1)).astype(np.float32)
    masks = (rng.uniform(size=(2, 16, 16)) > 0.4).astype(np.float32)
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *[ops.Mask.create(m, (16, 16, 1)) for m in masks])
    options = SparseOptions(patch=4, atoms=64, sparsity=4, stride=2)
    y = stacked.A(jnp.asarray(images))
    batch = sparse_restore(stacked, y, options, per_image_operator=True)
    for i, m in enumerate(masks):
        one = sparse_restore(ops.Mask.create(m, (16, 16, 1)), y[i], options)
        np.testing.assert_allclose(batch.image[i], one.image, atol=1e-5)
    # The generic (Landweber + sparse coding) loop batches too, with one shared operator.
    blur = ops.bicubic_downsample((16, 16, 1), 2)
    options = SparseOptions(patch=4, atoms=64, sparsity=4, stride=2, outer_iterations=3)
    low = blur.A(jnp.asarray(images))
    batch = sparse_restore(blur, low, options)
    for i in range(2):
        np.testing.assert_allclose(batch.image[i], sparse_restore(blur, low[i], options).image, atol=1e-5)


def test_super_resolution_x2_beats_bicubic_upsampling(butterfly_crop):
    hr = butterfly_crop
    op = ops.bicubic_downsample(hr.shape, 2)
    lr = op.A(jnp.asarray(hr))
    bicubic = _psnr(ops.bicubic_upsample(op.output_shape, 2).A(lr), hr)
    options = SparseOptions(sparsity=8, tolerance=0.01, stride=2, outer_iterations=15)
    restored = _psnr(sparse_restore(op, lr, options).image, hr)
    # Measured: bicubic upsampling 26.21 dB, 15 Landweber + sparse-coding rounds 26.68 dB.
    assert restored > bicubic + 0.3


def test_generic_loop_fits_the_observation_better_than_the_adjoint():
    op = ops.bicubic_downsample((32, 32, 1), 2)
    x = jnp.asarray(np.random.default_rng(5).uniform(size=(32, 32, 1)), jnp.float32)
    y = op.A(x)
    start = float(jnp.linalg.norm(op.A(op.AT(y)) - y) / jnp.linalg.norm(y))
    result = sparse_restore(op, y, SparseOptions(patch=4, atoms=64, sparsity=8, outer_iterations=20, stride=2))
    assert float(result.residual) < 0.5 * start


@pytest.mark.parametrize("options, words", [
    (SparseOptions(patch=16), "do not fit"),
    (SparseOptions(atoms=200), "square number"),
    (SparseOptions(atoms=49), "square number"),
    (SparseOptions(sparsity=65), "exceeds"),
    (SparseOptions(stride=9), "stride"),
    (SparseOptions(outer_iterations=0), "outer_iterations"),
    (SparseOptions(tolerance=-1.0), "tolerance"),
    (SparseOptions(step=0.0), "step"),
])
def test_bad_options_raise_one_config_error(options, words):
    op = ops.Identity(shape=(12, 12, 1))
    with pytest.raises(ConfigError, match=words):
        sparse_restore(op, jnp.zeros((12, 12, 1)), options)


def test_a_non_linear_operator_or_wrong_shape_is_refused():
    with pytest.raises(ConfigError, match="HSVValue is not linear"):
        sparse_restore(ops.HSVValue(height=16, width=16), jnp.zeros((16, 16, 1)))
    with pytest.raises(ConfigError, match="16x16x1"):
        sparse_restore(ops.Identity(shape=(16, 16, 1)), jnp.zeros((16, 8, 1)))
