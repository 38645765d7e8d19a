"""A run directory's checkpoints: the training state, the data position and the best generator.

A run directory (the ``--workdir`` of ``jaxrestore.main``) holds (``config.json``:
:mod:`jaxrestore.runtime.rundir`)::

    config.json                  the run's ConfigDict (rebuilds the model for evaluate/restore)
    checkpoints/<step>/state     the whole training state (all networks, optimizer states, step)
                       /data     the data iterator's state (a resumed run sees the same batches)
                       /generator the generator's variables alone (what evaluate/restore/init_from read)
    best/<step>/generator        the generator with the best validation PSNR so far

Which generator a command reads (``--which``): ``best`` or ``latest`` when asked;
``auto`` (the default) reads the one the run's method prefers — ``best/`` for a
fidelity-only run, the latest checkpoint for a GAN run
(:func:`jaxrestore.training.methods.preferred_checkpoint`) — else the other.

Everything is written through orbax ``CheckpointManager``s, which write each
step into a temporary directory and rename it when complete: a run killed while
saving leaves only a temporary directory that the next run ignores, so it
resumes from the previous checkpoint. Converted foreign weights (``jaxrestore.convert``)
are run directories with only ``checkpoints/0/generator``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import grain
import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from absl import logging

from jaxrestore.errors import CheckpointError
from jaxrestore.runtime.atomic import atomic_open, umask
from jaxrestore.runtime.rundir import CONFIG_FILE, read_config
from jaxrestore.runtime.storage import storage_error_reason

STATE_DIR = "checkpoints"
BEST_DIR = "best"
CHOICES = ("auto", "best", "latest")


def state_manager(workdir: str | os.PathLike, *, keep: int = 3) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
    return ocp.CheckpointManager(Path(workdir).absolute() / STATE_DIR, options=options,
                                 item_handlers=_reading_handlers())


def best_manager(workdir: str | os.PathLike) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(max_to_keep=1, create=True)
    return ocp.CheckpointManager(Path(workdir).absolute() / BEST_DIR, options=options,
                                 item_names=("generator",))


def save_state(manager: ocp.CheckpointManager, step: int, state, generator, data_iterator) -> None:
    args = {"state": ocp.args.StandardSave(state), "generator": ocp.args.StandardSave(generator)}
    if data_iterator is not None:
        args["data"] = grain.checkpoint.CheckpointSave(data_iterator)
    manager.save(step, args=ocp.args.Composite(**args), force=True)


def completed_steps(workdir: str | os.PathLike) -> list[int]:
    """Steps with a complete checkpoint in ``workdir/checkpoints`` (orbax renames a step's
    temporary directory to the bare step number once it is written)."""
    directory = Path(workdir) / STATE_DIR
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.is_dir() and p.name.isdigit())


def has_checkpoint(workdir: str | os.PathLike) -> bool:
    return bool(completed_steps(workdir))


def _paths(tree) -> dict[str, tuple]:
    """``{"g/params/head/kernel": shape}`` of a pytree's array leaves, for dicts and dataclasses alike."""
    def name(entry):
        for attr in ("key", "name", "idx"):
            if hasattr(entry, attr):
                return str(getattr(entry, attr))
        return str(entry)

    return {"/".join(name(e) for e in path): tuple(getattr(leaf, "shape", ()))
            for path, leaf in jax.tree_util.tree_leaves_with_path(tree)}


def state_mismatch(saved_metadata, abstract_state) -> str | None:
    """The first part of the training state on which a checkpoint and this config disagree."""
    saved, expected = _paths(saved_metadata), _paths(abstract_state)
    missing = sorted(set(expected) - set(saved))
    extra = sorted(set(saved) - set(expected))
    if missing:
        return f"this config's state has {missing[0]} ({len(missing)} array(s) in all) that the checkpoint lacks"
    if extra:
        return f"the checkpoint has {extra[0]} ({len(extra)} array(s) in all) that this config's state lacks"
    for path, shape in expected.items():
        if saved[path] != shape:
            return f"{path} has shape {saved[path]} in the checkpoint but {shape} here"
    return None


def item_metadata(manager: ocp.CheckpointManager, step: int, item: str):
    """The metadata of one item of a checkpoint; a step that lacks the item (removed by hand, or
    written by something else) is one CheckpointError naming the step and what it holds."""
    metadata = manager.item_metadata(step)
    present = [key for key in ("state", "generator", "data") if key in metadata.keys() and metadata[key] is not None]
    if item not in present:
        raise CheckpointError(f"the checkpoint at step {step} in {manager.directory} has no {item!r} item (it holds "
                              f"{', '.join(present) or 'nothing'}): it was removed or never completed; delete the "
                              f"folder {Path(manager.directory) / str(step)} to fall back to the checkpoint before "
                              "it, or pass another run.")
    return metadata[item]


def restore_state(manager: ocp.CheckpointManager, step: int, abstract_state, data_iterator, *,
                  config_note: str = "", data_position: int | None = None):
    """Restores the training state into the structure (and shardings) of ``abstract_state``
    and the iterator in place; a checkpoint of another state (another method, an EMA or
    discriminator this config does not have) is a CheckpointError naming the difference."""
    mismatch = state_mismatch(item_metadata(manager, step, "state"), abstract_state)
    if mismatch:
        differs = f"; the config differs from the run's config.json in {config_note}" if config_note else ""
        raise CheckpointError(f"the checkpoint at step {step} in {manager.directory} cannot be resumed with this "
                              f"config: {mismatch}{differs}; use the run's config or a new --workdir.")
    args = {"state": ocp.args.StandardRestore(abstract_state)}
    data_dir = Path(manager.directory) / str(step) / "data"
    own = data_dir / f"process_{jax.process_index()}-of-{jax.process_count()}.json"
    same_processes = own.is_file() or not data_dir.is_dir()
    if data_iterator is not None and same_processes:
        args["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
    restored = manager.restore(step, args=ocp.args.Composite(**args))
    if data_iterator is not None and not same_processes:
        # Saved by another number of processes. Each process reads every process_count-th element
        # of one stream and a step takes the next global batch, so after `step` steps this process
        # stands at data_position (step x its share of the batch) whatever the count was.
        if data_position is None:
            raise CheckpointError(f"the checkpoint at step {step} was written by another number of processes; "
                                  "resume it with the same number.")
        saved = ", ".join(sorted(p.name for p in data_dir.glob("process_*.json")))
        if "next_index" not in data_iterator.get_state():
            raise CheckpointError(f"the checkpoint at step {step} was written by another number of processes "
                                  f"({saved}) and this pipeline runs grain worker processes, whose positions "
                                  "cannot be moved to another process count; resume with the same number of "
                                  "processes, or with --config.data.worker_count=0.")
        logging.info("Data positions of step %d were saved by other processes (%s); this process continues at "
                     "element %d of its shard.", step, saved, data_position)
        data_iterator.set_state({"next_index": int(data_position)})
    return restored["state"]


def check_space(workdir: Path, step: int, tree) -> None:
    """Refuses to start writing a checkpoint the disk cannot hold: a write that fails half-way
    leaves orbax's background threads reporting errors after the fact. The size expected is
    the disk space the last complete checkpoint takes, plus a quarter (else the arrays' bytes
    and a margin for metadata); a write that fails all the same is reported by
    :func:`explained_write_errors`."""
    directory = Path(workdir) / STATE_DIR
    done = completed_steps(workdir)
    if done:  # blocks allocated, not bytes: a checkpoint is many small files; and a margin
        needed = int(1.25 * sum(f.stat().st_blocks * 512 for f in (directory / str(done[-1])).rglob("*")
                                if f.is_file()))
    else:
        needed = int(sum(getattr(x, "nbytes", 0) for x in jax.tree.leaves(tree)) * 1.1) + (256 << 10)
    free = shutil.disk_usage(directory if directory.is_dir() else workdir).free
    if free < needed:
        kept = (f"the last complete checkpoint (step {done[-1]}) is intact" if done
                else "no checkpoint was written yet")
        raise CheckpointError(f"not enough space in {directory} for the checkpoint of step {step} (about "
                              f"{needed / 2**20:.1f} MiB needed, {free / 2**20:.1f} MiB free); {kept}; free space "
                              "and rerun the same command to resume.")


@contextlib.contextmanager
def explained_write_errors(workdir: Path, step: int):
    """Turns a failed checkpoint write (a full disk, a quota, a file system made read-only)
    into a CheckpointError saying which complete checkpoint is left; the half-written
    temporary directory is removed (a resumed run ignores it anyway)."""
    try:
        yield
    except (OSError, ValueError, RuntimeError) as err:
        reason = storage_error_reason(err)
        if reason is None:
            raise
        for tmp in (Path(workdir) / STATE_DIR).glob("*.orbax-checkpoint-tmp*"):
            shutil.rmtree(tmp, ignore_errors=True)
        done = completed_steps(workdir)
        kept = (f"the last complete checkpoint (step {done[-1]}) is intact" if done
                else "no complete checkpoint was written")
        raise CheckpointError(f"writing the checkpoint of step {step} in {Path(workdir) / STATE_DIR} failed "
                              f"({reason}); {kept}; free space (or make it writable) and "
                              "rerun the same command to resume.") from None


def save_best(manager: ocp.CheckpointManager, step: int, generator, psnr_y: float) -> None:
    """Saves the best generator and records its score in best/score.json (read on resume)."""
    manager.save(step, args=ocp.args.Composite(generator=ocp.args.StandardSave(generator)), force=True)
    manager.wait_until_finished()
    if jax.process_index() == 0:
        directory = Path(manager.directory)
        with atomic_open(directory / "score.json") as f:
            json.dump({"step": int(step), "psnr_y": float(psnr_y)}, f)


def best_score(workdir: str | os.PathLike) -> float:
    """PSNR-Y of the run's best generator so far (-inf if none)."""
    path = Path(workdir) / BEST_DIR / "score.json"
    if not path.is_file():
        return float("-inf")
    with open(path) as f:
        return float(json.load(f)["psnr_y"])


def load_generator_variables(run_dir: str | os.PathLike, *, which: str = "auto",
                             prefer: str = "best") -> tuple[Any, int, str]:
    """Reads a run's generator variables: ``which`` is ``best``, ``latest`` or ``auto`` (``prefer``,
    else the other one if the run lacks it; :func:`jaxrestore.training.methods.preferred_checkpoint`
    says which a run's method prefers). Returns (variables, step, which_used)."""
    if which not in CHOICES:
        raise CheckpointError(f"unknown checkpoint choice {which!r}; use best, latest or auto.")
    run_dir = Path(run_dir).absolute()
    read_config(run_dir)  # clear error for a wrong directory
    if which == "auto":
        candidates = [BEST_DIR, STATE_DIR] if prefer == "best" else [STATE_DIR, BEST_DIR]
    else:
        candidates = [BEST_DIR if which == "best" else STATE_DIR]
    for sub in candidates:
        if not (run_dir / sub).is_dir():
            continue
        manager = ocp.CheckpointManager(run_dir / sub, item_handlers=_reading_handlers())
        step = manager.latest_step()
        if step is None:
            continue
        variables = restore_on_this_host(manager, step, "generator")
        manager.close()
        return variables, int(step), ("best" if sub == BEST_DIR else "latest")
    kind = "" if which == "auto" else f"{which} "
    raise CheckpointError(f"{str(run_dir)!r} holds no {kind}checkpoint yet; train longer or pass "
                          "another run directory.")


def latest_state(run_dir: str | os.PathLike) -> tuple[Any, int] | None:
    """``(state, step)``: a run's latest training state as NumPy arrays on this host, or None when
    its ``checkpoints/`` holds none."""
    directory = Path(run_dir).absolute() / STATE_DIR
    if not directory.is_dir():
        return None
    manager = ocp.CheckpointManager(directory, item_handlers=_reading_handlers())
    step = manager.latest_step()
    if step is None:
        return None
    state = restore_on_this_host(manager, step, "state")
    manager.close()
    return state, int(step)


def _reading_handlers() -> dict:
    """Handlers for every item a run's checkpoints hold, so that reading the generator alone
    does not make orbax warn about the items it was not asked for."""
    return {"generator": ocp.StandardCheckpointHandler(), "state": ocp.StandardCheckpointHandler(),
            "data": grain.checkpoint.CheckpointHandler()}


NETWORK_COLLECTIONS = ("params", "batch_stats")


def network_variables(variables: dict, *, ema: bool = False, source: str = "the run") -> dict:
    """The generator's Flax variables from a checkpoint's ``generator`` item.

    The item may also hold ``ema`` (the moving average of the weights, used in place
    of ``params`` when ``ema`` is set) and ``encoder`` (LSRGAN's L), which are not
    variables of the generator network and are dropped here.
    """
    if ema:
        if "ema" not in variables:
            raise CheckpointError(f"{source} keeps no EMA weights; drop --ema or train with "
                                  "train.ema_decay > 0.")
        variables = {**variables, "params": variables["ema"]}
    return {k: v for k, v in variables.items() if k in NETWORK_COLLECTIONS}


def restore_on_this_host(manager: ocp.CheckpointManager, step: int, item: str):
    """Restores one item as NumPy arrays, whatever devices the run that saved it had
    (a run trained on 8 TPU chips is evaluated on one CPU)."""
    metadata = item_metadata(manager, step, item)
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    abstract = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), metadata)
    restored = manager.restore(step, args=ocp.args.Composite(**{item: ocp.args.StandardRestore(abstract)}))
    return jax.tree.map(np.asarray, restored[item])


def check_same_structure(expected, got, *, source: str) -> None:
    """Raises a CheckpointError naming the first parameter whose presence or shape differs."""
    flat_expected = {jax.tree_util.keystr(k): v for k, v in jax.tree_util.tree_leaves_with_path(expected)}
    flat_got = {jax.tree_util.keystr(k): v for k, v in jax.tree_util.tree_leaves_with_path(got)}
    for name, value in flat_expected.items():
        if name not in flat_got:
            raise CheckpointError(f"{source} has no parameter {name}; it comes from another model "
                                  "(check config.model / config.task against the checkpoint's config.json).")
        if tuple(np.shape(flat_got[name])) != tuple(np.shape(value)):
            raise CheckpointError(
                f"{source}: parameter {name} has shape {tuple(np.shape(flat_got[name]))} but this "
                f"model expects {tuple(np.shape(value))}; the checkpoint comes from another model or "
                "scale (check config.model / config.task against the checkpoint's config.json).")
    extra = sorted(set(flat_got) - set(flat_expected))
    if extra:
        raise CheckpointError(f"{source} has parameter {extra[0]} that this model lacks; it comes "
                              "from another model (check config.model against its config.json).")


def write_generator_run(run_dir: str | os.PathLike, config: ml_collections.ConfigDict, generator,
                        *, overwrite: bool = False) -> None:
    """Writes a run directory holding only config.json and checkpoints/0/generator (what
    ``jaxrestore.convert`` produces), readable by ``load_generator_variables``.

    It is built in a temporary directory beside ``run_dir`` and renamed into place, so a
    failure leaves no half-written run. An existing non-empty ``run_dir`` is refused unless
    ``overwrite``, and is then replaced only once the new run is complete.
    """
    run_dir = Path(run_dir).absolute()
    if not run_dir.parent.is_dir():
        raise CheckpointError(f"the output folder {str(run_dir.parent)!r} does not exist; create it first.")
    if run_dir.exists() and not run_dir.is_dir():
        raise CheckpointError(f"{str(run_dir)!r} is a file; name a directory for the converted run.")
    if run_dir.is_dir() and any(run_dir.iterdir()) and not overwrite:
        raise CheckpointError(f"{str(run_dir)!r} already exists and is not empty; remove it or pass --overwrite.")
    tmp = Path(tempfile.mkdtemp(dir=run_dir.parent, prefix=f".{run_dir.name}.", suffix=".tmp"))
    old = None
    try:
        with atomic_open(tmp / CONFIG_FILE) as f:
            f.write(config.to_json_best_effort(indent=2, sort_keys=True))
        options = ocp.CheckpointManagerOptions(max_to_keep=1, create=True)
        manager = ocp.CheckpointManager(tmp / STATE_DIR, options=options, item_names=("generator",))
        manager.save(0, args=ocp.args.Composite(generator=ocp.args.StandardSave(generator)), force=True)
        manager.wait_until_finished()
        manager.close()
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp's 0700 would hide the run from other users
        if run_dir.is_dir():
            old = run_dir.parent / f"{tmp.name}.old"
            os.rename(run_dir, old)
        os.rename(tmp, run_dir)
    except BaseException:
        if old is not None and not run_dir.exists():
            os.rename(old, run_dir)
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
