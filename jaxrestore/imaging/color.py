"""Colour conversions as MATLAB computes them (ITU-R BT.601, studio swing).

Float images are HxWx3 (any leading batch axes) in [0, 1]; :func:`rgb_to_ycbcr`
returns Y in [16/255, 235/255] and Cb, Cr in [16/255, 240/255], exactly MATLAB's
``rgb2ycbcr`` for double input. The float functions use only array operations
(``@``, ``+``, ``max``), so they work on NumPy and jax.numpy arrays alike.
:func:`rgb_to_y_uint8` is MATLAB's ``rgb2ycbcr`` Y channel for uint8 input,
rounded, which is what super-resolution papers score PSNR/SSIM on.
"""

from __future__ import annotations

import numpy as np

from jaxrestore.errors import DataError

# MATLAB rgb2ycbcr: ycbcr = OFFSET + RGB_TO_YCBCR @ rgb, all on the [0, 1] scale.
RGB_TO_YCBCR = np.array(
    [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ]
) / 255.0
YCBCR_OFFSET = np.array([16.0, 128.0, 128.0]) / 255.0
_Y_COEFFICIENTS_1000 = (65481, 128553, 24966)  # 1000 x the Y row of RGB_TO_YCBCR * 255, exact integers
YCBCR_TO_RGB = np.linalg.inv(RGB_TO_YCBCR)


def _check_rgb(image, what: str) -> None:
    if image.ndim < 1 or image.shape[-1] != 3:
        raise DataError(f"{what} expects a last axis of 3 channels, got shape {tuple(image.shape)}; pass an RGB image.")


def rgb_to_ycbcr(rgb):
    """RGB in [0, 1] -> YCbCr in MATLAB's studio range (Y in [16/255, 235/255])."""
    _check_rgb(rgb, "rgb_to_ycbcr")
    return rgb @ RGB_TO_YCBCR.T.astype(_float_dtype(rgb)) + YCBCR_OFFSET.astype(_float_dtype(rgb))


def ycbcr_to_rgb(ycbcr):
    """Inverse of :func:`rgb_to_ycbcr` (MATLAB ``ycbcr2rgb`` for double input), not clipped."""
    _check_rgb(ycbcr, "ycbcr_to_rgb")
    dtype = _float_dtype(ycbcr)
    return (ycbcr - YCBCR_OFFSET.astype(dtype)) @ YCBCR_TO_RGB.T.astype(dtype)


def rgb_to_y(rgb):
    """Luma Y of RGB in [0, 1], in MATLAB's studio range [16/255, 235/255], shape ``rgb.shape[:-1]``."""
    _check_rgb(rgb, "rgb_to_y")
    dtype = _float_dtype(rgb)
    return rgb @ RGB_TO_YCBCR[0].astype(dtype) + dtype.type(YCBCR_OFFSET[0])


def rgb_to_y_uint8(rgb_uint8: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2ycbcr(uint8 image)(:,:,1)``: Y = 16 + (65.481 R + 128.553 G + 24.966 B)/255, rounded.

    Input uint8 ...x3, output uint8 with the channel axis removed.
    """
    rgb_uint8 = np.asarray(rgb_uint8)
    _check_rgb(rgb_uint8, "rgb_to_y_uint8")
    if rgb_uint8.dtype != np.uint8:
        raise DataError(f"rgb_to_y_uint8 expects uint8 pixels, got {rgb_uint8.dtype}; convert with to_uint8 first.")
    # Exactly, in integers: 255000 Y = 16 * 255000 + 65481 R + 128553 G + 24966 B. Y lies in
    # [16, 235], so MATLAB's round-half-away-from-zero is floor(Y + 1/2). Some pixels are exact
    # ties (13 of Set5/Set14's 3.5 million); a float computation would round those by the sign
    # of its rounding error, which can change with the CPU's summation order or FMA use.
    scaled = rgb_uint8.astype(np.int64) @ np.array(_Y_COEFFICIENTS_1000, np.int64) + 16 * 255_000
    return ((scaled + 127_500) // 255_000).astype(np.uint8)


def rgb_to_hsv_value(rgb):
    """The V channel of HSV: the maximum over R, G, B (shape ``rgb.shape[:-1]``)."""
    _check_rgb(rgb, "rgb_to_hsv_value")
    return rgb.max(axis=-1)


def _float_dtype(array) -> np.dtype:
    dtype = np.dtype(array.dtype)
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)
