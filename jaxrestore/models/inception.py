"""Inception-v3 as used for the Fréchet Inception distance ("FID Inception").

FID (Heusel et al., 2017, Eq. 6) compares the 2048-d "pool3" features of this
network, whose weights are those of the TensorFlow graph of 2015-12-05 (the one
the original TTUR code used), as ported to PyTorch by pytorch-fid. That graph
differs from torchvision's Inception-v3 in its pools: the 3x3 average pools of the
``branch_pool`` of InceptionA, InceptionC and the first InceptionE (``Mixed_7b``)
do not count the zero padding, and the second InceptionE (``Mixed_7c``) uses a
3x3 max pool there instead.

Submodules carry the PyTorch names (``Conv2d_1a_3x3``, ``Mixed_5b.branch1x1``, ...,
each ``conv`` + ``bn``), so :mod:`jaxrestore.weights.inception` maps a state dict
by renaming alone. The network is inference-only: batch norm always uses its
running statistics.

Images are NHWC float32 RGB in [0, 1]; the module scales them to [-1, 1] itself.
For FID they must first be resized to 299x299 with bilinear interpolation
(half-pixel centres, no antialiasing) — :func:`jaxrestore.metrics.fid.resize_bilinear`
does that on the host.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxrestore.errors import DataError

FID_SIZE = 299
"""Height and width of the images FID feeds the network."""

MIN_SIZE = 75
"""Smallest height/width the stride-2 valid convolutions and pools can reduce to 1x1."""

BN_EPSILON = 1e-3
POOL3_FEATURES = 2048


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm (eps 0.001), ReLU; ``padding`` is (pad_h, pad_w)."""

    features: int
    kernel_size: tuple[int, int]
    strides: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dtype: Any = jnp.float32
    precision: Any = None

    @nn.compact
    def __call__(self, x):
        ph, pw = self.padding
        x = nn.Conv(
            self.features,
            self.kernel_size,
            strides=self.strides,
            padding=((ph, ph), (pw, pw)),
            use_bias=False,
            dtype=self.dtype,
            precision=self.precision,
            name="conv",
        )(x)
        x = nn.BatchNorm(use_running_average=True, epsilon=BN_EPSILON, dtype=self.dtype, name="bn")(x)
        return nn.relu(x)


class _Block(nn.Module):
    """Base of the blocks and the network: ``self.conv(name, features, kernel, ...)`` makes a layer."""

    dtype: Any = jnp.float32
    precision: Any = None

    def conv(self, name: str, features: int, kernel, strides=1, padding=0) -> BasicConv2d:
        pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        return BasicConv2d(
            features, pair(kernel), strides=pair(strides), padding=pair(padding),
            dtype=self.dtype, precision=self.precision, name=name,
        )


def _avg_pool_3x3_same(x):
    """3x3 average, stride 1, pad 1, averaging only the pixels inside the image (TF's avg_pool)."""
    return nn.avg_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool_3x3_same(x):
    return nn.max_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)))


def _max_pool_3x3_s2(x):
    return nn.max_pool(x, (3, 3), strides=(2, 2), padding="VALID")


class InceptionA(_Block):
    """Mixed_5b/5c/5d: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1; 224 + pool_features channels."""

    pool_features: int = 32

    @nn.compact
    def __call__(self, x):
        b1 = self.conv("branch1x1", 64, 1)(x)
        b5 = self.conv("branch5x5_1", 48, 1)(x)
        b5 = self.conv("branch5x5_2", 64, 5, padding=2)(b5)
        b3 = self.conv("branch3x3dbl_1", 64, 1)(x)
        b3 = self.conv("branch3x3dbl_2", 96, 3, padding=1)(b3)
        b3 = self.conv("branch3x3dbl_3", 96, 3, padding=1)(b3)
        bp = self.conv("branch_pool", self.pool_features, 1)(_avg_pool_3x3_same(x))
        return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(_Block):
    """Mixed_6a (grid 35 -> 17): 3x3/2 | 1x1-3x3-3x3/2 | maxpool/2; 384 + 96 + input channels."""

    @nn.compact
    def __call__(self, x):
        b3 = self.conv("branch3x3", 384, 3, strides=2)(x)
        bd = self.conv("branch3x3dbl_1", 64, 1)(x)
        bd = self.conv("branch3x3dbl_2", 96, 3, padding=1)(bd)
        bd = self.conv("branch3x3dbl_3", 96, 3, strides=2)(bd)
        return jnp.concatenate([b3, bd, _max_pool_3x3_s2(x)], axis=-1)


class InceptionC(_Block):
    """Mixed_6b-6e: factorised 7x7 branches of width ``channels_7x7``; 768 channels out."""

    channels_7x7: int = 128

    @nn.compact
    def __call__(self, x):
        c7 = self.channels_7x7
        b1 = self.conv("branch1x1", 192, 1)(x)
        b7 = self.conv("branch7x7_1", c7, 1)(x)
        b7 = self.conv("branch7x7_2", c7, (1, 7), padding=(0, 3))(b7)
        b7 = self.conv("branch7x7_3", 192, (7, 1), padding=(3, 0))(b7)
        bd = self.conv("branch7x7dbl_1", c7, 1)(x)
        bd = self.conv("branch7x7dbl_2", c7, (7, 1), padding=(3, 0))(bd)
        bd = self.conv("branch7x7dbl_3", c7, (1, 7), padding=(0, 3))(bd)
        bd = self.conv("branch7x7dbl_4", c7, (7, 1), padding=(3, 0))(bd)
        bd = self.conv("branch7x7dbl_5", 192, (1, 7), padding=(0, 3))(bd)
        bp = self.conv("branch_pool", 192, 1)(_avg_pool_3x3_same(x))
        return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(_Block):
    """Mixed_7a (grid 17 -> 8): 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | maxpool/2; 320 + 192 + input."""

    @nn.compact
    def __call__(self, x):
        b3 = self.conv("branch3x3_1", 192, 1)(x)
        b3 = self.conv("branch3x3_2", 320, 3, strides=2)(b3)
        b7 = self.conv("branch7x7x3_1", 192, 1)(x)
        b7 = self.conv("branch7x7x3_2", 192, (1, 7), padding=(0, 3))(b7)
        b7 = self.conv("branch7x7x3_3", 192, (7, 1), padding=(3, 0))(b7)
        b7 = self.conv("branch7x7x3_4", 192, 3, strides=2)(b7)
        return jnp.concatenate([b3, b7, _max_pool_3x3_s2(x)], axis=-1)


class InceptionE(_Block):
    """Mixed_7b/7c: 1x1 | 1x1-(1x3,3x1) | 1x1-3x3-(1x3,3x1) | pool-1x1; 2048 channels out.

    ``pool`` is ``"avg"`` (Mixed_7b, padding not counted) or ``"max"`` (Mixed_7c).
    """

    pool: str = "avg"

    @nn.compact
    def __call__(self, x):
        b1 = self.conv("branch1x1", 320, 1)(x)
        b3 = self.conv("branch3x3_1", 384, 1)(x)
        b3 = jnp.concatenate(
            [
                self.conv("branch3x3_2a", 384, (1, 3), padding=(0, 1))(b3),
                self.conv("branch3x3_2b", 384, (3, 1), padding=(1, 0))(b3),
            ],
            axis=-1,
        )
        bd = self.conv("branch3x3dbl_1", 448, 1)(x)
        bd = self.conv("branch3x3dbl_2", 384, 3, padding=1)(bd)
        bd = jnp.concatenate(
            [
                self.conv("branch3x3dbl_3a", 384, (1, 3), padding=(0, 1))(bd),
                self.conv("branch3x3dbl_3b", 384, (3, 1), padding=(1, 0))(bd),
            ],
            axis=-1,
        )
        pooled = _max_pool_3x3_same(x) if self.pool == "max" else _avg_pool_3x3_same(x)
        bp = self.conv("branch_pool", 192, 1)(pooled)
        return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class FIDInceptionV3(_Block):
    """Inception-v3 up to the global average pool: NHWC RGB in [0, 1] -> (N, 2048) pool3 features.

    Attributes:
      dtype: computation dtype (parameters stay float32).
      precision: passed to every convolution; FID wants full float32
        (``jax.lax.Precision.HIGHEST``) on accelerators whose default is lower.
    """

    @nn.compact
    def __call__(self, x):
        if x.ndim != 4 or x.shape[-1] != 3 or min(x.shape[1:3]) < MIN_SIZE:
            raise DataError(
                f"The FID Inception network expects an NHWC RGB batch of at least "
                f"{MIN_SIZE}x{MIN_SIZE} (FID uses {FID_SIZE}x{FID_SIZE}) but got shape "
                f"{tuple(x.shape)}; resize with jaxrestore.metrics.fid.resize_bilinear."
            )
        kw = dict(dtype=self.dtype, precision=self.precision)
        conv = self.conv

        h = 2.0 * jnp.asarray(x, self.dtype) - 1.0
        h = conv("Conv2d_1a_3x3", 32, 3, strides=2)(h)  # 299 -> 149
        h = conv("Conv2d_2a_3x3", 32, 3)(h)  # 147
        h = conv("Conv2d_2b_3x3", 64, 3, padding=1)(h)
        h = _max_pool_3x3_s2(h)  # 73
        h = conv("Conv2d_3b_1x1", 80, 1)(h)
        h = conv("Conv2d_4a_3x3", 192, 3)(h)  # 71
        h = _max_pool_3x3_s2(h)  # 35
        h = InceptionA(pool_features=32, name="Mixed_5b", **kw)(h)  # 256 channels
        h = InceptionA(pool_features=64, name="Mixed_5c", **kw)(h)  # 288
        h = InceptionA(pool_features=64, name="Mixed_5d", **kw)(h)  # 288
        h = InceptionB(name="Mixed_6a", **kw)(h)  # 17x17x768
        h = InceptionC(channels_7x7=128, name="Mixed_6b", **kw)(h)
        h = InceptionC(channels_7x7=160, name="Mixed_6c", **kw)(h)
        h = InceptionC(channels_7x7=160, name="Mixed_6d", **kw)(h)
        h = InceptionC(channels_7x7=192, name="Mixed_6e", **kw)(h)
        h = InceptionD(name="Mixed_7a", **kw)(h)  # 8x8x1280
        h = InceptionE(pool="avg", name="Mixed_7b", **kw)(h)  # 2048
        h = InceptionE(pool="max", name="Mixed_7c", **kw)(h)
        return jnp.mean(h.astype(jnp.float32), axis=(1, 2))  # pool3
