"""Structural similarity (SSIM), matching Wang et al.'s MATLAB ``ssim_index.m``.

Wang, Bovik, Sheikh, Simoncelli, "Image quality assessment: from error visibility
to structural similarity", IEEE TIP 2004, Eq. (13): an 11x11 Gaussian window
(sigma 1.5, normalised to sum 1), K1 = 0.01, K2 = 0.03, L = 255, statistics by
``filter2(window, x, 'valid')`` in float64, and the mean of the SSIM map. The
reference code's variances are biased (``E[x^2] - E[x]^2``). No automatic
downsampling (that is the later ``ssim.m``; super-resolution tables use the
original). Multi-channel images give the mean of per-channel SSIM.
"""

from __future__ import annotations

import numpy as np

from jaxrestore.errors import DataError
from jaxrestore.metrics.psnr import _pair

WINDOW_SIZE = 11
SIGMA = 1.5
K1 = 0.01
K2 = 0.03


def gaussian_window_1d(size: int = WINDOW_SIZE, sigma: float = SIGMA) -> np.ndarray:
    """1-D factor of MATLAB's ``fspecial('gaussian', size, sigma)`` (outer(g, g) is the window)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(image: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``filter2(outer(g, g), image, 'valid')`` done separably."""
    size = g.shape[0]
    rows = np.lib.stride_tricks.sliding_window_view(image, size, axis=0) @ g
    return np.lib.stride_tricks.sliding_window_view(rows, size, axis=1) @ g


def ssim_map(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0) -> np.ndarray:
    """The SSIM map of two HxW images, shape ``(H-10, W-10)`` ('valid' filtering)."""
    a, b = _pair(a, b, "ssim")
    if a.ndim != 2:
        raise DataError(f"ssim_map expects HxW images, got shape {a.shape}; pass one channel.")
    if min(a.shape) < WINDOW_SIZE:
        raise DataError(
            f"ssim needs images of at least {WINDOW_SIZE}x{WINDOW_SIZE} pixels, got {a.shape[0]}x{a.shape[1]}; "
            "use larger images or a smaller border crop.")
    g = gaussian_window_1d()
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    mu1 = _filter_valid(a, g)
    mu2 = _filter_valid(b, g)
    mu1_sq, mu2_sq, mu1_mu2 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    sigma1_sq = _filter_valid(a * a, g) - mu1_sq
    sigma2_sq = _filter_valid(b * b, g) - mu2_sq
    sigma12 = _filter_valid(a * b, g) - mu1_mu2
    return ((2 * mu1_mu2 + c1) * (2 * sigma12 + c2)) / ((mu1_sq + mu2_sq + c1) * (sigma1_sq + sigma2_sq + c2))


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0) -> float:
    """Mean SSIM of two HxW or HxWxC images (mean over channels of the per-channel mean)."""
    a, b = _pair(a, b, "ssim")
    if a.ndim == 2:
        return float(np.mean(ssim_map(a, b, data_range=data_range)))
    if a.ndim == 3:
        return float(np.mean([np.mean(ssim_map(a[..., c], b[..., c], data_range=data_range)) for c in range(a.shape[-1])]))
    raise DataError(f"ssim expects HxW or HxWxC images, got shape {a.shape}; pass one image at a time.")
