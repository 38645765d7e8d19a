"""PGGAN generator (Karras et al. 2017, "Progressive growing of GANs", arXiv:1710.10196),
in the layout of the PyTorch inference port ptrblck/prog_gans_pytorch_inference that
003_*'s official IAGAN code loads its CelebA-HQ 1024x1024 prior through.

Layout (names follow the port's ``features.N`` / ``output`` keys as ``features_N`` /
``output``). Every block is [pixel norm -> (nearest x2) -> conv without bias -> wscale
(``x * scale + b``, ``scale`` one learned number, ``b`` one per channel)], then leaky ReLU
0.2 except after ``output``:

* ``features_0``: z (N, latent_dim) as a 1x1 image, 4x4 conv with padding 3 -> 4x4
  (the paper's dense layer written as a convolution); ``features_1``: 3x3 conv at 4x4;
* per doubling 8, 16, ..., resolution: ``features_{2l}`` upsamples and convolves 3x3,
  ``features_{2l+1}`` convolves 3x3 again; widths min(512, 16384 / r) at size r:
  512 up to 32x32, then 256, 128, 64, 32, 16 at 1024x1024 (18 blocks);
* ``output``: 1x1 conv to RGB with its own wscale; no tanh and no clip.

The first pixel norm normalises z to unit RMS, so the output does not depend on |z|.
Output: NHWC RGB nominally in [-1, 1] but unclipped, as the port gives it; callers map
to [0, 1] at their edge. At 1024x1024 there are 23,071,526 parameters, the 19 ``scale``
numbers included (they are parameters in the port; freezing them is the solver's choice).
Initialisation is PGGAN's equalised learning rate: kernels N(0, 1), ``scale`` = the He
constant sqrt(2 / fan_in) (sqrt(1 / fan_in) for ``output``), ``b`` = 0.

Memory (float32, 1024x1024): a forward + backward pass with respect to (z, params) keeps
the activations of every block, and the 16- and 32-channel blocks at 1024 and 512 dominate:
one 16x1024x1024 tensor is 67 MB and the upsampled 32x1024x1024 input of ``features_16``
134 MB. The weights are 92 MB; when each image optimises its own copy (IAGAN under
``vmap``), add 4 x 92 MB per image for weights, gradients and Adam's two moments
(measured memory per image: docs/papers/003-iagan.md).
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrestore.errors import ConfigError

LEAKY_SLOPE = 0.2
PIXEL_NORM_EPS = 1e-8  # the port's (and PGGAN's) epsilon inside the square root


def default_widths(resolution: int, *, max_channels: int = 512, channel_base: int = 16384) -> tuple[int, ...]:
    """Channels at 4x4, 8x8, ..., ``resolution``: PGGAN's min(max_channels, channel_base / r)."""
    check_resolution(resolution)
    return tuple(min(max_channels, channel_base // 2 ** k) for k in range(2, resolution.bit_length()))


def check_resolution(resolution: int) -> int:
    """Number of levels (4x4, 8x8, ..., resolution) of a power-of-two ``resolution`` >= 4;
    ConfigError for any other value."""
    if not isinstance(resolution, int) or resolution < 4 or resolution & (resolution - 1):
        raise ConfigError(f"PGGAN resolution {resolution!r} is not a power of two >= 4; use e.g. 1024 "
                          "(CelebA-HQ) or a smaller power of two for a truncated network.")
    return resolution.bit_length() - 2


def pixel_norm(x):
    """x / sqrt(mean over channels of x^2 + 1e-8), per pixel (Karras et al. Sec. 4.2); NHWC."""
    return x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + PIXEL_NORM_EPS)


def upsample_nearest2x(x):
    """Nearest-neighbour x2 of an NHWC batch (each pixel copied to a 2x2 block)."""
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


class WScale(nn.Module):
    """The port's WScaleLayer: ``x * scale + b`` with a learned scalar ``scale`` (shape (1,))
    and a per-channel bias ``b``; with an unscaled N(0, 1) kernel this is PGGAN's
    equalised learning rate (Karras et al. Sec. 4.1)."""

    scale_init: float = 1.0

    @nn.compact
    def __call__(self, x):
        scale = self.param("scale", nn.initializers.constant(self.scale_init), (1,))
        b = self.param("b", nn.initializers.zeros, (x.shape[-1],))
        return x * scale.astype(x.dtype) + b.astype(x.dtype)


class NormConvBlock(nn.Module):
    """pixel norm -> (nearest x2) -> bias-free conv -> WScale -> (leaky ReLU 0.2): one of the
    port's ``features.N`` blocks (``activation=False`` for its ``output`` block)."""

    features: int
    kernel_size: int = 3
    padding: int = 1
    upsample: bool = False
    activation: bool = True
    gain: float = 2.0  # He's gain^2: 2 before a leaky ReLU, 1 for the linear RGB output
    precision: Any = None

    @nn.compact
    def __call__(self, x):
        fan_in = self.kernel_size ** 2 * x.shape[-1]
        x = pixel_norm(x)
        if self.upsample:
            x = upsample_nearest2x(x)
        k, p = self.kernel_size, self.padding
        x = nn.Conv(self.features, (k, k), padding=((p, p), (p, p)), use_bias=False,
                    kernel_init=nn.initializers.normal(1.0), precision=self.precision, name="conv")(x)
        x = WScale(scale_init=math.sqrt(self.gain / fan_in), name="wscale")(x)
        return nn.leaky_relu(x, LEAKY_SLOPE) if self.activation else x


class PGGANGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, resolution, resolution, 3), nominally in [-1, 1].

    ``resolution`` (a power of two >= 4) truncates the network after that level: the port's
    first blocks with the 1024x1024 network's widths, and an ``output`` block reading the
    last width. ``widths`` (one per level 4, 8, ..., resolution) defaults to PGGAN's;
    tests pass narrow ones. ``train`` changes nothing (no batch statistics); it is accepted
    for the shared generator interface.
    """

    resolution: int = 1024
    latent_dim: int = 512
    widths: tuple[int, ...] | None = None
    precision: Any = None

    def level_widths(self) -> tuple[int, ...]:
        levels = check_resolution(self.resolution)
        widths = default_widths(self.resolution) if self.widths is None else tuple(self.widths)
        if len(widths) != levels:
            raise ConfigError(f"PGGAN widths {widths} give {len(widths)} levels but resolution "
                              f"{self.resolution} has {levels} (4x4 to {self.resolution}x{self.resolution}); "
                              "pass one width per level or widths=None.")
        return widths

    @nn.compact
    def __call__(self, z, train: bool = False):
        del train
        if z.ndim != 2 or z.shape[-1] != self.latent_dim:
            raise ConfigError(f"PGGAN latents have shape {tuple(z.shape)}; pass (N, {self.latent_dim}).")
        widths = self.level_widths()
        kw = dict(precision=self.precision)
        x = z[:, None, None, :]
        x = NormConvBlock(widths[0], kernel_size=4, padding=3, name="features_0", **kw)(x)
        x = NormConvBlock(widths[0], name="features_1", **kw)(x)
        for level, width in enumerate(widths[1:], start=1):
            x = NormConvBlock(width, upsample=True, name=f"features_{2 * level}", **kw)(x)
            x = NormConvBlock(width, name=f"features_{2 * level + 1}", **kw)(x)
        return NormConvBlock(3, kernel_size=1, padding=0, activation=False, gain=1.0, name="output", **kw)(x)


def make_generator_fn(generator: PGGANGenerator):
    """``generator_fn(variables, z) -> images`` for the solvers: ``variables`` is
    ``{"params": ...}`` (what ``jaxrestore.weights.pggan.load_pggan_variables`` returns, every
    leaf a parameter), z is (N, latent_dim), images (N, R, R, 3) nominally in [-1, 1]."""
    return lambda variables, z: generator.apply(variables, z)


def wscale_scale_mask(params):
    """A pytree of bools like ``params``, True at the ``wscale/scale`` leaves (19 at 1024x1024),
    e.g. for ``optax.masked`` in a solver that keeps the port's scales fixed."""
    return jax.tree_util.tree_map_with_path(lambda path, _: _names(path)[-2:] == ("wscale", "scale"), params)


def wscale_scale_paths(params) -> list[tuple[str, ...]]:
    """Paths (tuples of names, e.g. ("features_0", "wscale", "scale")) of the scale leaves."""
    return [_names(path) for path, leaf in jax.tree_util.tree_leaves_with_path(wscale_scale_mask(params)) if leaf]


def _names(path) -> tuple[str, ...]:
    return tuple(str(getattr(k, "key", k)) for k in path)
