"""The five restoration problems of 002_* Table 1 (``configs/gan_prior.py``), as one object each
chosen by name from :data:`PROBLEMS`.

A problem knows, for clean images ``x`` (NHWC in [0, 1]):

- ``corrupt(key, x)``: the corruption process of 002_* Sec. 4.1, giving the observation
  a user would hold (``y01``, in [0, 1] units, unclipped where the process is);
- ``operator``: the forward operator ``A`` of the MAP data term (002_* Sec. 3.2), and
  ``solver_observation(y01)``: the observation on the [-1, 1] scale the generator works on,
  i.e. ``A(2x - 1)`` for the clean image (``2 A(x) - A(1)`` for a linear or positively
  homogeneous ``A`` whose rows sum to ``A(1)``), so that ``|y - A(G(z))|`` compares like
  with like;
- ``input_image(y01)``: the corrupted input as an RGB image (Figure 3's "Input" column and
  the ``corrupted`` row of the results);
- ``blends(y01, generated)``: the optional post-processing (Poisson blending for inpainting,
  the value blend for colourisation), named results beside the raw ``G(z)``;
- ``baseline_operator`` and ``baseline_observation(y01)``: the linear operator and the
  observation on the [0, 1] scale the classical baselines (:mod:`jaxrestore.inverse.baselines`)
  solve with, ``y01 = A x`` (the binary mask for inpainting, not the weighted data-term mask;
  greyscale conversion for colourisation whatever ``task.operator`` the MAP search uses).

The solver defaults are the released code's per-task settings (branch ``extensions`` of
moodoki/semantic_image_inpainting), kept in ``configs/gan_prior.py``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrestore.errors import ConfigError
from jaxrestore.imaging.resize import imresize_jax
from jaxrestore.inverse import blending, corruption
from jaxrestore.inverse import operators as ops


class Problem:
    name = ""
    description = ""
    paper_method = "ours"  # the result 002_* Table 1 reports: G(z) itself, no post-processing
    noisy = False  # whether the observation carries noise (the baselines' settings differ)

    def __init__(self, task_cfg, shape: tuple[int, int, int]):
        self.cfg, self.shape = task_cfg, tuple(int(s) for s in shape)
        self.operator = self._operator()

    def _operator(self) -> ops.Operator:
        raise NotImplementedError

    def corrupt(self, key, x):
        raise NotImplementedError

    def solver_observation(self, y01):
        return 2.0 * y01 - self.operator.A(jnp.ones(self.shape, y01.dtype))

    @property
    def baseline_operator(self) -> ops.Operator:
        return self.operator

    def baseline_observation(self, y01):
        return y01

    @property
    def baseline_scale(self) -> int | None:
        """The super-resolution factor the baselines' settings depend on (None: not a resize)."""
        return None

    def input_image(self, y01):
        return jnp.clip(y01, 0.0, 1.0)

    def blends(self, y01, generated) -> tuple[dict[str, Any], dict[str, float]]:
        """Post-processed results by name and their diagnostics (none by default);
        ``generated`` in [0, 1]."""
        return {}, {}


class Inpaint(Problem):
    """A missing centre ``task.hole`` x ``task.hole`` patch (32 for 64x64 faces). The data term
    uses Yeh et al.'s weighted mask (``task.weighted_mask``, the released code's loss; a 15x15
    box) or the binary mask. Blends: ``overlay`` (G(z) pasted into the hole) and Poisson
    blending (002_* Sec. 3.2, following Yeh et al.)."""

    name, description = "inpaint", "a missing centre patch (Poisson-blended)"
    paper_method = "ours_blend"

    def _operator(self):
        h, w, _ = self.shape
        self.mask = ops.centre_hole_mask(h, w, int(self.cfg.hole))
        weights = ops.weighted_mask(self.mask, 15) if self.cfg.weighted_mask else self.mask
        return ops.Mask.create(weights, self.shape)

    def corrupt(self, key, x):
        return x * jnp.asarray(self.mask)[..., None]

    def solver_observation(self, y01):
        return self.operator.A(2.0 * y01 - 1.0)  # the hole's zeros weigh nothing

    @property
    def baseline_operator(self):
        return ops.Mask.create(self.mask, self.shape)

    def blends(self, y01, generated):
        mask = jnp.asarray(self.mask)
        overlay = jnp.where(mask[..., None] > 0, y01, generated)
        blend = jax.jit(jax.vmap(lambda o, g: blending.poisson_blend(o, g, mask)))
        result = blend(y01, generated)
        return ({"overlay": overlay, "blend": jnp.clip(result.image, 0.0, 1.0)},
                {"poisson_residual_max": float(jnp.max(result.residual))})


class Colorize(Problem):
    """Standard greyscale conversion (0.2989 / 0.5870 / 0.1140). The data term compares the
    greyscale of G(z) (``task.operator = "grey"``, the released code) or its HSV value
    (``"value"``, 002_*'s text) with the grey input. Blend: G(z)'s hue and saturation with
    the input's grey as V (the released ``--blend``)."""

    name, description = "colorize", "greyscale input"

    def _operator(self):
        h, w, _ = self.shape
        kinds = {"grey": ops.Greyscale, "value": ops.HSVValue}
        if self.cfg.operator not in kinds:
            raise ConfigError(f"unknown colorisation operator task.operator={self.cfg.operator!r}; choose "
                              "grey (the released code) or value (HSV V, 002_*'s text).")
        return kinds[self.cfg.operator](height=h, width=w)

    def corrupt(self, key, x):
        return ops.Greyscale(height=self.shape[0], width=self.shape[1]).A(x)

    @property
    def baseline_operator(self):
        return ops.Greyscale(height=self.shape[0], width=self.shape[1])

    def input_image(self, y01):
        return jnp.clip(jnp.repeat(y01, 3, axis=-1), 0.0, 1.0)

    def blends(self, y01, generated):
        return {"blend": jnp.clip(blending.colour_blend(y01, generated), 0.0, 1.0)}, {}


class SuperResolve(Problem):
    """x``task.scale`` downsampling: MATLAB's bicubic (``task.operator = "bicubic"``, float, no
    rounding; the input shown and scored is its bicubic x4 upsampling) or the released code's
    bilinear down-and-up (``"bilinear"``: the observation is already full size)."""

    name, description = "sr", "x4 downsampling"

    def _operator(self):
        kinds = {"bicubic": ops.bicubic_downsample, "bilinear": ops.bilinear_down_up}
        if self.cfg.operator not in kinds:
            raise ConfigError(f"unknown super-resolution operator task.operator={self.cfg.operator!r}; choose "
                              "bicubic (MATLAB imresize) or bilinear (the released code's down-and-up).")
        return kinds[self.cfg.operator](self.shape, int(self.cfg.scale))

    def corrupt(self, key, x):
        return self.operator.A(x)

    @property
    def baseline_scale(self):
        return int(self.cfg.scale)

    def input_image(self, y01):
        if self.cfg.operator == "bilinear":
            return jnp.clip(y01, 0.0, 1.0)
        return jnp.clip(imresize_jax(y01, output_shape=self.shape[:2]), 0.0, 1.0)


class Denoise(Problem):
    """Additive Gaussian noise of ``task.sigma`` (0.1) on [0, 1], not clipped (the released
    code); A is the identity. The input shown and scored is clipped to [0, 1]."""

    name, description = "denoise", "additive Gaussian noise"
    noisy = True

    def _operator(self):
        return ops.Identity(shape=self.shape)

    def corrupt(self, key, x):
        return corruption.gaussian_noise(key, x, float(self.cfg.sigma))


class Quantize(Problem):
    """Each channel to five levels {0, 55, 110, 165, 220}/255 (``task.step`` 55, the released
    code); A is the identity (002_* Sec. 3.2: the step function has no useful gradient)."""

    name, description = "quantize", "5 levels per channel"
    noisy = True

    def _operator(self):
        return ops.Identity(shape=self.shape)

    def corrupt(self, key, x):
        return corruption.quantize(x, int(self.cfg.step))


PROBLEMS: dict[str, type[Problem]] = {cls.name: cls for cls in (Inpaint, Colorize, SuperResolve, Denoise, Quantize)}


def problem_names() -> str:
    return ", ".join(f"{n} ({cls.description})" for n, cls in PROBLEMS.items())


def build_problem(task_cfg, shape) -> Problem:
    name = task_cfg.name
    if name not in PROBLEMS:
        raise ConfigError(f"unknown GAN-prior task {name!r}; choose one of: {problem_names()} "
                          "(e.g. --config=configs/gan_prior.py:task=inpaint).")
    return PROBLEMS[name](task_cfg, shape)


def to_unit(images_pm):
    """[-1, 1] generator output to [0, 1], clipped."""
    return np.clip((np.asarray(images_pm, np.float64) + 1.0) / 2.0, 0.0, 1.0)
