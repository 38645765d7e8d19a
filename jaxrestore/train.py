"""The one training loop: state, data, checkpoints, logging, periodic evaluation.

It knows nothing of the method it runs (see ``jaxrestore.methods``): it builds
the method from the config, jits its ``pretrain_step`` and ``train_step`` once,
and drives them with batches from the grain pipeline. Per-step randomness is
``fold_in(key, step)``, and the data iterator's state is checkpointed with the
training state, so a resumed run continues exactly as an uninterrupted one.

Steps run data-parallel over every device (``jaxrestore.parallel``);
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
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
from absl import logging
from clu import metric_writers, periodic_actions

from jaxrestore import checkpoints, parallel
from jaxrestore.preemption import StopRequests, TrainingInterrupted
from jaxrestore.step_metrics import StepMetrics, accumulating, metric_names
from jaxrestore.data.pipeline import make_eval_images
from jaxrestore.errors import CheckpointError, ConfigError, TrainingDiverged
from jaxrestore.evaluation import evaluate_images
from jaxrestore.inference import restorer_for_config
from jaxrestore.methods import build_method
from jaxrestore.imaging.io import write_image
from jaxrestore.summaries import comparison_grid
from jaxrestore.tasks import build_task


def check_config(config: ml_collections.ConfigDict) -> None:
    """Refuses settings that cannot work, before anything is written."""
    build_task(config.task).check(config)
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
                              "eval.fid_weights=inception_fid.npz (see README), or set eval.fid_every_steps=0.")
        if config.data.get("epoch_images", 0) <= 0:
            raise ConfigError("FID records are labelled by epoch: set data.epoch_images to the number of "
                              "training images (COCO 2017 train: 118287).")
    if config.method == "constrained" or (config.loss.adversarial_weight > 0
                                          and config.method != "unconditional_gan"):
        if not config.init_from and config.train.pretrain_steps <= 0:
            raise ConfigError(
                "this GAN config starts from a pretrained generator: set --config.init_from=WORKDIR "
                f"of a {fidelity_config(config)} run, or --config.train.pretrain_steps=N to pre-train it here.")
    if config.get("init_encoder_from") and not config.model.get("encoder"):
        raise ConfigError("init_encoder_from is set but this config has no encoder (model.encoder is empty); "
                          "drop init_encoder_from or use configs/lsrgan.py / clsrgan.py.")


def fidelity_config(config) -> str:
    """The config file whose fidelity-only run a GAN config of this method and task starts from."""
    if config.method == "esrgan":
        return "configs/rrdbnet_psnr.py"
    return "configs/argan.py" if config.task.name == "jpeg" else "configs/srresnet.py"


def _check_sources(config, workdir: Path) -> None:
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


def example_shapes(config) -> dict[str, tuple[int, int, int]]:
    """HWC shapes of one training example's ``degraded`` and ``target`` under this config."""
    return build_task(config.task).example_shapes(config.data.patch_size)


def _dummy_batch(config) -> dict:
    return {k: jnp.zeros((1, *shape), jnp.float32) for k, shape in example_shapes(config).items()}


# Model fields that do not shape the generator: a generator may come from a run that
# trained it beside another discriminator or encoder (or none, as converted weights).
_NOT_GENERATOR_FIELDS = ("discriminator", "d_features", "encoder", "encoder_blocks", "encoder_features")


def _check_same_generator(run_dir: str, config, what: str) -> None:
    mismatch = checkpoints.architecture_mismatch(config, checkpoints.read_config(run_dir),
                                                 ignore=_NOT_GENERATOR_FIELDS)
    if mismatch:
        raise CheckpointError(f"{what} {run_dir!r} was trained with another generator: {mismatch}; "
                              "start from a run of the same model.")


def _initial_state(method, config, key):
    state = method.init(key, _dummy_batch(config))
    encoder_from = None
    if config.init_from:
        variables, step, which = checkpoints.load_generator_variables(config.init_from)  # checked by _check_sources
        expected = checkpoints.network_variables(method.generator_variables(state))
        checkpoints.check_same_structure(expected, checkpoints.network_variables(variables),
                                         source=f"init_from {config.init_from!r}")
        if "encoder" in variables and config.model.get("encoder"):
            encoder_from = config.init_from
        variables = {k: v for k, v in variables.items() if k != "encoder"}
        state = method.with_generator(state, jax.tree.map(jnp.asarray, variables))
        logging.info("Generator initialised from %s (%s checkpoint, step %d).", config.init_from, which, step)
    if config.get("init_encoder_from"):
        encoder_from = config.init_encoder_from
    if encoder_from:
        variables, step, _ = checkpoints.load_generator_variables(encoder_from)
        source = f"the encoder L of {encoder_from!r}"
        if "encoder" not in variables:
            raise CheckpointError(f"{encoder_from!r} holds no encoder L; pass a configs/rrdbnet_psnr.py "
                                  "run (trained with model.encoder='lsr') as init_encoder_from.")
        checkpoints.check_same_structure(method.generator_variables(state)["encoder"], variables["encoder"],
                                         source=source)
        state = method.with_encoder(state, jax.tree.map(jnp.asarray, variables["encoder"]))
        logging.info("Encoder L initialised from %s (step %d).", encoder_from, step)
    elif (config.model.get("encoder") and config.loss.adversarial_weight > 0
          and config.train.pretrain_steps <= 0):
        raise ConfigError("LSRGAN's encoder L starts from stage 1: set --config.init_encoder_from=WORKDIR of "
                          "a configs/rrdbnet_psnr.py run (or init_from such a run), or "
                          "--config.train.pretrain_steps=N to pre-train it here.")
    return state


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


class Evaluator:
    """Periodic evaluation on held-out images: PSNR/SSIM-Y, the task's classical baseline
    (bicubic for SR, the plain JPEG for artifact removal), image grid."""

    def __init__(self, config, method, workdir: Path):
        self.method, self.workdir = method, workdir
        task = build_task(config.task)
        self.task, self.options = task.name, task.options
        self.images = make_eval_images(config.eval.data, count=config.eval.max_images or None,
                                       tfds_data_dir=config.data.tfds_data_dir) if config.eval.data else {}
        self.grid_images = config.train.grid_images
        self.baseline, self.baseline_name, self.grid_name = task.baseline()
        # One restorer for the whole run, so its jitted apply compiles once per image shape.
        self.restorer = restorer_for_config(config, method.generator, None)
        self.baseline_result = (evaluate_images(self.baseline, self.images, task=self.task, **self.options)
                                if self.images else None)

    def __call__(self, state, step: int, writer) -> dict:
        if not self.images:
            return {}
        restorer = self.restorer
        variables = checkpoints.network_variables(self.method.generator_variables(state))
        restorer.variables = parallel.local_copy(variables)
        result = evaluate_images(restorer, self.images, task=self.task, **self.options)
        b = self.baseline_name
        metrics = {"eval/psnr_y": result["psnr_y"], "eval/ssim_y": result["ssim_y"],
                   f"eval/{b}_psnr_y": self.baseline_result["psnr_y"],
                   f"eval/{b}_ssim_y": self.baseline_result["ssim_y"]}
        writer.write_scalars(step, metrics)
        if self.grid_images > 0:
            grid = comparison_grid(self.images, restorer, self.baseline, task=self.task,
                                   count=self.grid_images, **self.options)
            writer.write_images(step, {self.grid_name: grid[None]})
            if jax.process_index() == 0:
                write_image(self.workdir / "samples" / f"grid_{step:08d}.png", grid)
        logging.info("step %d: eval PSNR-Y %.3f dB (%s %.3f), SSIM-Y %.4f (%s %.4f)", step,
                     metrics["eval/psnr_y"], b, metrics[f"eval/{b}_psnr_y"], metrics["eval/ssim_y"],
                     b, metrics[f"eval/{b}_ssim_y"])
        return metrics


class FidTracker:
    """FID between the clean and the restored ``eval.fid_data`` images (000_* Figure 4), or
    for a GAN prior between those images and as many samples (the task's ``fid_sets``).

    The clean images are the task's targets (the luma for JPEG, the modcropped HR
    for SR) and the restored ones the model's outputs on their degraded versions;
    grey images go through Inception as three equal channels. The clean set's
    statistics are computed once. Each evaluation writes ``eval/fid`` to
    TensorBoard and a ``{"step", "epoch", "fid"}`` line to ``fid.jsonl``, which
    ``python -m jaxrestore.plot fid`` draws.
    """

    def __init__(self, config, method, evaluator, workdir: Path):
        from jaxrestore.metrics.fid import InceptionFeatures, feature_statistics

        eval_cfg = config.eval
        self.every = int(eval_cfg.get("fid_every_steps", 0))
        if self.every <= 0:
            return
        self.method, self.workdir = method, workdir
        self.steps_per_epoch = config.data.epoch_images / config.train.batch_size
        if eval_cfg.fid_weights:
            weights = eval_cfg.fid_weights
        else:  # check_config made sure this was asked for explicitly
            from jaxrestore.weights.inception import random_inception_variables

            logging.warning("FID on RANDOM Inception weights (eval.fid_random_init): the values mean nothing.")
            weights = random_inception_variables(jax.random.key(config.seed + 2))
        images = make_eval_images(eval_cfg.fid_data, field="eval.fid_data", count=eval_cfg.fid_max_images or None,
                                  tfds_data_dir=config.data.tfds_data_dir)
        self.extractor = InceptionFeatures(weights, batch_size=max(1, min(50, len(images))))
        if len(images) < 2:
            raise ConfigError(f"eval.fid_data={eval_cfg.fid_data!r} holds {len(images)} image(s); FID needs "
                              "at least 2 (and thousands for a meaningful value).")
        clean, self.produce = build_task(config.task).fid_sets(list(images.values()), evaluator, seed=config.seed)
        logging.info("FID: reference statistics of %d clean images.", len(clean))
        self.reference = feature_statistics(self.extractor(clean))

    def __call__(self, state, step: int, writer) -> float:
        from jaxrestore.metrics.fid import append_fid_record, feature_statistics, frechet_distance

        variables = checkpoints.network_variables(self.method.generator_variables(state))
        restored = self.produce(parallel.local_copy(variables))
        fid = frechet_distance(*self.reference, *feature_statistics(self.extractor(restored)))
        epoch = step / self.steps_per_epoch
        writer.write_scalars(step, {"eval/fid": fid})
        if jax.process_index() == 0:
            append_fid_record(self.workdir, step=step, epoch=epoch, fid=fid)
        logging.info("step %d (epoch %.2f): FID %.3f on %d images", step, epoch, fid, len(restored))
        return fid


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Trains (resuming from ``workdir`` if it holds a checkpoint); returns the last eval metrics."""
    check_config(config)
    workdir = checkpoints.local_workdir(workdir)
    _check_sources(config, workdir)
    checkpoints.check_writable_workdir(workdir)
    if (workdir / checkpoints.CONFIG_FILE).is_file():
        if not checkpoints.has_checkpoint(workdir):
            logging.info("%s holds the config of a run that saved no checkpoint; starting afresh with this "
                         "config.", workdir)
        else:
            mismatch = checkpoints.architecture_mismatch(config, checkpoints.read_config(workdir))
            if mismatch:
                raise CheckpointError(f"workdir {str(workdir)!r} holds a run of another model ({mismatch}); "
                                      "use a new --workdir or the same config.")
    method = build_method(config)
    train_cfg = config.train
    mesh = parallel.data_mesh()
    dataset = build_task(config.task).train_dataset(
        config.data, batch_size=parallel.per_process_batch_size(train_cfg.batch_size), seed=config.data.seed)
    data_iterator = iter(dataset)
    evaluator = build_task(config.task).evaluator(config, method, workdir)
    fid_tracker = FidTracker(config, method, evaluator, workdir)

    key = jax.random.key(config.seed)
    init_key, step_key = jax.random.split(key)
    manager = checkpoints.state_manager(workdir, keep=train_cfg.keep_checkpoints)
    best = checkpoints.best_manager(workdir)
    start = manager.latest_step()
    if start is not None:
        abstract = jax.tree.map(  # replicated over this run's devices, whatever the saving run had
            lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=parallel.replicated(mesh)),
            jax.eval_shape(lambda: method.init(init_key, _dummy_batch(config))))
        state = checkpoints.restore_state(
            manager, start, abstract, data_iterator, config_note=checkpoints.config_differences(config, workdir),
            data_position=start * parallel.per_process_batch_size(train_cfg.batch_size))
        logging.info("Resumed from %s at step %d.", workdir / checkpoints.STATE_DIR, start)
    else:
        state = _initial_state(method, config, init_key)
        start = 0
    state = parallel.replicate(state, mesh)
    checkpoints.write_config(workdir, config)

    # The state and the metric record stay replicated (left to itself, the partitioner may split
    # some of them over the data axis, and a checkpoint would then be tied to that device count).
    replicated = parallel.replicated(mesh)
    train_step = jax.jit(accumulating(method.train_step), donate_argnums=(1, 2),
                         out_shardings=(replicated, replicated))
    pretrain_step = jax.jit(accumulating(method.pretrain_step), donate_argnums=(1, 2),
                            out_shardings=(replicated, replicated))
    step_fns = [method.train_step] + ([method.pretrain_step] if train_cfg.pretrain_steps > start else [])
    global_batch = {k: jax.ShapeDtypeStruct((train_cfg.batch_size, *shape), jnp.float32)
                    for k, shape in example_shapes(config).items()}
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
