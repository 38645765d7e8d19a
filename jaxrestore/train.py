"""The one training loop: state, data, checkpoints, logging, periodic evaluation.

It is handed a task and a method, built from the config by their registries
(:mod:`jaxrestore.training.tasks`, :mod:`jaxrestore.training.methods`), and tests the name of
neither: what depends on them (data, shapes, evaluation, how a run starts, what is
adversarial) it asks the objects. It jits the method's ``pretrain_step`` and ``train_step``
once and drives them with batches from the grain pipeline. Per-step randomness is
``fold_in(key, step)``, and the data iterator's state is checkpointed with the
training state, so a resumed run continues exactly as an uninterrupted one.

Steps run data-parallel over every device (``jaxrestore.runtime.parallel``);
``train.batch_size`` is the global batch.

Outputs in the workdir: ``config.json``, ``checkpoints/`` (keep-N, periodic,
automatic resume), ``best/`` (the generator with the best validation PSNR),
TensorBoard event files (scalars and image grids) and ``samples/grid_<step>.png``
(one row per validation image, each showing LR | bicubic | output | HR for SR, JPEG |
output | clean for artifact removal), and ``fid.jsonl`` when FID is tracked
(``eval.fid_every_steps``).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import ml_collections
from absl import logging
from clu import metric_writers, periodic_actions

from jaxrestore.errors import CheckpointError, ConfigError, TrainingDiverged
from jaxrestore.runtime import checkpoints, parallel, rundir
from jaxrestore.runtime.preemption import StopRequests, TrainingInterrupted
from jaxrestore.runtime.step_metrics import StepMetrics, accumulating, metric_names
from jaxrestore.training import starts
from jaxrestore.training.evaluators import FidTracker
from jaxrestore.training.methods import build_method
from jaxrestore.training.tasks import build_task


def check_config(config: ml_collections.ConfigDict):
    """Refuses settings that cannot work, before anything is written; returns the task."""
    task = build_task(config.task)
    task.check(config)
    for name in ("num_steps", "batch_size", "log_every", "checkpoint_every"):
        if config.train[name] <= 0:
            raise ConfigError(f"train.{name}={config.train[name]} must be positive.")
    eval_cfg = config.eval
    if eval_cfg.get("fid_every_steps", 0) > 0:
        if not eval_cfg.fid_data:
            raise ConfigError("eval.fid_every_steps is set but eval.fid_data is empty; name the images "
                              "to compute FID on (e.g. tfds:coco/2017:validation) or set fid_every_steps=0.")
        if not eval_cfg.fid_weights and not eval_cfg.fid_random_init:
            raise ConfigError("FID needs Inception weights: convert pytorch-fid's pt_inception-2015-12-05 "
                              "file with `python -m jaxrestore.convert inception` and set "
                              "eval.fid_weights=inception_fid.npz (see docs/papers/000-constrained.md, FID), or set "
                              "eval.fid_every_steps=0.")
        if config.data.get("epoch_images", 0) <= 0:
            raise ConfigError("FID records are labelled by epoch: set data.epoch_images to the number of "
                              "training images (COCO 2017 train: 118287).")
    starts.check_pretrained_start(config)  # also: the method exists, trains this task and takes its settings
    return task


def _dummy_batch(shapes: dict) -> dict:
    return {k: jnp.zeros((1, *shape), jnp.float32) for k, shape in shapes.items()}


def _flat_hparams(config) -> dict:
    """Scalar config fields as ``section.field`` hyperparameters for TensorBoard."""
    flat = {}
    for key, value in config.to_dict().items():
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for sub, v in items:
            if isinstance(v, (bool, int, float, str)):
                flat[key if sub is None else f"{key}.{sub}"] = v
    return flat


def _stop_if_diverged(metrics: StepMetrics, manager, workdir) -> None:
    """Raises TrainingDiverged naming the first non-finite step, if there was one (a sync point)."""
    step, losses = metrics.first_bad_step()
    if step == 0:
        return
    manager.wait_until_finished()
    last = manager.latest_step()
    kept = (f"the last good checkpoint (step {last}) in {workdir}/checkpoints is intact"
            if last is not None else "no checkpoint had been written yet")
    losses = ", ".join(f"{k}={v:.4g}" for k, v in sorted(losses.items()) if "loss" in k)
    raise TrainingDiverged(f"training diverged at step {step} (non-finite loss or weights; {losses}); "
                           f"{kept}; lower the learning rate or check the data, then rerun to resume.")


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Trains (resuming from ``workdir`` if it holds a checkpoint); returns the last eval metrics."""
    task = check_config(config)
    workdir = rundir.local_workdir(workdir)
    starts.check_sources(config, workdir)
    rundir.check_writable_workdir(workdir)
    if (workdir / rundir.CONFIG_FILE).is_file():
        if not checkpoints.has_checkpoint(workdir):
            logging.info("%s holds the config of a run that saved no checkpoint; starting afresh with this "
                         "config.", workdir)
        else:
            mismatch = rundir.architecture_mismatch(config, rundir.read_config(workdir))
            if mismatch:
                raise CheckpointError(f"workdir {str(workdir)!r} holds a run of another model ({mismatch}); "
                                      "use a new --workdir or the same config.")
    method = build_method(config)
    train_cfg = config.train
    shapes = task.example_shapes(config.data.patch_size)
    mesh = parallel.data_mesh()
    dataset = task.train_dataset(
        config.data, batch_size=parallel.per_process_batch_size(train_cfg.batch_size), seed=config.data.seed)
    data_iterator = iter(dataset)
    evaluator = task.evaluator(config, method, workdir)
    fid_tracker = FidTracker(config, task, method, evaluator, workdir)

    key = jax.random.key(config.seed)
    init_key, step_key = jax.random.split(key)
    manager = checkpoints.state_manager(workdir, keep=train_cfg.keep_checkpoints)
    best = checkpoints.best_manager(workdir)
    start = manager.latest_step()
    if start is not None:
        abstract = jax.tree.map(  # replicated over this run's devices, whatever the saving run had
            lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=parallel.replicated(mesh)),
            jax.eval_shape(lambda: method.init(init_key, _dummy_batch(shapes))))
        state = checkpoints.restore_state(
            manager, start, abstract, data_iterator, config_note=rundir.config_differences(config, workdir),
            data_position=start * parallel.per_process_batch_size(train_cfg.batch_size))
        logging.info("Resumed from %s at step %d.", workdir / checkpoints.STATE_DIR, start)
    else:
        state = starts.initial_state(method, config, init_key, _dummy_batch(shapes))
        start = 0
    state = parallel.replicate(state, mesh)
    rundir.write_config(workdir, config)

    # The state and the metric record stay replicated (left to itself, the partitioner may split
    # some of them over the data axis, and a checkpoint would then be tied to that device count).
    replicated = parallel.replicated(mesh)
    train_step = jax.jit(accumulating(method.train_step), donate_argnums=(1, 2),
                         out_shardings=(replicated, replicated))
    pretrain_step = jax.jit(accumulating(method.pretrain_step), donate_argnums=(1, 2),
                            out_shardings=(replicated, replicated))
    step_fns = [method.train_step] + ([method.pretrain_step] if train_cfg.pretrain_steps > start else [])
    global_batch = {k: jax.ShapeDtypeStruct((train_cfg.batch_size, *shape), jnp.float32)
                    for k, shape in shapes.items()}
    metrics = StepMetrics(metric_names(step_fns, method.frozen, state, global_batch, step_key),
                          place=lambda tree: parallel.replicate(tree, mesh))
    writer = metric_writers.create_default_writer(workdir, just_logging=jax.process_index() > 0)
    if start == 0:
        writer.write_hparams(_flat_hparams(config))
    progress = periodic_actions.ReportProgress(num_train_steps=train_cfg.num_steps, writer=writer,
                                               every_steps=train_cfg.log_every)
    best_psnr = checkpoints.best_score(workdir)
    eval_metrics: dict = {}
    frozen = method.frozen
    saved_step = start

    def save(step):
        """Checkpoints ``step`` (the caller has checked the state is finite). Waiting for the write,
        instead of letting it overlap the next steps, makes a failed write (a full disk) surface
        here, for this step, with nothing still being written."""
        nonlocal saved_step
        generator = method.generator_variables(state)
        checkpoints.check_space(workdir, step, (state, generator))
        with checkpoints.explained_write_errors(workdir, step):
            checkpoints.save_state(manager, step, state, generator, data_iterator)
            manager.wait_until_finished()
        saved_step = step

    try:
        with StopRequests(process_count=jax.process_count()) as stop:
            if start >= train_cfg.num_steps:
                # Its evaluation at this step is in TensorBoard already: report it, do not write it again.
                logging.info("The run is already at step %d of %d; evaluating only.", start, train_cfg.num_steps)
                eval_metrics = evaluator(state, start, metric_writers.MultiWriter([]))
            compile_start = time.time()
            # The loop syncs with the host only at log, evaluation and checkpoint steps: the next
            # batch is read and placed on the devices while the current step runs.
            batch = parallel.shard_batch(next(data_iterator), mesh) if start < train_cfg.num_steps else None
            for step in range(start + 1, train_cfg.num_steps + 1):
                with jax.profiler.StepTraceAnnotation("train", step_num=step):
                    step_fn = pretrain_step if step <= train_cfg.pretrain_steps else train_step
                    state, metrics.record = step_fn(frozen, state, metrics.record, batch,
                                                    jax.random.fold_in(step_key, step), step)
                if step == start + 1:
                    jax.block_until_ready(metrics.record)
                    logging.info("First step (with compilation) took %.1f s.", time.time() - compile_start)
                progress(step)
                last = step == train_cfg.num_steps
                log, evaluate = step % train_cfg.log_every == 0 or last, step % train_cfg.eval_every == 0 or last
                fid = fid_tracker.every > 0 and (step % fid_tracker.every == 0 or last)
                checkpoint = step % train_cfg.checkpoint_every == 0 or last
                reason = stop.requested(manager, step)
                if log or evaluate or fid or checkpoint or reason:  # the host syncs only here
                    _stop_if_diverged(metrics, manager, workdir)  # never evaluate or save a non-finite state
                if log:
                    writer.write_scalars(step, metrics.pop())
                    writer.flush()
                if evaluate:
                    eval_metrics = evaluator(state, step, writer)
                    if "eval/psnr_y" in eval_metrics and eval_metrics["eval/psnr_y"] > best_psnr:
                        best_psnr = eval_metrics["eval/psnr_y"]
                        with checkpoints.explained_write_errors(workdir, step):
                            checkpoints.save_best(best, step, method.generator_variables(state), best_psnr)
                if fid:
                    fid_tracker(state, step, writer)
                if checkpoint or (reason and saved_step != step):
                    save(step)
                if reason:
                    writer.flush()
                    raise TrainingInterrupted(
                        f"stopped by {reason} at step {step} of {train_cfg.num_steps}: checkpoint saved in "
                        f"{workdir / checkpoints.STATE_DIR / str(step)}; rerun the same command to resume.",
                        step=step)
                if not last:
                    batch = parallel.shard_batch(next(data_iterator), mesh)
    finally:
        with checkpoints.explained_write_errors(workdir, saved_step):
            for m in (manager, best):
                m.wait_until_finished()
                m.close()
        writer.close()
    return eval_metrics


def final_line(metrics: dict, workdir: str) -> str:
    """The last line a run prints: the model's and the task's baseline's (bicubic for SR, plain
    JPEG for artifact removal) PSNR-Y/SSIM-Y on the held-out images; a GAN prior's run
    names its sample grids instead."""
    if "eval/psnr_y" not in metrics:  # no held-out images (eval.data empty), or a GAN prior's samples
        return f"training done; checkpoints (and sample grids, if any) in {workdir}"
    baseline = next(k[len("eval/"):-len("_psnr_y")] for k in metrics
                    if k.startswith("eval/") and k.endswith("_psnr_y") and k != "eval/psnr_y")
    return (f"final eval: PSNR-Y {metrics['eval/psnr_y']:.3f} dB ({baseline} "
            f"{metrics[f'eval/{baseline}_psnr_y']:.3f}), SSIM-Y {metrics['eval/ssim_y']:.4f} "
            f"({baseline} {metrics[f'eval/{baseline}_ssim_y']:.4f}); outputs in {workdir}")
