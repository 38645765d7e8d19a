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
(LR | bicubic | output | HR rows on validation images).
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
from jaxrestore.data.pipeline import make_eval_images, make_train_dataset
from jaxrestore.errors import CheckpointError, ConfigError, TrainingDiverged
from jaxrestore.evaluation import BicubicRestorer, evaluate_images
from jaxrestore.inference import ModelRestorer
from jaxrestore.methods import build_method
from jaxrestore.imaging.io import write_image
from jaxrestore.summaries import comparison_grid


def check_config(config: ml_collections.ConfigDict) -> None:
    """Refuses settings that cannot work, before anything is written."""
    scale, patch = config.task.scale, config.data.patch_size
    if patch % scale:
        raise ConfigError(f"data.patch_size={patch} is not divisible by task.scale={scale}; "
                          "choose a multiple of the scale.")
    for name in ("num_steps", "batch_size", "log_every", "checkpoint_every"):
        if config.train[name] <= 0:
            raise ConfigError(f"train.{name}={config.train[name]} must be positive.")
    if config.method != "joint" or config.loss.adversarial_weight > 0:
        if not config.init_from and config.train.pretrain_steps <= 0:
            raise ConfigError(
                "this GAN config starts from a pretrained generator: set --config.init_from=WORKDIR "
                "of a configs/srresnet.py run, or --config.train.pretrain_steps=N to pre-train it here.")


def _dummy_batch(config) -> dict:
    patch, scale = config.data.patch_size, config.task.scale
    return {"degraded": jnp.zeros((1, patch // scale, patch // scale, 3), jnp.float32),
            "target": jnp.zeros((1, patch, patch, 3), jnp.float32)}


def _initial_state(method, config, key):
    state = method.init(key, _dummy_batch(config))
    if config.init_from:
        source_config = checkpoints.read_config(config.init_from)
        mismatch = checkpoints.architecture_mismatch(config, source_config)
        if mismatch:
            raise CheckpointError(f"init_from {config.init_from!r} was trained with another "
                                  f"generator: {mismatch}; start from a run of the same model.")
        variables, step, which = checkpoints.load_generator_variables(config.init_from)
        expected = method.generator_variables(state)
        checkpoints.check_same_structure(expected, variables, source=f"init_from {config.init_from!r}")
        state = method.with_generator(state, jax.tree.map(jnp.asarray, variables))
        logging.info("Generator initialised from %s (%s checkpoint, step %d).", config.init_from, which, step)
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


class _MeanAccumulator:
    """Averages per-step metric dicts between two log points (host side)."""

    def __init__(self):
        self.sums, self.count = {}, 0

    def add(self, metrics: dict) -> None:
        for k, v in metrics.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
        self.count += 1

    def pop(self) -> dict:
        means = {k: v / self.count for k, v in self.sums.items()}
        if "train/accept" in means:
            means["train/accept_rate"] = means.pop("train/accept")
        self.sums, self.count = {}, 0
        return means


def with_finite_check(step_fn):
    """Adds ``finite``: whether every loss and every float in the new state is finite, so a
    diverged state is caught before it can be checkpointed."""

    def checked(frozen, state, batch, key):
        state, metrics = step_fn(frozen, state, batch, key)
        leaves = [jnp.asarray(x) for x in jax.tree.leaves((state, metrics))]
        leaves = [x for x in leaves if jnp.issubdtype(x.dtype, jnp.floating)]
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))
        return state, {**metrics, "finite": finite}

    return checked


def _stop_if_diverged(metrics: dict, step: int, manager, workdir) -> None:
    if metrics.pop("finite"):
        return
    manager.wait_until_finished()
    last = manager.latest_step()
    kept = (f"the last good checkpoint (step {last}) in {workdir}/checkpoints is intact"
            if last is not None else "no checkpoint had been written yet")
    losses = ", ".join(f"{k}={float(v):.4g}" for k, v in sorted(metrics.items()) if "loss" in k)
    raise TrainingDiverged(f"training diverged at step {step} (non-finite loss or weights; {losses}); "
                           f"{kept}; lower the learning rate or check the data, then rerun to resume.")


class Evaluator:
    """Periodic evaluation on held-out images: PSNR/SSIM-Y, bicubic reference, image grid."""

    def __init__(self, config, method, workdir: Path):
        self.method, self.workdir = method, workdir
        self.scale, self.task = config.task.scale, config.task.name
        self.images = make_eval_images(config.eval.data, count=config.eval.max_images or None,
                                       tfds_data_dir=config.data.tfds_data_dir) if config.eval.data else {}
        self.grid_images = config.train.grid_images
        # Bicubic through the same uint8 RGB pipeline as the model (evaluation.py explains
        # the Y-channel variant behind the published bicubic rows).
        self.bicubic = BicubicRestorer(self.scale, luma_reference=False)
        # One restorer for the whole run, so its jitted apply compiles once per image shape.
        self.restorer = ModelRestorer(method.generator, None, task=self.task, scale=self.scale)
        self.baseline = evaluate_images(self.bicubic, self.images, scale=self.scale) if self.images else None

    def __call__(self, state, step: int, writer) -> dict:
        if not self.images:
            return {}
        restorer = self.restorer
        restorer.variables = self.method.generator_variables(state)
        result = evaluate_images(restorer, self.images, scale=self.scale)
        metrics = {"eval/psnr_y": result["psnr_y"], "eval/ssim_y": result["ssim_y"],
                   "eval/bicubic_psnr_y": self.baseline["psnr_y"],
                   "eval/bicubic_ssim_y": self.baseline["ssim_y"]}
        writer.write_scalars(step, metrics)
        if self.grid_images > 0:
            grid = comparison_grid(self.images, restorer, self.bicubic, scale=self.scale,
                                   count=self.grid_images)
            writer.write_images(step, {"eval/lr_bicubic_output_hr": grid[None]})
            if jax.process_index() == 0:
                write_image(self.workdir / "samples" / f"grid_{step:08d}.png", grid)
        logging.info("step %d: eval PSNR-Y %.3f dB (bicubic %.3f), SSIM-Y %.4f (bicubic %.4f)", step,
                     metrics["eval/psnr_y"], metrics["eval/bicubic_psnr_y"], metrics["eval/ssim_y"],
                     metrics["eval/bicubic_ssim_y"])
        return metrics


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Trains (resuming from ``workdir`` if it holds a checkpoint); returns the last eval metrics."""
    check_config(config)
    workdir = Path(workdir).absolute()
    if (workdir / checkpoints.CONFIG_FILE).is_file():
        mismatch = checkpoints.architecture_mismatch(config, checkpoints.read_config(workdir))
        if mismatch:
            raise CheckpointError(f"workdir {str(workdir)!r} holds a run of another model ({mismatch}); "
                                  "use a new --workdir or the same config.")
    method = build_method(config)
    train_cfg = config.train
    mesh = parallel.data_mesh()
    dataset = make_train_dataset(config.data, task=config.task.name, scale=config.task.scale,
                                 batch_size=parallel.per_process_batch_size(train_cfg.batch_size),
                                 seed=config.data.seed)
    data_iterator = iter(dataset)
    evaluator = Evaluator(config, method, workdir)

    key = jax.random.key(config.seed)
    init_key, step_key = jax.random.split(key)
    manager = checkpoints.state_manager(workdir, keep=train_cfg.keep_checkpoints)
    best = checkpoints.best_manager(workdir)
    start = manager.latest_step()
    if start is not None:
        abstract = jax.tree.map(  # replicated over this run's devices, whatever the saving run had
            lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=parallel.replicated(mesh)),
            jax.eval_shape(lambda: method.init(init_key, _dummy_batch(config))))
        state = checkpoints.restore_state(manager, start, abstract, data_iterator)
        logging.info("Resumed from %s at step %d.", workdir / checkpoints.STATE_DIR, start)
    else:
        state = _initial_state(method, config, init_key)
        start = 0
    state = parallel.replicate(state, mesh)
    checkpoints.write_config(workdir, config)

    train_step = jax.jit(with_finite_check(method.train_step), donate_argnums=(1,))
    pretrain_step = jax.jit(with_finite_check(method.pretrain_step), donate_argnums=(1,))
    writer = metric_writers.create_default_writer(workdir, just_logging=jax.process_index() > 0)
    if start == 0:
        writer.write_hparams(_flat_hparams(config))
    progress = periodic_actions.ReportProgress(num_train_steps=train_cfg.num_steps, writer=writer,
                                               every_steps=train_cfg.log_every)
    accumulator = _MeanAccumulator()
    best_psnr = checkpoints.best_score(workdir)
    eval_metrics: dict = {}
    frozen = method.frozen
    try:
        if start >= train_cfg.num_steps:
            logging.info("The run is already at step %d of %d; evaluating only.", start, train_cfg.num_steps)
            eval_metrics = evaluator(state, start, writer)
        compile_start = time.time()
        for step in range(start + 1, train_cfg.num_steps + 1):
            with jax.profiler.StepTraceAnnotation("train", step_num=step):
                batch = parallel.shard_batch(next(data_iterator), mesh)
                step_fn = pretrain_step if step <= train_cfg.pretrain_steps else train_step
                state, metrics = step_fn(frozen, state, batch, jax.random.fold_in(step_key, step))
            metrics = jax.device_get(metrics)
            if step == start + 1:
                logging.info("First step (with compilation) took %.1f s.", time.time() - compile_start)
            _stop_if_diverged(metrics, step, manager, workdir)
            accumulator.add(metrics)
            progress(step)
            last = step == train_cfg.num_steps
            if step % train_cfg.log_every == 0 or last:
                writer.write_scalars(step, accumulator.pop())
            if step % train_cfg.eval_every == 0 or last:
                eval_metrics = evaluator(state, step, writer)
                if eval_metrics and eval_metrics["eval/psnr_y"] > best_psnr:
                    best_psnr = eval_metrics["eval/psnr_y"]
                    checkpoints.save_best(best, step, method.generator_variables(state), best_psnr)
            if step % train_cfg.checkpoint_every == 0 or last:
                checkpoints.save_state(manager, step, state, method.generator_variables(state),
                                       data_iterator)
            writer.flush()
    finally:
        for m in (manager, best):
            m.wait_until_finished()
            m.close()
        writer.close()
    return eval_metrics
