"""The super-resolution protocol of the literature (task ``"sr"``), for each HR image (read with
its native channels):

1. modcrop: crop the bottom/right so height and width are multiples of ``scale``;
2. LR = ``imresize(HR, 1/scale)`` on the uint8 RGB image: MATLAB bicubic with antialiasing,
   uint8 after each 1-D pass as MATLAB's own (equal to the LR files MATLAB made for SelfExSR
   away from the border, :mod:`jaxrestore.imaging.resize`);
3. restored = ``restorer(LR)``: uint8 with the HR's shape and channel count;
4. PSNR and SSIM on the luma (:mod:`jaxrestore.evaluation.base`) with a ``scale``-pixel border
   cropped on every side, and ``l1_y``, the mean absolute error of that cropped luma scaled to
   [0, 1] (``|Y_restored - Y_hr| / 255``, 001_* Table 2);
5. the figures of a folder are the means over its images, and ``psnr_y_std`` is the population
   standard deviation (ddof=0) of its per-image PSNR-Y (001_* Table 1's PSD row; the paper does
   not say which; the sample one is ``sqrt(n / (n - 1))`` times it).

The published bicubic rows (SRCNN, VDSR and every later table) were not made through a uint8
LR. They upscale on the Y channel in double precision: ``Y = rgb2ycbcr(modcrop(HR))(:,:,1)``
(uint8), ``y = Y/255``, ``sr = imresize(imresize(y, 1/s), s)``, scored as ``uint8(sr * 255)``
against ``Y``. :class:`BicubicRestorer` offers both: called on an LR image it is the RGB uint8
pipeline a model goes through (``--baseline=bicubic_rgb``); with ``luma_reference`` set (the
default, ``--baseline=bicubic``) the evaluation asks it for the published Y-channel protocol
instead. docs/evaluation.md gives the figures both reach on Set5 and Set14.
"""

from __future__ import annotations

import numpy as np

from jaxrestore.errors import ConfigError, DataError
from jaxrestore.evaluation.base import Protocol, as_uint8, centre_crop, luma_scores, luma_uint8, rgb, score_luma
from jaxrestore.imaging.resize import imresize, to_uint8


def check_scale(scale) -> int:
    if scale is None or isinstance(scale, bool) or int(scale) != scale or int(scale) < 1:
        raise ConfigError(f"scale must be a positive integer, got {scale!r}; use 2, 3 or 4.")
    return int(scale)


class BicubicRestorer:
    """MATLAB bicubic upscaling of the uint8 LR: ``imresize(lr, scale)``, uint8 after each pass.

    ``luma_reference=True`` marks it for the published Y-channel double-precision
    protocol (:meth:`restore_luma`), which reproduces the literature's bicubic rows.
    """

    task = "sr"

    def __init__(self, scale: int, *, luma_reference: bool = True):
        self.scale = check_scale(scale)
        self.luma_reference = luma_reference

    def __call__(self, degraded: np.ndarray) -> np.ndarray:
        return imresize(as_uint8(degraded, "bicubic upscaling"), self.scale)

    def restore_luma(self, hr_luma: np.ndarray) -> np.ndarray:
        """Published protocol on a uint8 HxW luma: ``uint8(255 * imresize(imresize(Y/255, 1/s), s))``."""
        y = np.asarray(hr_luma, dtype=np.float64) / 255.0
        return to_uint8(imresize(imresize(y, 1.0 / self.scale), self.scale) * 255.0)


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crops the bottom and right so height and width are multiples of ``scale``."""
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale]


def degrade_sr(hr: np.ndarray, *, scale: int) -> np.ndarray:
    """The LR input of the protocol: ``imresize(hr, 1/scale)`` of an already modcropped uint8 HR
    (MATLAB's uint8 result, rounded after each pass)."""
    return imresize(as_uint8(hr, "the SR protocol's downscaling"), 1.0 / scale)


def _sr_lumas(hr: np.ndarray, restored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lumas SR is scored on, after checking the restorer kept the channel count."""
    hr, restored = np.asarray(hr), np.asarray(restored)
    if hr.ndim == 3 and restored.ndim == 3 and hr.shape[-1] != restored.shape[-1]:
        raise DataError(
            f"restored image has {restored.shape[-1]} channel(s) but the HR image has {hr.shape[-1]}; "
            "the restorer must keep the channel count.")
    return luma_uint8(hr), luma_uint8(restored)


def score_sr(hr: np.ndarray, restored: np.ndarray, *, scale: int) -> tuple[float, float]:
    """(psnr_y, ssim_y) of a modcropped uint8 HR image and its uint8 restoration."""
    return score_luma(*_sr_lumas(hr, restored), scale=scale)


def restore_and_score_sr(restorer, hr: np.ndarray, *, scale: int) -> dict[str, float]:
    """Steps 1-4 of the protocol for one HR image."""
    hr = modcrop(np.asarray(hr), scale)
    if hr.ndim == 2:
        hr = hr[..., None]
    if getattr(restorer, "luma_reference", False):
        hr_luma = luma_uint8(hr)
        return luma_scores(hr_luma, restorer.restore_luma(hr_luma), scale=scale)
    restored = np.asarray(restorer(degrade_sr(hr, scale=scale)))
    if restored.dtype != np.uint8:
        raise DataError(f"the restorer returned {restored.dtype} pixels; it must return uint8 images.")
    return luma_scores(*_sr_lumas(hr, restored), scale=scale)


class SRProtocol(Protocol):
    name, label, option, option_example, option_phrase = "sr", "super-resolution", "scale", 4, "upscales by"
    perceptual_metrics = True

    @classmethod
    def check_option(cls, value):
        return check_scale(value)

    @classmethod
    def cli_baselines(cls):
        return {"bicubic": lambda scale: BicubicRestorer(scale, luma_reference=True),
                "bicubic_rgb": lambda scale: BicubicRestorer(scale, luma_reference=False)}

    @classmethod
    def score(cls, restorer, clean, value):
        return restore_and_score_sr(restorer, clean, scale=value)

    @classmethod
    def grid_panels(cls, image, restorer, baseline, value, size):
        """LR (nearest) | bicubic | output | HR."""
        hr = rgb(image)
        side = min(size, hr.shape[0], hr.shape[1]) // value * value
        hr = centre_crop(hr, side)
        lr = degrade_sr(hr, scale=value)
        nearest = np.repeat(np.repeat(lr, value, axis=0), value, axis=1)
        return [nearest, baseline(lr), restorer(lr), hr]
