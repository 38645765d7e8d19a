"""Applying a trained generator: the restorer used by evaluate, restore and the training loop.

A :class:`ModelRestorer` wraps a generator module and its variables. ``apply``
maps NHWC float images in [0, 1] to restored ones (jitted, one compilation per
input shape); calling it on a uint8 HxWxC image returns a uint8 image rounded as
MATLAB's uint8 conversion does. Grey (one-channel) inputs are replicated to RGB
for the network and the output's channel mean is returned as the grey result.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxrestore import checkpoints
from jaxrestore.imaging.resize import to_uint8
from jaxrestore.models import build_generator


class ModelRestorer:
    """A generator bound to its variables; satisfies ``jaxrestore.evaluation.Restorer``."""

    def __init__(self, generator, variables, *, task: str, scale: int):
        self.generator = generator
        self.variables = variables
        self.task = task
        self.scale = scale
        self._apply = jax.jit(lambda v, x: generator.apply(v, x, train=False))

    def apply(self, degraded) -> jax.Array:
        """NHWC float in [0, 1] -> restored NHWC float (unclipped)."""
        return self._apply(self.variables, jnp.asarray(degraded, jnp.float32))

    def __call__(self, degraded: np.ndarray) -> np.ndarray:
        """uint8 HxWxC (C = 1 or 3) -> uint8 restored image with the same channel count."""
        grey = degraded.ndim == 2 or degraded.shape[-1] == 1
        x = np.asarray(degraded, np.float32).reshape(degraded.shape[0], degraded.shape[1], -1) / 255.0
        if grey:
            x = np.repeat(x, 3, axis=-1)
        y = np.asarray(self.apply(x[None]))[0].astype(np.float64)
        if grey:
            y = y.mean(axis=-1, keepdims=True)
        return to_uint8(y * 255.0)


def load_restorer(run_dir: str | os.PathLike, *, which: str = "auto", ema: bool = False) -> ModelRestorer:
    """Builds the generator of a run directory from its config.json and loads its weights.

    ``which`` is ``best``, ``latest`` or ``auto`` (best if present). ``ema`` selects
    the exponential moving average of the weights where a run keeps one.
    """
    config = checkpoints.read_config(run_dir)
    variables, _, _ = checkpoints.load_generator_variables(run_dir, which=which)
    if ema:
        if "ema" not in variables:
            raise checkpoints.CheckpointError(
                f"{str(run_dir)!r} keeps no EMA weights; drop --ema or train with an EMA enabled.")
        variables = {**variables, "params": variables["ema"]}
    variables = {k: v for k, v in variables.items() if k != "ema"}
    generator = build_generator(config.model, scale=config.task.scale)
    return ModelRestorer(generator, variables, task=config.task.name, scale=config.task.scale)
