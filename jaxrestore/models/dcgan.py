"""DCGAN generator and discriminator in the layout of carpedm20's DCGAN-tensorflow, the
prior that 002_*'s released code restores with (64x64 faces, z of 100 numbers).

Generator: z -> linear to 4x4x(8f) -> BN, ReLU -> four 5x5 stride-2 transposed
convolutions 8f -> 4f -> 2f -> f -> 3, each but the last followed by BN and ReLU, the last
by tanh. With f = 64 it has 5,135,363 parameters. Output in [-1, 1] (the convention of
GAN priors; callers map to [0, 1] at their edge).

Discriminator: 5x5 stride-2 convolutions 3 -> f (leaky ReLU 0.2, no BN) -> 2f -> 4f -> 8f
(BN, leaky ReLU 0.2), flattened, linear to one logit. With f = 64: 4,316,545 parameters.
Input in [-1, 1].

BatchNorm: epsilon 1e-5, running-average momentum 0.9 (TensorFlow's ``decay``), with scale
and offset. Weights start from N(0, 0.02), biases from 0 (002_* Sec. 3.2, the DCGAN
recipe). The transposed convolution is the gradient of a SAME stride-2 convolution, as
``tf.nn.conv2d_transpose`` (tested against it); its kernel is stored HxWxinxout.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

INIT = nn.initializers.normal(stddev=0.02)


def _bn(train: bool, name: str) -> nn.BatchNorm:
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)


class ConvTranspose2x(nn.Module):
    """5x5 (by default) stride-2 transposed convolution with SAME padding: output size 2x the
    input's, equal to ``tf.nn.conv2d_transpose(..., strides=2, padding="SAME")``."""

    features: int
    kernel_size: int = 5

    @nn.compact
    def __call__(self, x):
        k = self.kernel_size
        kernel = self.param("kernel", INIT, (k, k, x.shape[-1], self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        return transposed_conv2x(x, kernel.astype(x.dtype)) + bias.astype(x.dtype)


def _phase_taps(k: int, phase: int) -> tuple[list[int], tuple[int, int]]:
    """Taps of the flipped kernel that output pixels ``2i + phase`` of a stride-2 transposed
    convolution see, and the padding (before, after) of the undilated input they read."""
    before = k - 1 - (k - 2) // 2  # padding before the 2x-dilated input (the SAME forward conv's transpose)
    taps = [t for t in range(k) if (phase + t - before) % 2 == 0]
    offsets = [(phase + t - before) // 2 for t in taps]
    return taps, (-offsets[0], offsets[-1])


def transposed_conv2x(x, kernel):
    """``tf.nn.conv2d_transpose(x, kernel, strides=2, padding="SAME")`` for NHWC ``x`` and an
    HxWxinxout ``kernel``: the gradient of a SAME stride-2 convolution. Computed per output
    phase (even/odd rows x even/odd columns) as four stride-1 convolutions of the undilated
    input with the kernel taps that phase sees, then interleaved: the same sums as
    correlating the 2x-dilated input with the flipped kernel, without the 3/4 of products
    that are zeros of the dilation (4x fewer multiplies)."""
    k = kernel.shape[0]
    flipped = jnp.flip(kernel, (0, 1))
    rows = []
    for rh in (0, 1):
        taps_h, pad_h = _phase_taps(k, rh)
        cols = []
        for rw in (0, 1):
            taps_w, pad_w = _phase_taps(k, rw)
            sub = flipped[jnp.asarray(taps_h)][:, jnp.asarray(taps_w)]
            cols.append(jax.lax.conv_general_dilated(x, sub, window_strides=(1, 1), padding=(pad_h, pad_w),
                                                     dimension_numbers=("NHWC", "HWIO", "NHWC")))
        rows.append(jnp.stack(cols, axis=3))  # N, H, W, 2 (column phase), C
    y = jnp.stack(rows, axis=2)  # N, H, 2 (row phase), W, 2, C
    n, h, _, w, _, c = y.shape
    return y.reshape(n, 2 * h, 2 * w, c)


class DCGANGenerator(nn.Module):
    z_dim: int = 100
    features: int = 64
    size: int = 64  # output height and width; 4 * 2**4

    @nn.compact
    def __call__(self, z, *, train: bool = False):
        s = self.size // 16
        f = self.features
        h = nn.Dense(s * s * 8 * f, kernel_init=INIT, name="project")(z)
        h = h.reshape(z.shape[:-1] + (s, s, 8 * f))
        h = nn.relu(_bn(train, "bn0")(h))
        for i, width in enumerate((4 * f, 2 * f, f)):
            h = ConvTranspose2x(width, name=f"deconv{i + 1}")(h)
            h = nn.relu(_bn(train, f"bn{i + 1}")(h))
        return jnp.tanh(ConvTranspose2x(3, name="deconv4")(h))


class DCGANDiscriminator(nn.Module):
    features: int = 64

    @nn.compact
    def __call__(self, x, *, train: bool = False):
        f = self.features
        h = x
        for i, width in enumerate((f, 2 * f, 4 * f, 8 * f)):
            h = nn.Conv(width, (5, 5), strides=(2, 2), padding="SAME", kernel_init=INIT, name=f"conv{i}")(h)
            if i > 0:
                h = _bn(train, f"bn{i}")(h)
            h = nn.leaky_relu(h, 0.2)
        h = h.reshape(h.shape[:-3] + (-1,))
        return nn.Dense(1, kernel_init=INIT, name="logit")(h)[..., 0]
