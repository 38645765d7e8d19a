"""RRDBNet, the ESRGAN generator (Wang et al., ECCV-W 2018, Fig. 4), used unchanged by 001_*.

Layout: 3x3 conv (``features``); a trunk of ``num_blocks`` Residual-in-Residual
Dense Blocks, each three residual dense blocks (RDB) and a scaled skip,
``x + 0.2 * rdb3(rdb2(rdb1(x)))``; an RDB has five 3x3 convs with dense
connections (conv k sees the concatenation of the block input and the k-1
previous outputs, ``growth`` channels each, LeakyReLU 0.2 after conv1..conv4,
conv5 back to ``features``) and returns ``x + 0.2 * conv5``; a trunk conv whose
output is added to the first conv's; one upsampling stage per factor 2 of the
scale [nearest-neighbour x2, 3x3 conv, LeakyReLU 0.2]; a 3x3 conv + LeakyReLU
0.2 and a last 3x3 conv to RGB. Every conv has a bias and zero padding; there is
no normalisation, so ``train`` changes nothing (it is accepted for the shared
generator interface).

Conventions: input LR and output HR are NHWC RGB in [0, 1] (ESRGAN trains on
[0, 1] images); the output is unclipped. The convolutions inside the dense blocks
start at 0.1 x He-normal ("smaller initialisation", Wang et al. Sec. 3.1), the
others at Flax's default. The parameter names follow BasicSR's (``conv_first``,
``block{i}/rdb{j}/conv{k}``, ``conv_body``, ``conv_up{u}``, ``conv_hr``,
``conv_last``); ``jaxrestore.weights.rrdbnet`` maps the authors' weight files onto
them.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from jaxrestore.errors import ConfigError

# He-normal scaled by 0.1: variance 2 / fan_in * 0.1 ** 2 (ESRGAN's default_init_weights(scale=0.1)).
DENSE_INIT = nn.initializers.variance_scaling(0.02, "fan_in", "normal")


def conv3x3(features: int, name: str, kernel_init=nn.initializers.lecun_normal()) -> nn.Conv:
    return nn.Conv(features, (3, 3), padding=((1, 1), (1, 1)), kernel_init=kernel_init, name=name)


def upsample_stages(scale: int) -> int:
    """Number of nearest-neighbour x2 stages for ``scale`` (1, 2 or 4)."""
    stages = {1: 0, 2: 1, 4: 2}
    if scale not in stages:
        raise ConfigError(f"RRDBNet supports scale 1, 2 or 4 (one x2 upsampling stage per factor 2), "
                          f"got {scale}; set config.task.scale to one of these.")
    return stages[scale]


def upsample_nearest(x: jnp.ndarray, factor: int = 2) -> jnp.ndarray:
    """NHWC nearest-neighbour upsampling (PyTorch's ``F.interpolate(mode="nearest")``)."""
    return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs; returns ``x + residual_scale * conv5(...)``."""

    features: int
    growth: int
    residual_scale: float = 0.2

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        inputs = [x]
        for k in range(1, 5):
            y = conv3x3(self.growth, f"conv{k}", DENSE_INIT)(jnp.concatenate(inputs, axis=-1))
            inputs.append(nn.leaky_relu(y, 0.2))
        y = conv3x3(self.features, "conv5", DENSE_INIT)(jnp.concatenate(inputs, axis=-1))
        return x + self.residual_scale * y


class RRDB(nn.Module):
    """Residual-in-residual dense block: ``x + residual_scale * rdb3(rdb2(rdb1(x)))``."""

    features: int
    growth: int
    residual_scale: float = 0.2

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        y = x
        for j in range(1, 4):
            y = ResidualDenseBlock(self.features, self.growth, self.residual_scale, name=f"rdb{j}")(y)
        return x + self.residual_scale * y


class RRDBNet(nn.Module):
    """ESRGAN generator; ``__call__(lr, train=...)`` maps NHWC LR in [0,1] to HR (x ``scale``)."""

    scale: int = 4
    features: int = 64
    num_blocks: int = 23
    growth: int = 32
    residual_scale: float = 0.2
    remat: bool = False  # recompute each RRDB's activations in the backward pass

    channels = 3  # RGB in and out (read by jaxrestore.evaluation.restorers)
    size_multiple = 1  # any input size works

    @property
    def receptive_radius(self) -> int:
        """Input pixels on each side that can change an output pixel, counting conv_first, 15 3x3 convs per
        RRDB, conv_body, then the upsampling convs and conv_hr / conv_last at higher resolutions."""
        stages = upsample_stages(self.scale)
        return math.ceil(2 + 15 * self.num_blocks + sum(0.5 ** u for u in range(1, stages + 1))
                         + 2 * 0.5 ** stages)

    @nn.compact
    def __call__(self, lr: jnp.ndarray, *, train: bool = False) -> jnp.ndarray:
        del train  # no normalisation or dropout
        stages = upsample_stages(self.scale)
        x = head = conv3x3(self.features, "conv_first")(lr)
        block = nn.remat(RRDB) if self.remat else RRDB
        for i in range(self.num_blocks):
            x = block(self.features, self.growth, self.residual_scale, name=f"block{i}")(x)
        x = conv3x3(self.features, "conv_body")(x) + head
        for u in range(1, stages + 1):
            x = nn.leaky_relu(conv3x3(self.features, f"conv_up{u}")(upsample_nearest(x)), 0.2)
        x = nn.leaky_relu(conv3x3(self.features, "conv_hr")(x), 0.2)
        return conv3x3(3, "conv_last")(x)
