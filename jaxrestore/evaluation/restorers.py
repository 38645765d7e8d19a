"""Applying a generator to images: the restorer that evaluate, restore and the training loop use.

A :class:`ModelRestorer` wraps a generator module and its variables. ``apply``
maps NHWC float images in [0, 1] to restored ones (jitted, one compilation per
input shape); calling it on a uint8 HxWxC image returns a uint8 image rounded as
MATLAB's uint8 conversion does. For an RGB network, grey (one-channel) inputs are
replicated to RGB and the output's channel mean is returned as the grey result; a
one-channel network (the JPEG task's luma) takes one-channel images only. Inputs
whose size is not a multiple of the generator's ``size_multiple`` (ARGAN's trunk
runs at half resolution) are padded by edge reflection and the output cropped back.
A training run's generator is loaded as one by :func:`jaxrestore.training.runs.load_restorer`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxrestore.errors import DataError
from jaxrestore.imaging.resize import to_uint8


class ModelRestorer:
    """A generator bound to its variables; satisfies :class:`jaxrestore.evaluation.base.Restorer`."""

    def __init__(self, generator, variables, *, task: str, scale: int = 1, quality: int | None = None,
                 source: dict | None = None):
        self.generator = generator
        self.variables = variables
        self.source = source  # where the weights came from (load_restorer): path, step, which, weights
        self.task = task
        self.scale = scale
        self.quality = quality
        self.channels = getattr(generator, "channels", 3)
        if getattr(generator, "takes_offset", False):
            self._apply = jax.jit(lambda v, x, offset: generator.apply(v, x, train=False, offset=offset))
        else:
            self._apply = jax.jit(lambda v, x, offset: generator.apply(v, x, train=False))

    def apply(self, degraded, offset: tuple[int, int] = (0, 0)) -> jax.Array:
        """NHWC float in [0, 1] -> restored NHWC float (unclipped). ``offset`` is the (row,
        column) of ``degraded``'s top-left pixel in the whole image, for a generator whose
        inference depends on position (ARGAN's noise); tiles pass theirs."""
        x = jnp.asarray(degraded, jnp.float32)
        multiple = getattr(self.generator, "size_multiple", 1)
        h, w = x.shape[1:3]
        pad_h, pad_w = -h % multiple, -w % multiple
        offset = jnp.asarray(offset, jnp.int32)
        if pad_h or pad_w:
            x = jnp.pad(x, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="reflect")
            return self._apply(self.variables, x, offset)[:, :h * self.scale, :w * self.scale]
        return self._apply(self.variables, x, offset)

    def __call__(self, degraded: np.ndarray) -> np.ndarray:
        """uint8 HxWxC (C = 1 or 3) -> uint8 restored image with the same channel count."""
        grey = degraded.ndim == 2 or degraded.shape[-1] == 1
        x = np.asarray(degraded, np.float32).reshape(degraded.shape[0], degraded.shape[1], -1) / 255.0
        if self.channels == 1:
            if not grey:
                raise DataError(f"this {self.task} model restores one channel (luma), but the image has "
                                f"{x.shape[-1]}; pass its Y channel (jaxrestore.restore does this for RGB files).")
            grey = False  # the network's own channel count: nothing to replicate or average
        elif grey:
            x = np.repeat(x, 3, axis=-1)
        y = np.asarray(self.apply(x[None]))[0].astype(np.float64)
        if grey:
            y = y.mean(axis=-1, keepdims=True)
        return to_uint8(y * 255.0)


def describe_source(source: dict) -> str:
    """One line naming the checkpoint a restorer loaded, e.g. for a command's output."""
    return (f"checkpoint {source['path']} ({source['which']}, step {source['step']}, "
            f"{'EMA' if source['weights'] == 'ema' else 'raw'} weights)")
