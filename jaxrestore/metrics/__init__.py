"""Image-quality metrics matching the MATLAB reference code used in papers.

:func:`psnr` and :func:`ssim` take arrays on the ``[0, data_range]`` scale
(255 for uint8 pixels) and compute in float64.
"""

from jaxrestore.metrics.psnr import mse, psnr
from jaxrestore.metrics.ssim import ssim, ssim_map

__all__ = ["mse", "psnr", "ssim", "ssim_map"]
