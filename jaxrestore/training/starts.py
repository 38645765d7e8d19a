"""How a fresh run starts: its generator from another run (``init_from``, e.g. SRGAN from
SRResNet) and, for a method with an encoder, the encoder too (LSRGAN's L from stage 1, through
``init_from`` or ``init_encoder_from``). The runs named are checked before the workdir is
touched, so a wrong one leaves nothing behind; what a method needs is read from its
declarations (:class:`jaxrestore.training.methods.common.Method`), never from its name.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
from absl import logging

from jaxrestore.errors import CheckpointError, ConfigError
from jaxrestore.runtime import checkpoints
from jaxrestore.runtime.rundir import architecture_mismatch, read_config
from jaxrestore.training.methods import method_class
from jaxrestore.training.runs import load_run_generator
from jaxrestore.training.tasks import TASKS

# Model fields that do not shape the generator: a generator may come from a run that
# trained it beside another discriminator or encoder (or none, as converted weights).
_NOT_GENERATOR_FIELDS = ("discriminator", "d_features", "encoder", "encoder_blocks", "encoder_features")


def fidelity_config(config) -> str:
    """The config file whose fidelity-only run a GAN config of this method and task starts from."""
    return method_class(config).fidelity_config or TASKS[config.task.name].fidelity_config


def check_pretrained_start(config) -> None:
    """A method that starts from a pretrained generator needs ``init_from`` or pre-training here."""
    if method_class(config).needs_pretrained_generator(config):
        if not config.init_from and config.train.pretrain_steps <= 0:
            raise ConfigError(
                "this GAN config starts from a pretrained generator: set --config.init_from=WORKDIR "
                f"of a {fidelity_config(config)} run, or --config.train.pretrain_steps=N to pre-train it here.")


def _check_same_generator(run_dir: str, config, what: str) -> None:
    mismatch = architecture_mismatch(config, read_config(run_dir), ignore=_NOT_GENERATOR_FIELDS)
    if mismatch:
        raise CheckpointError(f"{what} {run_dir!r} was trained with another generator: {mismatch}; "
                              "start from a run of the same model.")


def check_sources(config, workdir: Path) -> None:
    """The runs a fresh run starts from (``init_from``, ``init_encoder_from``) are checked before
    the workdir is touched, so a wrong one leaves nothing behind (a resumed run ignores them)."""
    if checkpoints.has_checkpoint(workdir):
        return
    if config.init_from and not Path(config.init_from).is_dir():
        base = fidelity_config(config)
        raise CheckpointError(
            f"init_from {config.init_from!r} does not exist: train {base} with --workdir={config.init_from} "
            f"first (with this run's preset, e.g. --config={base}:real for a :real preset), or set "
            f"--config.init_from=WORKDIR of a finished {base} run.")
    for source, what in ((config.init_from, "init_from"), (config.get("init_encoder_from"), "the encoder's source")):
        if source:
            _check_same_generator(source, config, what)


def initial_state(method, config, key, batch):
    """The state of a fresh run: ``method.init``, then G from ``init_from`` and the encoder from its
    source where the method has one."""
    state = method.init(key, batch)
    encoder_from = None
    if config.init_from:
        variables, step, which = load_run_generator(config.init_from)  # checked by check_sources
        expected = checkpoints.network_variables(method.generator_variables(state))
        checkpoints.check_same_structure(expected, checkpoints.network_variables(variables),
                                         source=f"init_from {config.init_from!r}")
        if "encoder" in variables and method.uses_encoder(config):
            encoder_from = config.init_from
        variables = {k: v for k, v in variables.items() if k != "encoder"}
        state = method.with_generator(state, jax.tree.map(jnp.asarray, variables))
        logging.info("Generator initialised from %s (%s checkpoint, step %d).", config.init_from, which, step)
    if config.get("init_encoder_from"):
        encoder_from = config.init_encoder_from
    if encoder_from:
        variables, step, _ = load_run_generator(encoder_from)
        if "encoder" not in variables:
            raise CheckpointError(f"{encoder_from!r} {method.encoder_source}")
        checkpoints.check_same_structure(method.generator_variables(state)["encoder"], variables["encoder"],
                                         source=f"the encoder L of {encoder_from!r}")
        state = method.with_encoder(state, jax.tree.map(jnp.asarray, variables["encoder"]))
        logging.info("Encoder L initialised from %s (step %d).", encoder_from, step)
    elif method.uses_encoder(config) and method.encoder_must_start(config):
        raise ConfigError(method.encoder_start)
    return state
