"""Peak signal-to-noise ratio, as MATLAB reference code computes it.

``PSNR = 10 log10(L^2 / MSE)`` with the mean over every pixel (and channel) in
float64; ``L`` is the data range (255 for uint8 pixels). Identical images give
``inf``.
"""

from __future__ import annotations

import math

import numpy as np

from jaxrestore.errors import DataError


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error in float64 over all elements."""
    a, b = _pair(a, b, "mse")
    return float(np.mean((a - b) ** 2))


def psnr(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0) -> float:
    """PSNR in dB of two same-shape images on the scale ``[0, data_range]``."""
    error = mse(a, b)
    if error == 0:
        return math.inf
    return 10.0 * math.log10(data_range**2 / error)


def _pair(a, b, what: str) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise DataError(f"{what} needs two images of the same shape, got {a.shape} and {b.shape}; crop or resize one to match.")
    if a.size == 0:
        raise DataError(f"{what} got empty images of shape {a.shape}; pass images with pixels.")
    return a, b
