"""Image-quality metrics matching the reference code used in papers: PSNR and SSIM as MATLAB
computes them, NIQE (:mod:`.niqe`), Ma et al.'s score and the perceptual index (:mod:`.ma`),
LPIPS (003_*'s PS) and FID.

:func:`psnr` and :func:`ssim` take arrays on the ``[0, data_range]`` scale
(255 for uint8 pixels) and compute in float64.
"""

from jaxrestore.metrics import ma, niqe
from jaxrestore.metrics.fid import InceptionFeatures, feature_statistics, fid_of_images, frechet_distance
from jaxrestore.metrics.lpips import lpips_distance, lpips_fn
from jaxrestore.metrics.ma import ma_score, perceptual_index
from jaxrestore.metrics.psnr import mse, psnr
from jaxrestore.metrics.ssim import ssim, ssim_map

__all__ = ["InceptionFeatures", "feature_statistics", "fid_of_images", "frechet_distance", "lpips_distance",
           "lpips_fn", "ma", "ma_score", "mse", "niqe", "perceptual_index", "psnr", "ssim", "ssim_map"]
