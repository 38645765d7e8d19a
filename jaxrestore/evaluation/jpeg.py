"""The JPEG artifact-removal protocol (task ``"jpeg"``, 000_* Table 1), for each clean image:

1. Y = the rounded uint8 luma (MATLAB ``rgb2ycbcr``; a grey image is its own channel);
2. degraded = Y encoded and decoded as a greyscale JPEG at quality q
   (:mod:`jaxrestore.imaging.jpeg`: Pillow's libjpeg, standard tables);
3. restored = ``restorer(degraded)``, uint8 HxWx1;
4. PSNR (peak 255), Wang et al.'s SSIM and the [0, 1] L1 of restored against Y, no border
   cropped, no size cropping; the folder's figures are the means over its images, plus
   ``psnr_y_std`` as for SR.

The plain-JPEG row is ``--baseline=jpeg`` (:class:`JpegRestorer`); docs/papers/000-constrained.md
gives its figures and what we found about the SSIM column of 000_* Table 1.
"""

from __future__ import annotations

import numpy as np

from jaxrestore.errors import DataError
from jaxrestore.evaluation.base import Protocol, centre_crop, luma_scores, luma_uint8, rgb
from jaxrestore.imaging.jpeg import check_quality, jpeg_compress


class JpegRestorer:
    """The plain-JPEG baseline: returns the decoded JPEG unchanged (000_* Table 1, "JPEG")."""

    task = "jpeg"

    def __init__(self, quality: int):
        self.quality = check_quality(quality)

    def __call__(self, degraded: np.ndarray) -> np.ndarray:
        return np.asarray(degraded)


def degrade_jpeg(image: np.ndarray, *, quality: int) -> np.ndarray:
    """The JPEG task's input: uint8 HxWx1, the greyscale JPEG of the image's rounded luma."""
    return jpeg_compress(luma_uint8(np.asarray(image))[..., None], quality)


def restore_and_score_jpeg(restorer, image: np.ndarray, *, quality: int) -> dict[str, float]:
    """Steps 1-4 of the protocol for one clean image."""
    image = np.asarray(image)
    clean = luma_uint8(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image)
    restored = np.asarray(restorer(jpeg_compress(clean[..., None], quality)))
    if restored.dtype != np.uint8:
        raise DataError(f"the restorer returned {restored.dtype} pixels; it must return uint8 images.")
    if restored.ndim == 3 and restored.shape[-1] == 1:
        restored = restored[..., 0]
    if restored.ndim != 2:
        raise DataError(f"the JPEG task restores the luma channel, but the restorer returned shape "
                        f"{restored.shape}; it must return HxW or HxWx1.")
    return luma_scores(clean, restored, scale=0)


class JpegProtocol(Protocol):
    name, label, option, option_example = "jpeg", "JPEG artifact removal", "quality", 10
    option_phrase = "was trained for JPEG quality"

    @classmethod
    def check_option(cls, value):
        return check_quality(value)

    @classmethod
    def cli_baselines(cls):
        return {"jpeg": JpegRestorer}

    @classmethod
    def score(cls, restorer, clean, value):
        return restore_and_score_jpeg(restorer, clean, quality=value)

    @classmethod
    def grid_panels(cls, image, restorer, baseline, value, size):
        """JPEG | output | clean, on the luma (shown grey)."""
        side = min(size, image.shape[0], image.shape[1]) // 2 * 2
        clean = centre_crop(luma_uint8(rgb(image)), side)
        jpeg = degrade_jpeg(clean, quality=value)
        return [rgb(jpeg), rgb(restorer(jpeg)), rgb(clean)]
