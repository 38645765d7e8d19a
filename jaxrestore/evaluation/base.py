"""What both evaluation protocols share: the luma an image is scored on, the scores of two lumas,
and the :class:`Protocol` surface a task's protocol offers (``evaluate --task=NAME``).

Images are uint8 HxW, HxWx1 or HxWx3 here; a grey image (one channel) is scored on its own
channel (0..255), an RGB one on MATLAB's ``rgb2ycbcr`` luma rounded to uint8 (16..235).
PSNR (peak 255) and Wang et al.'s SSIM (:mod:`jaxrestore.metrics`) are computed in float64.
"""

from __future__ import annotations

from typing import Protocol as TypingProtocol

import numpy as np

from jaxrestore.errors import ConfigError, DataError
from jaxrestore.imaging.color import rgb_to_y_uint8
from jaxrestore.metrics import psnr, ssim

# The scorers hand the restored luma (float64, border cropped as scored) to the no-reference
# metrics under this key; it never reaches the results.
RESTORED_LUMA = "_restored_luma"


class Restorer(TypingProtocol):
    """What a model or a baseline offers to the evaluation."""

    task: str  # the name of its task (whose protocol scores it)
    scale: int  # super-resolution
    quality: int  # JPEG artifact removal

    def __call__(self, degraded: np.ndarray) -> np.ndarray:
        """uint8 HxWxC (C is 1 or 3) -> uint8 restored image with the same C."""
        ...


def as_uint8(image: np.ndarray, what: str) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise DataError(f"{what} takes uint8 images, got {image.dtype}; convert with to_uint8 first.")
    return image


def luma_uint8(image: np.ndarray) -> np.ndarray:
    """The channel SR figures are computed on: rounded MATLAB Y for RGB, the channel itself for grey."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise DataError(f"the SR protocol scores uint8 images, got {image.dtype}; convert with to_uint8 first.")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[-1] == 1:
        return image[..., 0]
    if image.ndim == 3 and image.shape[-1] == 3:
        return rgb_to_y_uint8(image)
    raise DataError(f"expected an HxW, HxWx1 or HxWx3 image, got shape {image.shape}; pass grey or RGB images.")


def _cropped_pair(hr_luma: np.ndarray, restored_luma: np.ndarray, *, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """The two uint8 luma images as float64 with a ``scale``-pixel border cropped (0: none)."""
    if hr_luma.shape != restored_luma.shape:
        what = f"upscale by exactly {scale}" if scale else "keep the image size"
        raise DataError(
            f"restored image is {restored_luma.shape[0]}x{restored_luma.shape[1]} but the clean image is "
            f"{hr_luma.shape[0]}x{hr_luma.shape[1]}; the restorer must {what}.")
    b = scale
    a = hr_luma[b:-b, b:-b].astype(np.float64) if b else hr_luma.astype(np.float64)
    r = restored_luma[b:-b, b:-b].astype(np.float64) if b else restored_luma.astype(np.float64)
    if min(a.shape) < 11:
        raise DataError(
            f"an image of {hr_luma.shape[0]}x{hr_luma.shape[1]} pixels is too small to score at scale {scale} "
            "(SSIM needs 11x11 pixels after cropping the border); use larger images.")
    return a, r


def score_luma(hr_luma: np.ndarray, restored_luma: np.ndarray, *, scale: int) -> tuple[float, float]:
    """(PSNR, SSIM) of two uint8 luma images with a ``scale``-pixel border cropped (0: none)."""
    a, r = _cropped_pair(hr_luma, restored_luma, scale=scale)
    return psnr(a, r), ssim(a, r)


def luma_scores(hr_luma: np.ndarray, restored_luma: np.ndarray, *, scale: int) -> dict[str, float]:
    """``{"psnr_y", "ssim_y", "l1_y"}`` of two uint8 luma images on the region :func:`score_luma` scores.

    ``l1_y`` is the mean of ``|restored - hr| / 255`` over the cropped pixels (001_* Table 2).
    """
    a, r = _cropped_pair(hr_luma, restored_luma, scale=scale)
    return {"psnr_y": psnr(a, r), "ssim_y": ssim(a, r), "l1_y": float(np.mean(np.abs(r - a)) / 255.0),
            RESTORED_LUMA: r}


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return image[top:top + size, left:left + size]


def rgb(image: np.ndarray) -> np.ndarray:
    """Grey (HxW or HxWx1) as three equal channels; RGB unchanged."""
    image = np.asarray(image)
    if image.ndim == 2 or image.shape[-1] == 1:
        return np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=-1)
    return image


class Protocol:
    """A task's evaluation protocol (``evaluate --task=NAME``): how a clean image is degraded,
    restored and scored, its one option (``scale`` / ``quality``), its classical baselines and
    the panels of a comparison grid. A new protocol is a subclass in
    :data:`~jaxrestore.evaluation.PROTOCOLS`."""

    name = ""  # the task's name, e.g. "sr"
    label = ""  # what the task is called in messages, e.g. "super-resolution"
    option = ""  # its one protocol option ("scale" / "quality"), a flag of jaxrestore.evaluate
    option_example = 0
    option_phrase = ""  # "<checkpoint> {option_phrase} {value}"
    perceptual_metrics = False  # whether NIQE, Ma and PI are reported for it (001_* Table 1: SR)

    @classmethod
    def check_option(cls, value):
        """``value`` of the option, checked (one ConfigError for a value the protocol cannot take)."""
        raise NotImplementedError

    @classmethod
    def cli_baselines(cls) -> dict:
        """Classical baselines ``evaluate --baseline=NAME`` offers: name -> factory(option value)."""
        return {}

    @classmethod
    def score(cls, restorer, clean, value) -> dict[str, float]:
        """``{"psnr_y", "ssim_y", "l1_y"}`` of ``restorer`` on one clean image at option ``value``."""
        raise NotImplementedError

    @classmethod
    def grid_panels(cls, image, restorer, baseline, value, size: int) -> list:
        """The panels of one grid row (uint8 RGB crops of about ``size`` pixels)."""
        raise NotImplementedError

    @classmethod
    def scorer(cls, restorer, value):
        """``clean image -> {"psnr_y", "ssim_y", "l1_y"}`` under this protocol, for a restorer of
        this task; ``value`` is the protocol option (None: the restorer's own), which must be
        the restorer's."""
        value = cls.check_option(getattr(restorer, cls.option, None) if value is None else value)
        own = getattr(restorer, cls.option, value)
        if own != value:
            raise ConfigError(f"the restorer {cls.option_phrase} {own} but the evaluation asks for "
                              f"{cls.option} {value}; pass --{cls.option}={own}.")
        return lambda clean: cls.score(restorer, clean, value)
