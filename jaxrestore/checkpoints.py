"""The run directory: configuration, checkpoints and the best generator.

A run directory (the ``--workdir`` of ``jaxrestore.main``) holds::

    config.json                  the run's ConfigDict (rebuilds the model for evaluate/restore)
    checkpoints/<step>/state     the whole training state (all networks, optimizer states, step)
                       /data     the data iterator's state (a resumed run sees the same batches)
                       /generator the generator's variables alone (what evaluate/restore/init_from read)
    best/<step>/generator        the generator with the best validation PSNR so far

Which generator a command reads (``--which``): ``best`` or ``latest`` when asked;
``auto`` (the default) reads ``best/`` for a fidelity-only run and the latest
checkpoint for a GAN run (:func:`preferred_checkpoint`).

Everything is written through orbax ``CheckpointManager``s, which write each
step into a temporary directory and rename it when complete: a run killed while
saving leaves only a temporary directory that the next run ignores, so it
resumes from the previous checkpoint. Converted foreign weights (``jaxrestore.convert``)
are run directories with only ``checkpoints/0/generator``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

from jaxrestore.atomic import atomic_open
from jaxrestore.errors import CheckpointError

CONFIG_FILE = "config.json"
STATE_DIR = "checkpoints"
BEST_DIR = "best"
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


def state_manager(workdir: str | os.PathLike, *, keep: int = 3) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
    return ocp.CheckpointManager(Path(workdir).absolute() / STATE_DIR, options=options,
                                 item_names=("state", "data", "generator"))


def best_manager(workdir: str | os.PathLike) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(max_to_keep=1, create=True)
    return ocp.CheckpointManager(Path(workdir).absolute() / BEST_DIR, options=options,
                                 item_names=("generator",))


def save_state(manager: ocp.CheckpointManager, step: int, state, generator, data_iterator) -> None:
    import grain

    args = {"state": ocp.args.StandardSave(state), "generator": ocp.args.StandardSave(generator)}
    if data_iterator is not None:
        args["data"] = grain.checkpoint.CheckpointSave(data_iterator)
    manager.save(step, args=ocp.args.Composite(**args), force=True)


def restore_state(manager: ocp.CheckpointManager, step: int, abstract_state, data_iterator):
    """Restores the training state into the structure (and shardings) of ``abstract_state``
    and the iterator in place."""
    import grain

    args = {"state": ocp.args.StandardRestore(abstract_state)}
    if data_iterator is not None:
        args["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
    restored = manager.restore(step, args=ocp.args.Composite(**args))
    return restored["state"]


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


def is_gan_run(config: ml_collections.ConfigDict) -> bool:
    """Whether a run trains its generator against a discriminator (SRGAN, cSRGAN, ARGAN-VGG,
    cARGAN, the ESRGAN family's stage 2) rather than on a fidelity loss alone."""
    loss = config.get("loss", {})
    return (config.get("method") in ("constrained", "unconditional_gan", "began")
            or float(loss.get("adversarial_weight", 0.0)) > 0)


def preferred_checkpoint(config: ml_collections.ConfigDict) -> str:
    """What ``which="auto"`` reads first: ``best`` (validation PSNR-Y) for a fidelity-only run,
    ``latest`` for a GAN run, whose best-PSNR generator is usually one from before or early
    in the GAN phase (the adversarial term trades PSNR for realism, which is the point)."""
    return "latest" if is_gan_run(config) else "best"


def load_generator_variables(run_dir: str | os.PathLike, *, which: str = "auto") -> tuple[Any, int, str]:
    """Reads a run's generator variables: ``which`` is ``best``, ``latest`` or ``auto``
    (:func:`preferred_checkpoint` of the run's config, else the other one if the run lacks
    it). Returns (variables, step, which_used)."""
    if which not in ("auto", "best", "latest"):
        raise CheckpointError(f"unknown checkpoint choice {which!r}; use best, latest or auto.")
    run_dir = Path(run_dir).absolute()
    config = read_config(run_dir)  # clear error for a wrong directory
    if which == "auto":
        candidates = [BEST_DIR, STATE_DIR] if preferred_checkpoint(config) == "best" else [STATE_DIR, BEST_DIR]
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


def _reading_handlers() -> dict:
    """Handlers for every item a run's checkpoints hold, so that reading the generator alone
    does not make orbax warn about the items it was not asked for."""
    import grain

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
    metadata = manager.item_metadata(step)[item]
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
    import shutil
    import tempfile

    from jaxrestore.atomic import _umask

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
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's 0700 would hide the run from other users
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
