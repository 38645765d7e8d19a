"""PSNR and SSIM against hand values and a direct loop transcription of Wang's ssim_index.m."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jaxrestore.errors import DataError
from jaxrestore.metrics import mse, psnr, ssim, ssim_map
from jaxrestore.metrics.ssim import gaussian_window_1d


def test_psnr_of_known_mse():
    a = np.zeros((8, 8), np.uint8)
    b = np.full((8, 8), 5, np.uint8)  # MSE 25 (no uint8 wrap-around: computed in float64)
    assert mse(b, a) == 25.0
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 25), abs=1e-12)
    c = a.copy()
    c[0, 0] = 16  # MSE = 256 / 64 = 4
    assert psnr(a, c) == pytest.approx(20 * math.log10(255 / 2), abs=1e-12)
    assert psnr(a / 255, c / 255, data_range=1.0) == pytest.approx(20 * math.log10(255 / 2), abs=1e-9)


def test_psnr_identical_is_inf_and_shape_mismatch_errors():
    a = np.arange(64, dtype=np.uint8).reshape(8, 8)
    assert psnr(a, a) == math.inf
    with pytest.raises(DataError):
        psnr(a, a[:4])


def _ssim_loop(a: np.ndarray, b: np.ndarray) -> float:
    """ssim_index.m written out: fspecial window, filter2 'valid' as explicit sums."""
    x = np.arange(-5, 6)
    window = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * 1.5**2))
    window /= window.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    a, b = a.astype(np.float64), b.astype(np.float64)
    values = []
    for i in range(a.shape[0] - 10):
        for j in range(a.shape[1] - 10):
            pa, pb = a[i:i + 11, j:j + 11], b[i:i + 11, j:j + 11]
            mu1, mu2 = np.sum(window * pa), np.sum(window * pb)
            s1 = np.sum(window * pa * pa) - mu1**2
            s2 = np.sum(window * pb * pb) - mu2**2
            s12 = np.sum(window * pa * pb) - mu1 * mu2
            values.append(((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1**2 + mu2**2 + c1) * (s1 + s2 + c2)))
    return float(np.mean(values))


def test_ssim_matches_loop_transcription():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (15, 17)).astype(np.uint8)
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255).astype(np.uint8)
    assert ssim_map(a, b).shape == (5, 7)
    assert ssim(a, b) == pytest.approx(_ssim_loop(a, b), abs=1e-12)


def test_ssim_of_constant_images_by_hand():
    # Constant images: variances and covariance vanish, so SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    a = np.full((11, 11), 100.0)
    b = np.full((11, 11), 120.0)
    c1 = (0.01 * 255) ** 2
    assert ssim(a, b) == pytest.approx((2 * 100 * 120 + c1) / (100**2 + 120**2 + c1), abs=1e-12)


def test_ssim_identical_is_one_and_channels_are_averaged():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (20, 20, 3)).astype(np.uint8)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    b = a.copy()
    b[..., 1] = 255 - b[..., 1]
    want = np.mean([ssim(a[..., c], b[..., c]) for c in range(3)])
    assert ssim(a, b) == pytest.approx(want, abs=1e-15)
    assert ssim(a[..., 1], b[..., 1]) < 0


def test_gaussian_window_is_fspecial():
    g = gaussian_window_1d()
    window = np.outer(g, g)
    assert window.sum() == pytest.approx(1.0)
    # fspecial('gaussian', 11, 1.5): exp(-(x^2 + y^2) / (2 sigma^2)) on -5..5, normalised to sum 1.
    x = np.arange(-5, 6)
    raw = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / 4.5)
    np.testing.assert_allclose(window, raw / raw.sum(), atol=1e-15)


def test_ssim_too_small_is_data_error():
    with pytest.raises(DataError):
        ssim(np.zeros((10, 30)), np.zeros((10, 30)))
