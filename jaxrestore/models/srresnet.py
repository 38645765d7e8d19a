"""SRResNet, the SRGAN generator (Ledig et al., CVPR 2017, Fig. 4), as used unchanged by 000_*.

Layout: 9x9 conv (64) + PReLU; B residual blocks [3x3 conv, BN, PReLU, 3x3 conv,
BN, + skip]; 3x3 conv, BN, + long skip; log2(scale) sub-pixel upsamplers
[3x3 conv to 4*64 channels, pixel shuffle x2, PReLU]; 9x9 conv to 3 channels.

Conventions: input LR in [0, 1] (Ledig et al. scale LR to [0, 1]); the last conv
predicts the HR image in [-1, 1] (their HR range) and the module returns it
mapped back to [0, 1], unclipped. ``bicubic_skip`` (off in every paper config)
adds the MATLAB-bicubic upsampled input to the output, so the network learns a
residual over bicubic (global residual learning as in VDSR); the offline
``quick`` presets use it so that a few hundred CPU steps of a small model
already beat bicubic. PReLU has one slope per layer and BatchNorm
uses PyTorch's momentum/epsilon (0.1 / 1e-5), so weights map one-to-one onto the
common PyTorch ports. Padding is explicit and symmetric, as in PyTorch.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from jaxrestore.imaging.resize import imresize_jax


def pixel_shuffle(x: jnp.ndarray, factor: int) -> jnp.ndarray:
    """NHWC sub-pixel shuffle with PyTorch's channel order (c * r * r + i * r + j)."""
    b, h, w, c = x.shape
    out_c = c // (factor * factor)
    x = x.reshape(b, h, w, out_c, factor, factor)
    x = x.transpose(0, 1, 4, 2, 5, 3)
    return x.reshape(b, h * factor, w * factor, out_c)


def conv(features: int, kernel: int, name: str | None = None, stride: int = 1) -> nn.Conv:
    pad = kernel // 2
    return nn.Conv(features, (kernel, kernel), strides=(stride, stride),
                   padding=((pad, pad), (pad, pad)), name=name)


def batch_norm(train: bool, name: str | None = None) -> nn.BatchNorm:
    # Flax momentum is the decay of the running average: PyTorch momentum 0.1 == 0.9 here.
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)


def upsample_factors(scale: int) -> list[int]:
    """Sub-pixel stages: x2 stages for powers of two, one x3 stage for 3."""
    if scale == 3:
        return [3]
    if scale >= 2 and scale & (scale - 1) == 0:
        return [2] * int(math.log2(scale))
    raise ValueError(f"scale must be 2, 3, 4 or 8, got {scale}")


class ResidualBlock(nn.Module):
    features: int

    @nn.compact
    def __call__(self, x, train: bool):  # positional train: nn.remat takes it as a static argument
        y = conv(self.features, 3)(x)
        y = batch_norm(train)(y)
        y = nn.PReLU(negative_slope_init=0.25)(y)
        y = conv(self.features, 3)(y)
        y = batch_norm(train)(y)
        return x + y


class SRResNet(nn.Module):
    """SRGAN generator; ``__call__(lr, train=...)`` maps NHWC LR in [0,1] to HR in [0,1]."""

    scale: int = 4
    num_blocks: int = 16
    features: int = 64
    bicubic_skip: bool = False
    remat: bool = False  # recompute each residual block's activations in the backward pass

    @property
    def receptive_radius(self) -> int:
        """Input pixels on each side that can change an output pixel, counting the 9x9 head (4), two 3x3
        convs per block, the body conv, each sub-pixel stage's conv at its resolution and the 9x9
        tail at the output's (4 / scale)."""
        stages = upsample_factors(self.scale)
        up = sum(1 / math.prod(stages[:i]) for i in range(len(stages)))  # stage i runs at prod(stages[:i])
        return math.ceil(4 + 2 * self.num_blocks + 1 + up + 4 / self.scale)

    @nn.compact
    def __call__(self, lr: jnp.ndarray, *, train: bool = False) -> jnp.ndarray:
        x = conv(self.features, 9, name="head")(lr)
        x = head = nn.PReLU(negative_slope_init=0.25)(x)
        block = nn.remat(ResidualBlock, static_argnums=(2,)) if self.remat else ResidualBlock
        for i in range(self.num_blocks):
            x = block(self.features, name=f"block{i}")(x, train)
        x = conv(self.features, 3, name="body_conv")(x)
        x = batch_norm(train, name="body_bn")(x) + head
        for i, factor in enumerate(upsample_factors(self.scale)):
            x = conv(self.features * factor * factor, 3, name=f"up{i}_conv")(x)
            x = pixel_shuffle(x, factor)
            x = nn.PReLU(negative_slope_init=0.25, name=f"up{i}_prelu")(x)
        if self.bicubic_skip:  # start exactly at bicubic: the residual branch begins at zero
            pad = ((4, 4), (4, 4))
            x = nn.Conv(3, (9, 9), padding=pad, kernel_init=nn.initializers.zeros, name="tail")(x)
            return imresize_jax(lr, self.scale) + x * 0.5
        x = conv(3, 9, name="tail")(x)
        return (x + 1.0) * 0.5
