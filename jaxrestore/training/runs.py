"""A training run's generator, read back: its variables from the checkpoint its method prefers,
and the restorer that ``evaluate`` and ``restore`` apply (:class:`jaxrestore.evaluation.restorers.ModelRestorer`
with the task's options from the run's ``config.json``)."""

from __future__ import annotations

import os
from pathlib import Path

from jaxrestore.errors import CheckpointError
from jaxrestore.evaluation.protocols import label, protocol
from jaxrestore.evaluation.restorers import ModelRestorer
from jaxrestore.models import build_generator
from jaxrestore.runtime import checkpoints
from jaxrestore.runtime.rundir import read_config
from jaxrestore.training.methods import preferred_checkpoint
from jaxrestore.training.tasks import build_task


def load_run_generator(run_dir: str | os.PathLike, *, which: str = "auto"):
    """``(variables, step, which_used)`` of a run's generator: ``which`` is ``best``, ``latest`` or
    ``auto`` (the checkpoint the run's method prefers, :func:`preferred_checkpoint`, else the other)."""
    config = read_config(run_dir)  # clear error for a wrong directory
    return checkpoints.load_generator_variables(run_dir, which=which, prefer=preferred_checkpoint(config))


def load_restorer(run_dir: str | os.PathLike, *, which: str = "auto", ema: bool = False) -> ModelRestorer:
    """Builds the generator of a run directory from its config.json and loads its weights.

    ``which`` is ``best``, ``latest`` or ``auto`` (``best/`` for a fidelity-only run, the
    latest checkpoint for a GAN run). ``ema`` selects the exponential moving average of the
    weights where a run keeps one. The restorer's ``source`` says what was loaded:
    ``{"path", "step", "which", "weights"}``.
    """
    config = read_config(run_dir)
    variables, step, used = load_run_generator(run_dir, which=which)
    variables = checkpoints.network_variables(variables, ema=ema, source=repr(str(run_dir)))
    generator = build_generator(config.model, scale=config.task.scale)
    source = {"path": str(Path(run_dir).absolute() / (checkpoints.BEST_DIR if used == "best"
                                                      else checkpoints.STATE_DIR) / str(step)),
              "step": int(step), "which": used, "weights": "ema" if ema else "raw"}
    return build_task(config.task).restorer(generator, variables, source=source)


def checkpoint_to_evaluate(checkpoint: str, *, task: str, option: int | None, which: str = "auto",
                           ema: bool = False) -> ModelRestorer:
    """:func:`load_restorer` of ``checkpoint``, refused in one sentence when the run was trained for
    another task than ``task`` or at another ``--scale``/``--quality`` than ``option``."""
    chosen = protocol(task)
    restorer = load_restorer(checkpoint, which=which, ema=ema)
    own_task = getattr(restorer, "task", task)
    if own_task != task:
        raise CheckpointError(
            f"checkpoint {checkpoint!r} was trained for {label(own_task)} (task {own_task!r}), "
            f"not {chosen.label}; pass --task={own_task}.")
    name = chosen.option
    own = getattr(restorer, name)
    if option is not None and option != own:
        raise CheckpointError(f"checkpoint {checkpoint!r} {chosen.option_phrase} {own} but --{name}={option}; "
                              f"drop --{name} or pass --{name}={own}.")
    return restorer
