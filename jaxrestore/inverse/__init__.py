"""The inverse-problems half: restoring an image from ``y = A(x) (+ noise)`` with a trained GAN
prior or a classical baseline, trained nothing.

Everything a user calls from Python is exported here (and listed in ``__all__``), so code and
docs import from ``jaxrestore.inverse`` whatever file it lives in:

- operators (:mod:`.operators`): ``Operator`` and the masks, colour, resize, compressed-sensing
  and blur operators of 002_* and 003_*;
- solvers (:mod:`.solvers`): ``map_search`` (002_*), ``csgm``, ``iagan`` and ``back_project``
  (003_*) with their options, on one iteration skeleton;
- baselines (:mod:`.baselines`): TV, low rank, sparse coding, Deep Image Prior;
- priors (:mod:`.priors`): ``load_prior`` reads a trained run or a converted PGGAN;
- corruption processes (:mod:`.corruption`) and Poisson / colour blending (:mod:`.blending`).

The two experiment commands of 002_* and 003_* (``configs/gan_prior.py``, ``configs/iagan.py``)
live in :mod:`.experiments`.
"""

from jaxrestore.inverse.baselines import (DIPOptions, LowRankOptions, SparseOptions, TVOptions, dip_restore,
                                          lowrank_restore, sparse_restore, tv_restore)
from jaxrestore.inverse.blending import colour_blend, poisson_blend
from jaxrestore.inverse.corruption import gaussian_noise, quantize
from jaxrestore.inverse.operators import (GREY_WEIGHTS, Blur, GaussianCS, Greyscale, HSVValue, Identity, Mask,
                                          Operator, SeparableResize, SubsampledFourier, bicubic_downsample,
                                          bicubic_upsample, bilinear_down_up, centre_hole_mask, check_shape,
                                          fourier_mask, uniform_blur, weighted_mask)
from jaxrestore.inverse.priors import Prior, load_prior
from jaxrestore.inverse.solvers import (CSGMOptions, IAGANOptions, LatentResult, MAPOptions, back_project, csgm,
                                        iagan, map_search)

__all__ = [
    # operators
    "GREY_WEIGHTS", "Blur", "GaussianCS", "Greyscale", "HSVValue", "Identity", "Mask", "Operator", "SeparableResize",
    "SubsampledFourier", "bicubic_downsample", "bicubic_upsample", "bilinear_down_up", "centre_hole_mask",
    "check_shape", "fourier_mask", "uniform_blur", "weighted_mask",
    # solvers
    "CSGMOptions", "IAGANOptions", "LatentResult", "MAPOptions", "back_project", "csgm", "iagan", "map_search",
    # baselines
    "DIPOptions", "LowRankOptions", "SparseOptions", "TVOptions", "dip_restore", "lowrank_restore",
    "sparse_restore", "tv_restore",
    # priors, corruption, blending
    "Prior", "colour_blend", "gaussian_noise", "load_prior", "poisson_blend", "quantize",
]
