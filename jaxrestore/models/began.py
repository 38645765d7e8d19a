"""BEGAN generator and discriminator (Berthelot, Schumm, Metz 2017) in the layout of
carpedm20's BEGAN-tensorflow, the 128x128 CelebA prior of 003_* (z of 64 numbers, U(-1, 1)).

Decoder (the generator, and the second half of D): linear z -> 8x8xn (no activation), then
``blocks`` blocks of two 3x3 convolutions with ELU, nearest-neighbour x2 upsampling between
blocks, and a last 3x3 convolution to 3 channels with no activation. ``blocks = log2(size) - 2``:
5 for 128x128 (8 -> 16 -> 32 -> 64 -> 128), 4 for 64x64. With n = 128 the 128x128 generator has
2,011,779 parameters.

Discriminator: an autoencoder. Encoder: a 3x3 convolution to n (ELU), then ``blocks`` blocks of
two 3x3 convolutions to n, 2n, 3n, ... (ELU), each block but the last followed by a 3x3 stride-2
convolution (ELU, SAME padding as TensorFlow's: no row or column before, one after), flattened,
linear to a code h of 64 numbers (no activation); then a decoder of the generator's layout. Its
output is the reconstruction of its input. 128x128, n = 128: 23,221,443 parameters (64x64:
G 1,716,611, D 13,405,379).

Images are NHWC in [-1, 1] (the data's scaling); the outputs are linear (no tanh), so callers
clip at their edge. Weights start from Glorot-uniform, biases from 0 (TF-slim's defaults).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from jaxrestore.errors import ConfigError

INIT = nn.initializers.xavier_uniform()
BASE = 8  # the decoder starts from 8x8, the encoder ends there


def num_blocks(size: int) -> int:
    """Blocks of a BEGAN for ``size`` x ``size`` images: log2(size) - 2 (5 at 128, 4 at 64)."""
    size = int(size)
    if size < 2 * BASE or size & (size - 1):
        raise ConfigError(f"a BEGAN makes images whose side is a power of two from 16 (8x8 doubled per "
                          f"block), not {size}; set data.patch_size to 64 or 128.")
    return int(math.log2(size)) - 2


def _conv(features: int, name: str, stride: int = 1) -> nn.Conv:
    return nn.Conv(features, (3, 3), strides=(stride, stride), padding="SAME", kernel_init=INIT, name=name)


def upsample2x(x):
    """Nearest-neighbour x2 (``tf.image.resize_nearest_neighbor`` to twice the size)."""
    return jnp.repeat(jnp.repeat(x, 2, axis=-3), 2, axis=-2)


class BEGANDecoder(nn.Module):
    """code -> image: the generator's layout (module docstring)."""

    features: int = 128
    size: int = 128
    channels: int = 3

    @nn.compact
    def __call__(self, code):
        n, blocks = self.features, num_blocks(self.size)
        x = nn.Dense(BASE * BASE * n, kernel_init=INIT, name="project")(code)
        x = x.reshape(code.shape[:-1] + (BASE, BASE, n))
        for i in range(blocks):
            x = nn.elu(_conv(n, f"block{i}_conv0")(x))
            x = nn.elu(_conv(n, f"block{i}_conv1")(x))
            if i < blocks - 1:
                x = upsample2x(x)
        return _conv(self.channels, "out")(x)


class BEGANEncoder(nn.Module):
    """image -> code h (module docstring)."""

    features: int = 128
    size: int = 128
    code_dim: int = 64

    @nn.compact
    def __call__(self, x):
        n, blocks = self.features, num_blocks(self.size)
        if x.shape[-3:-1] != (self.size, self.size):
            raise ConfigError(f"this BEGAN discriminator takes {self.size}x{self.size} images, got "
                              f"{x.shape[-3]}x{x.shape[-2]}; match data.patch_size to the model.")
        x = nn.elu(_conv(n, "in")(x))
        for i in range(blocks):
            width = n * (i + 1)
            x = nn.elu(_conv(width, f"block{i}_conv0")(x))
            x = nn.elu(_conv(width, f"block{i}_conv1")(x))
            if i < blocks - 1:
                x = nn.elu(_conv(width, f"block{i}_down", stride=2)(x))
        x = x.reshape(x.shape[:-3] + (-1,))
        return nn.Dense(self.code_dim, kernel_init=INIT, name="code")(x)


class BEGANGenerator(nn.Module):
    """z (N, z_dim) -> images (N, size, size, 3), linear values on the data's [-1, 1] scale.
    ``train`` is accepted for the shared generator call signature and changes nothing."""

    z_dim: int = 64
    features: int = 128
    size: int = 128

    @nn.compact
    def __call__(self, z, *, train: bool = False):
        del train
        return BEGANDecoder(self.features, self.size, name="decoder")(z)


class BEGANDiscriminator(nn.Module):
    """images (N, size, size, 3) in [-1, 1] -> their reconstructions (the autoencoder D)."""

    features: int = 128
    size: int = 128
    code_dim: int = 64

    def setup(self):
        self.encoder = BEGANEncoder(self.features, self.size, self.code_dim)
        self.decoder = BEGANDecoder(self.features, self.size)

    def __call__(self, x, *, train: bool = False):
        del train
        return self.decoder(self.encoder(x))

    def encode(self, x):
        return self.encoder(x)

    def decode(self, code):
        return self.decoder(code)

