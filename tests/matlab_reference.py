"""Independent references for MATLAB's bicubic ``imresize``, shared by the tests.

``imresize_loop`` is a line-by-line transcription of MATLAB's ``contributions`` and
``resizeAlongDim`` (1-based, one output pixel at a time), written apart from
``jaxrestore.imaging.resize``; it follows MATLAB's class rule, so a uint8 image is
rounded and saturated to uint8 after each 1-D pass. It is itself pinned to MATLAB's
own output: the LR images MATLAB made for SelfExSR (``selfexsr_pairs``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

SELFEXSR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "SelfExSR"
# SelfExSR's LR files were made from the uncropped images, so their outermost rows and
# columns differ from a resize of the (modcropped) HR file; this many are left out.
SELFEXSR_BORDER = 2


def cubic_scalar(x: float) -> float:
    a = abs(x)
    if a <= 1:
        return 1.5 * a**3 - 2.5 * a**2 + 1
    if a <= 2:
        return -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2
    return 0.0


def matlab_round_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB's double -> uint8: round half away from zero, saturate."""
    return np.clip(np.where(x >= 0, np.floor(x + 0.5), np.ceil(x - 0.5)), 0, 255).astype(np.uint8)


def resize_axis_loop(image: np.ndarray, axis: int, out_len: int, scale: float) -> np.ndarray:
    """One 1-D pass of MATLAB's bicubic resize along ``axis``, in float64."""
    in_len = image.shape[axis]
    width = 4.0 / scale if scale < 1 else 4.0
    aux = list(range(1, in_len + 1)) + list(range(in_len, 0, -1))
    moved = np.moveaxis(np.asarray(image, np.float64), axis, 0)
    out = np.zeros((out_len,) + moved.shape[1:])
    for x in range(1, out_len + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = math.ceil(width) + 2
        idx = [left + k for k in range(taps)]
        if scale < 1:
            w = [scale * cubic_scalar(scale * (u - j)) for j in idx]
        else:
            w = [cubic_scalar(u - j) for j in idx]
        total = sum(w)
        for j, wj in zip(idx, w):
            src = aux[(j - 1) % (2 * in_len)] - 1
            out[x - 1] += (wj / total) * moved[src]
    return np.moveaxis(out, 0, axis)


def imresize_loop(image: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB ``imresize(image, scale, 'bicubic')`` for one scale on both axes (rows first):
    uint8 in -> uint8 out, rounded after each pass; anything else -> float64."""
    image = np.asarray(image)
    uint8 = image.dtype == np.uint8
    out = image
    for axis in (0, 1):
        out = resize_axis_loop(out, axis, math.ceil(image.shape[axis] * scale), scale)
        if uint8:
            out = matlab_round_uint8(out)
    return out


def read_png(path: Path) -> np.ndarray:
    """uint8 HxWxC pixels of a PNG as stored (grey files get a channel axis)."""
    with Image.open(path) as img:
        array = np.asarray(img)
    return array[..., None] if array.ndim == 2 else array


def selfexsr_pairs(dataset: str, scale: int):
    """``[(name, hr, lr)]`` of SelfExSR's MATLAB-made pairs (uint8 HxWxC), sorted by file name."""
    folder = SELFEXSR / dataset / f"image_SRF_{scale}"
    hr_files = sorted(folder.glob("*_HR.png"))
    assert hr_files, f"no SelfExSR pairs in {folder}"
    return [(p.name[:7], read_png(p), read_png(p.with_name(p.name.replace("_HR.png", "_LR.png"))))
            for p in hr_files]


def interior(image: np.ndarray, border: int = SELFEXSR_BORDER) -> np.ndarray:
    return image[border:-border, border:-border]
