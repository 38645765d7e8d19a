"""A run directory's configuration: ``config.json``, the workdir itself, and comparisons of configs.

A run directory (the ``--workdir`` of ``jaxrestore.main``) holds ``config.json`` (the run's
ConfigDict, from which evaluate/restore rebuild the model) beside the checkpoints that
:mod:`jaxrestore.runtime.checkpoints` writes. This module reads and writes that file,
checks a ``--workdir`` before anything is started, and says on which fields two configs
differ (another model, or settings a resumed run cannot change).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import jax
import ml_collections

from jaxrestore.errors import CheckpointError
from jaxrestore.runtime.atomic import atomic_open
from jaxrestore.runtime.configs import flat_config

CONFIG_FILE = "config.json"
# Config sections that decide the generator's architecture and task; a
# checkpoint is only usable by a config that agrees on them.
ARCHITECTURE_FIELDS = ("task", "model")


def write_config(workdir: str | os.PathLike, config: ml_collections.ConfigDict) -> None:
    """Writes config.json atomically (process 0 only)."""
    if jax.process_index() != 0:
        return
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    with atomic_open(workdir / CONFIG_FILE) as f:
        f.write(config.to_json_best_effort(indent=2, sort_keys=True))


def read_config(run_dir: str | os.PathLike) -> ml_collections.ConfigDict:
    path = Path(run_dir) / CONFIG_FILE
    if not Path(run_dir).is_dir():
        raise CheckpointError(f"checkpoint directory {str(run_dir)!r} does not exist; pass the "
                              "--workdir of a training run or a directory written by jaxrestore.convert.")
    if not path.is_file():
        raise CheckpointError(f"{str(run_dir)!r} has no {CONFIG_FILE}; pass the --workdir of a "
                              "training run (the folder that holds config.json and checkpoints/).")
    with open(path) as f:
        return ml_collections.ConfigDict(json.load(f))


def architecture_mismatch(a: ml_collections.ConfigDict, b: ml_collections.ConfigDict, *,
                          ignore: tuple[str, ...] = ()) -> str | None:
    """The first architecture field (e.g. ``task.scale``) on which two configs differ, or None;
    fields named in ``ignore`` are not compared."""
    for section in ARCHITECTURE_FIELDS:
        sa, sb = a.get(section, {}), b.get(section, {})
        for key in sorted((set(sa.keys()) | set(sb.keys())) - set(ignore)):
            va, vb = sa.get(key), sb.get(key)
            if key in sa and key in sb and va != vb:
                return f"{section}.{key} is {vb!r} there but {va!r} here"
    return None


def local_workdir(workdir: str | os.PathLike) -> Path:
    """``workdir`` as an absolute path. A URL (``gs://...``) is refused: the run directory is written
    with local file operations, which would turn ``gs://b/run`` into a folder ``gs:/b/run`` here."""
    text = os.fspath(workdir)
    if "://" in text:
        raise CheckpointError(f"--workdir {text!r} is a URL, but runs are written to a local or mounted "
                              "directory; mount the bucket (e.g. gcsfuse BUCKET /mnt/BUCKET) and pass "
                              "--workdir=/mnt/BUCKET/... instead.")
    return Path(text).absolute()


def check_writable_workdir(workdir: Path) -> None:
    """Refuses a --workdir that is a file or cannot be written, before anything is started."""
    if workdir.exists() and not workdir.is_dir():
        raise CheckpointError(f"--workdir {str(workdir)!r} is a file, not a directory; name a directory "
                              "(it is created if missing).")
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=workdir):
            pass
    except OSError as err:
        raise CheckpointError(f"cannot write to --workdir {str(workdir)!r} ({err.strerror or err}); choose a "
                              "writable directory.") from None


# Fields that may change between a run and its resumption without touching the saved state.
_RESUMABLE_FIELDS = ("train.num_steps", "train.log_every", "train.eval_every", "train.checkpoint_every",
                     "train.keep_checkpoints", "train.grid_images", "eval.", "init_from", "init_encoder_from")


def config_differences(config: ml_collections.ConfigDict, workdir: str | os.PathLike) -> str:
    """The fields (other than run lengths, periods and evaluation settings) on which ``config``
    differs from the run's config.json, as ``a.b (x there, y here)``; empty if none."""
    try:
        saved = read_config(workdir)
    except CheckpointError:
        return ""
    here, there = flat_config(config.to_dict()), flat_config(saved.to_dict())
    diffs = [f"{k} ({there.get(k)!r} there, {here.get(k)!r} here)" for k in sorted(set(here) | set(there))
             if not k.startswith(_RESUMABLE_FIELDS) and here.get(k) != there.get(k)]
    return ", ".join(diffs[:4])
