"""Forward operators ``A`` of 002_* and 003_*: pytrees with static ``input_shape`` and
``output_shape``, ``A(x)``, the adjoint ``AT(y)`` and the pseudo-inverse ``pinv(y)`` /
``pinv_solve(y)`` where one exists (:mod:`.base` states the contract). One module per family:
:mod:`.masks` (inpainting), :mod:`.colour` (greyscale, HSV value), :mod:`.resize` (bicubic and
bilinear resizing), :mod:`.sensing` (Gaussian and subsampled-Fourier compressed sensing),
:mod:`.blur` (circular blur). A new operator is one new subclass of :class:`Operator`."""

from jaxrestore.inverse.operators.base import Identity, Operator, check_shape
from jaxrestore.inverse.operators.blur import Blur, uniform_blur, uniform_kernel
from jaxrestore.inverse.operators.colour import GREY_WEIGHTS, Greyscale, HSVValue
from jaxrestore.inverse.operators.masks import Mask, centre_hole_mask, weighted_mask
from jaxrestore.inverse.operators.resize import (SeparableResize, bicubic_downsample, bicubic_upsample,
                                                 bilinear_down_up, bilinear_matrix)
from jaxrestore.inverse.operators.sensing import GaussianCS, SubsampledFourier, check_ratio, fourier_mask

__all__ = ["GREY_WEIGHTS", "Blur", "GaussianCS", "Greyscale", "HSVValue", "Identity", "Mask", "Operator",
           "SeparableResize", "SubsampledFourier", "bicubic_downsample", "bicubic_upsample", "bilinear_down_up",
           "bilinear_matrix", "centre_hole_mask", "check_ratio", "check_shape", "fourier_mask", "uniform_blur",
           "uniform_kernel", "weighted_mask"]
