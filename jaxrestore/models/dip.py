"""The Deep Image Prior "skip" hourglass (Ulyanov, Vedaldi & Lempitsky, CVPR 2018), in the
layout of the official ``skip()`` (DmitryUlyanov/deep-image-prior, ``models/skip.py``) with
the settings of its super-resolution notebook: 5 scales of 128 channels down and up, 4 skip
channels, 3x3 convolutions down and up, 1x1 skips, reflection padding, downsampling by
stride-2 convolutions, bilinear x2 upsampling, a 1x1 convolution after each upsampling
block (``need1x1_up=True``), LeakyReLU(0.2), a final 1x1 convolution and a sigmoid.

Scale ``i`` (input depth ``d``: the net's input channels at scale 0, ``down`` after) is

    skip:   conv1x1(d -> skip) -> BN -> act
    deeper: conv3x3/2(d -> down) -> BN -> act -> conv3x3(down -> down) -> BN -> act
            -> [scale i+1] -> bilinear x2
    concat(skip, deeper) -> BN -> conv3x3(skip + k -> up) -> BN -> act
            -> conv1x1(up -> up) -> BN -> act

with ``k = up`` of scale ``i+1`` (``down`` at the deepest scale), then ``conv1x1(up ->
out)`` and a sigmoid. Every convolution has a bias (``need_bias=True``) and reflection
padding of ``(k - 1) / 2`` (``torch.nn.ReflectionPad2d``: the edge pixel is not repeated,
as ``numpy.pad(mode="reflect")``). With 32 input and 3 output channels it has 2,217,831
parameters (the tests recompute this from a formula).

Initialisation is PyTorch's default (what the official code gets): conv weights and biases
uniform in ``+-1/sqrt(fan_in)``, BatchNorm scale 1, offset 0. BatchNorm is always in
training mode, as the official code leaves the net: each call normalises with the batch
statistics of what it is given (mean and biased variance over N, H, W; epsilon 1e-5) and
keeps no running averages. DIP applies the net to one image at a time (N = 1), so the
statistics are those of the image itself; under ``jax.vmap`` each mapped image still gets
its own.

Bilinear x2 upsampling is ``torch.nn.Upsample(scale_factor=2, mode="bilinear")`` with
``align_corners=False`` (PyTorch's default since 0.4): output pixel ``2i`` is ``0.75 x[i] +
0.25 x[i-1]``, ``2i+1`` is ``0.75 x[i] + 0.25 x[i+1]``, the edge pixel repeated past the
border (equal to ``jax.image.resize(..., "bilinear")`` for upsampling).

Images are NHWC; the side must be a multiple of ``2**scales`` (32 at 5 scales) so every
stride-2 convolution halves it exactly and the skips line up, and the deepest scale must
have more than one pixel (BatchNorm of one value per channel normalises rounding noise;
PyTorch refuses it), so 32x32 needs at most 4 scales.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrestore.errors import ConfigError


def check_image_size(height: int, width: int, scales: int = 5) -> None:
    """A :class:`ConfigError` naming the nearest valid sizes when a side is not a multiple
    of ``2**scales``, or when the deepest scale would be a single pixel."""
    multiple = 2 ** int(scales)
    bad = [s for s in (height, width) if s % multiple or s <= 0]

    def nearest(side):
        low, high = (side // multiple) * multiple, -(-side // multiple) * multiple
        options = [v for v in (low, high) if v > 0]
        return " or ".join(str(v) for v in sorted(set(options)))

    if bad:
        raise ConfigError(
            f"the DIP skip network with {scales} scales needs image sides that are multiples of {multiple}, "
            f"got {height}x{width}; crop or pad the height to {nearest(height)} and the width to "
            f"{nearest(width)}.")
    if height == width == multiple:
        raise ConfigError(
            f"a {height}x{width} image leaves one pixel at the deepest of {scales} scales, where BatchNorm "
            f"has one value per channel (PyTorch refuses it, and its normalised output is rounding noise); "
            f"use at least {2 * multiple} pixels on one side or {scales - 1} scales.")


def torch_uniform(fan_in: int):
    """PyTorch's default Conv2d initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def reflect_pad(x, pad: int):
    """``torch.nn.ReflectionPad2d(pad)`` on NHWC: mirror without repeating the edge."""
    if pad == 0:
        return x
    return jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")


def upsample_bilinear2x(x):
    """``torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)`` on NHWC."""

    def along(x, axis):
        n = x.shape[axis]
        first = jnp.take(x, jnp.array([0]), axis=axis)
        last = jnp.take(x, jnp.array([n - 1]), axis=axis)
        prev = jnp.concatenate([first, jnp.take(x, jnp.arange(n - 1), axis=axis)], axis=axis)
        nxt = jnp.concatenate([jnp.take(x, jnp.arange(1, n), axis=axis), last], axis=axis)
        even = 0.75 * x + 0.25 * prev
        odd = 0.75 * x + 0.25 * nxt
        out = jnp.stack([even, odd], axis=axis + 1)
        shape = list(x.shape)
        shape[axis] = 2 * n
        return out.reshape(shape)

    return along(along(x, 1), 2)


class ReflectConv(nn.Module):
    """Reflection padding of ``(kernel - 1) // 2``, then a VALID convolution with a bias."""

    features: int
    kernel: int
    stride: int = 1
    param_dtype: object = jnp.float32

    @nn.compact
    def __call__(self, x):
        fan_in = x.shape[-1] * self.kernel * self.kernel
        init = torch_uniform(fan_in)
        conv = nn.Conv(self.features, (self.kernel, self.kernel), strides=(self.stride, self.stride),
                       padding="VALID", kernel_init=init, bias_init=init,
                       dtype=x.dtype, param_dtype=self.param_dtype, name="conv")
        return conv(reflect_pad(x, (self.kernel - 1) // 2))


class BatchNormTrain(nn.Module):
    """``torch.nn.BatchNorm2d`` in training mode: batch mean and biased variance over every
    axis but the last, epsilon 1e-5, learnt scale and offset; no running averages."""

    epsilon: float = 1e-5
    param_dtype: object = jnp.float32

    @nn.compact
    def __call__(self, x):
        features = x.shape[-1]
        scale = self.param("scale", nn.initializers.ones, (features,), self.param_dtype)
        bias = self.param("bias", nn.initializers.zeros, (features,), self.param_dtype)
        axes = tuple(range(x.ndim - 1))
        mean = jnp.mean(x, axis=axes, keepdims=True)
        centred = x - mean
        var = jnp.mean(centred * centred, axis=axes, keepdims=True)
        return centred * (scale.astype(x.dtype) / jnp.sqrt(var + self.epsilon)) + bias.astype(x.dtype)


def leaky_relu(x):
    return nn.leaky_relu(x, negative_slope=0.2)


class SkipNet(nn.Module):
    """The official DIP ``skip()`` network; NHWC in, NHWC in (0, 1) out (sigmoid)."""

    output_channels: int = 3
    channels_down: Sequence[int] = (128,) * 5
    channels_up: Sequence[int] = (128,) * 5
    channels_skip: Sequence[int] = (4,) * 5
    kernel_down: int = 3
    kernel_up: int = 3
    kernel_skip: int = 1
    need_1x1_up: bool = True
    param_dtype: object = jnp.float32

    def _conv_bn_act(self, x, features, kernel, stride=1, *, name):
        x = ReflectConv(features, kernel, stride, param_dtype=self.param_dtype, name=f"{name}_conv")(x)
        return leaky_relu(BatchNormTrain(param_dtype=self.param_dtype, name=f"{name}_bn")(x))

    def _scale(self, x, i):
        last = len(self.channels_down) - 1
        parts = []
        if self.channels_skip[i]:
            parts.append(self._conv_bn_act(x, self.channels_skip[i], self.kernel_skip, name=f"skip{i}"))
        deeper = self._conv_bn_act(x, self.channels_down[i], self.kernel_down, 2, name=f"down{i}a")
        deeper = self._conv_bn_act(deeper, self.channels_down[i], self.kernel_down, name=f"down{i}b")
        if i < last:
            deeper = self._scale(deeper, i + 1)
        parts.append(upsample_bilinear2x(deeper))
        x = jnp.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]
        x = BatchNormTrain(param_dtype=self.param_dtype, name=f"concat{i}_bn")(x)
        x = self._conv_bn_act(x, self.channels_up[i], self.kernel_up, name=f"up{i}")
        if self.need_1x1_up:
            x = self._conv_bn_act(x, self.channels_up[i], 1, name=f"up{i}_1x1")
        return x

    @nn.compact
    def __call__(self, z):
        if not len(self.channels_down) == len(self.channels_up) == len(self.channels_skip):
            raise ConfigError(f"the DIP skip network needs as many down, up and skip channel counts, got "
                              f"{len(self.channels_down)}, {len(self.channels_up)} and {len(self.channels_skip)}.")
        check_image_size(z.shape[-3], z.shape[-2], len(self.channels_down))
        x = self._scale(z, 0)
        x = ReflectConv(self.output_channels, 1, param_dtype=self.param_dtype, name="out_conv")(x)
        return nn.sigmoid(x)


def skip_net(output_channels: int = 3, *, channels: int = 128, skip: int = 4, scales: int = 5,
             param_dtype=jnp.float32) -> SkipNet:
    """The super-resolution notebook's net: ``channels`` down and up and ``skip`` skip channels
    at each of ``scales`` scales."""
    return SkipNet(output_channels, (channels,) * scales, (channels,) * scales, (skip,) * scales,
                   param_dtype=param_dtype)
