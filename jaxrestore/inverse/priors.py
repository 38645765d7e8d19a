"""Trained generators as priors for the latent solvers: G (and D where there is one) as
functions of ``(variables, input)`` in inference mode, with their variables, latent size
and distribution, and image size.

``load_prior(path)`` reads

- the ``--workdir`` of a prior trained here (the latest state checkpoint):
  ``configs/dcgan.py`` (method ``unconditional_gan``: DCGAN G and D with running BatchNorm
  statistics, z ~ U(-1, 1)) or ``configs/began.py`` (method ``began``: G only, z ~ U(-1, 1))
  — a new training method registers its reader in ``READERS``;
- a PGGAN weight file (``.npz`` from ``python -m jaxrestore.convert pggan``, or the port's
  ``.pth``/``.safetensors``): Karras et al.'s generator, z ~ N(0, I), no discriminator.

Every reader gives one clear error for a path that is not what it expects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from jaxrestore.errors import CheckpointError, ConfigError
from jaxrestore.models.began import BEGANGenerator
from jaxrestore.models.dcgan import DCGANDiscriminator, DCGANGenerator
from jaxrestore.models.pggan import make_generator_fn
from jaxrestore.runtime import checkpoints
from jaxrestore.runtime.rundir import read_config
from jaxrestore.weights.pggan import build_pggan, load_pggan_variables

WEIGHT_SUFFIXES = (".npz", ".pth", ".pt", ".safetensors")


@dataclasses.dataclass
class Prior:
    """A trained GAN prior: functions of (variables, input) in inference mode, and its variables."""

    generator_fn: Callable
    g_vars: Any
    discriminator_fn: Callable | None
    d_vars: Any
    z_dim: int
    size: int
    path: str
    step: int
    kind: str = "dcgan"  # which paper settings apply: dcgan, began, pggan
    latent: str = "uniform"  # z's distribution: uniform on [-1, 1], or normal


def _latest_state(path: str):
    found = checkpoints.latest_state(path)
    if found is None:
        raise CheckpointError(f"{path!r} holds no checkpoint of the prior yet; train it longer (its "
                              "checkpoints/ is empty) or pass another run.")
    return found


def _dcgan(path: str, config) -> Prior:
    model = config.model
    size = int(config.data.patch_size)
    generator = DCGANGenerator(z_dim=int(model.z_dim), features=int(model.features), size=size)
    discriminator = DCGANDiscriminator(features=int(model.d_features))
    state, step = _latest_state(path)
    g_vars = {"params": state["g"]["params"], "batch_stats": state["g"]["batch_stats"]}
    d_vars = {"params": state["d"]["params"], "batch_stats": state["d"]["batch_stats"]}
    expected = jax.eval_shape(generator.init, jax.random.key(0), jnp.zeros((1, int(model.z_dim))))
    checkpoints.check_same_structure(expected, g_vars, source=f"the prior {path!r}")
    return Prior(generator_fn=lambda v, z: generator.apply(v, z, train=False), g_vars=g_vars,
                 discriminator_fn=lambda v, x: discriminator.apply(v, x, train=False), d_vars=d_vars,
                 z_dim=int(model.z_dim), size=size, path=str(path), step=step, kind="dcgan", latent="uniform")


def _began(path: str, config) -> Prior:
    """A configs/began.py run: G only (BEGAN's D is an autoencoder, it gives no log-probability),
    z ~ U(-1, 1)."""
    model = config.model
    size = int(config.data.patch_size)
    generator = BEGANGenerator(z_dim=int(model.z_dim), features=int(model.features), size=size)
    state, step = _latest_state(path)
    g_vars = {"params": state["g"]["params"]}
    expected = jax.eval_shape(generator.init, jax.random.key(0), jnp.zeros((1, int(model.z_dim))))
    checkpoints.check_same_structure(expected, g_vars, source=f"the prior {path!r}")
    return Prior(generator_fn=lambda v, z: generator.apply(v, z), g_vars=g_vars, discriminator_fn=None, d_vars=None,
                 z_dim=int(model.z_dim), size=size, path=str(path), step=step, kind="began", latent="uniform")


# config.method of a training run -> reader of its prior
READERS: dict[str, Callable[[str, Any], Prior]] = {"unconditional_gan": _dcgan, "began": _began}


def _pggan_file(path: str) -> Prior:
    variables, arch, _ = load_pggan_variables(path)
    generator = build_pggan(arch)
    return Prior(generator_fn=make_generator_fn(generator), g_vars=variables, discriminator_fn=None, d_vars=None,
                 z_dim=int(generator.latent_dim), size=int(generator.resolution), path=str(path), step=0,
                 kind="pggan", latent="normal")


def load_prior(path: str) -> Prior:
    """The prior at ``path``: a training run's workdir or a PGGAN weight file."""
    if not path:
        raise ConfigError("no GAN prior given; train one with `python -m jaxrestore.main "
                          "--config=configs/dcgan.py:quick --workdir=runs/dcgan_quick` and pass "
                          "--config.prior=runs/dcgan_quick (or a converted PGGAN .npz).")
    if Path(path).is_file() or Path(path).suffix in WEIGHT_SUFFIXES:
        return _pggan_file(path)
    config = read_config(path)  # clear errors for a missing or foreign directory
    method = config.get("method", "?")
    if method not in READERS:
        task = config.get("task", {}).get("name", "?")
        raise CheckpointError(f"{path!r} holds a {method!r} run of task {task!r}, not a GAN prior; pass the "
                              "--workdir of a configs/dcgan.py (or began.py) run, or a PGGAN weight file, "
                              "as --config.prior.")
    return READERS[method](path, config)
