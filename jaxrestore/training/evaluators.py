"""A run's periodic evaluation: PSNR/SSIM-Y on held-out images against the task's classical
baseline with a comparison grid (:class:`Evaluator`), a GAN prior's sample grid from fixed latents
(:class:`SampleGrid`), and FID (:class:`FidTracker`). The task object chooses which
(:meth:`jaxrestore.training.tasks.Task.evaluator`); each writes to TensorBoard and ``samples/``."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
from absl import logging

from jaxrestore.data.pipeline import make_eval_images
from jaxrestore.errors import ConfigError
from jaxrestore.evaluation.grids import comparison_grid
from jaxrestore.evaluation.scoring import evaluate_images
from jaxrestore.imaging.io import write_image
from jaxrestore.metrics.fid import (InceptionFeatures, append_fid_record, feature_statistics,
                                    frechet_distance)
from jaxrestore.runtime import checkpoints, parallel
from jaxrestore.weights.inception import random_inception_variables


class Evaluator:
    """Periodic evaluation on held-out images: PSNR/SSIM-Y, the task's classical baseline
    (bicubic for SR, the plain JPEG for artifact removal), image grid."""

    def __init__(self, config, task, method, workdir: Path):
        self.method, self.workdir = method, workdir
        self.task, self.options = task.name, task.options
        self.images = make_eval_images(config.eval.data, count=config.eval.max_images or None,
                                       tfds_data_dir=config.data.tfds_data_dir) if config.eval.data else {}
        self.grid_images = config.train.grid_images
        self.baseline, self.baseline_name, self.grid_name = task.baseline()
        # One restorer for the whole run, so its jitted apply compiles once per image shape.
        self.restorer = task.restorer(method.generator, None)
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

    def __init__(self, config, task, method, evaluator, workdir: Path):
        eval_cfg = config.eval
        self.every = int(eval_cfg.get("fid_every_steps", 0))
        if self.every <= 0:
            return
        self.method, self.workdir = method, workdir
        self.steps_per_epoch = config.data.epoch_images / config.train.batch_size
        if eval_cfg.fid_weights:
            weights = eval_cfg.fid_weights
        else:  # check_config made sure this was asked for explicitly
            logging.warning("FID on RANDOM Inception weights (eval.fid_random_init): the values mean nothing.")
            weights = random_inception_variables(jax.random.key(config.seed + 2))
        images = make_eval_images(eval_cfg.fid_data, field="eval.fid_data", count=eval_cfg.fid_max_images or None,
                                  tfds_data_dir=config.data.tfds_data_dir)
        self.extractor = InceptionFeatures(weights, batch_size=max(1, min(50, len(images))))
        if len(images) < 2:
            raise ConfigError(f"eval.fid_data={eval_cfg.fid_data!r} holds {len(images)} image(s); FID needs "
                              "at least 2 (and thousands for a meaningful value).")
        clean, self.produce = task.fid_sets(list(images.values()), evaluator, seed=config.seed)
        logging.info("FID: reference statistics of %d clean images.", len(clean))
        self.reference = feature_statistics(self.extractor(clean))

    def __call__(self, state, step: int, writer) -> float:
        variables = checkpoints.network_variables(self.method.generator_variables(state))
        restored = self.produce(parallel.local_copy(variables))
        fid = frechet_distance(*self.reference, *feature_statistics(self.extractor(restored)))
        epoch = step / self.steps_per_epoch
        writer.write_scalars(step, {"eval/fid": fid})
        if jax.process_index() == 0:
            append_fid_record(self.workdir, step=step, epoch=epoch, fid=fid)
        logging.info("step %d (epoch %.2f): FID %.3f on %d images", step, epoch, fid, len(restored))
        return fid


class SampleGrid:
    """Evaluation of a GAN prior: G (inference mode, running BatchNorm statistics) on
    ``train.grid_images`` x ``train.grid_images`` fixed latents (seeded by ``config.seed``),
    written to ``samples/grid_<step>.png`` and TensorBoard; returns no metrics (a prior has
    no held-out PSNR, so no ``best/`` checkpoint). FID of its samples: ``eval.fid_every_steps``
    (:meth:`jaxrestore.training.tasks.Generation.fid_sets`)."""

    restorer = None
    chunk = 50  # samples per call of G

    def __init__(self, config, method, workdir):
        self.method, self.workdir = method, workdir
        self.side = max(1, int(config.train.grid_images))
        self.z = self.latents(jax.random.key(config.seed + 7), self.side ** 2)
        self._apply = jax.jit(lambda v, z: method.generator.apply(v, z, train=False))

    def latents(self, key, n: int):
        """``n`` latents of the prior's own distribution."""
        return self.method.latents(key, n)

    def sample_uint8(self, variables, z) -> np.ndarray:
        """G(z) as uint8 NHWC images, in calls of at most ``chunk`` latents (the last padded, so
        G compiles once)."""
        out = []
        for start in range(0, z.shape[0], self.chunk):
            part = z[start:start + self.chunk]
            if start and part.shape[0] < self.chunk:
                part = np.concatenate([part, np.zeros((self.chunk - part.shape[0], part.shape[1]), part.dtype)])
            out.append(np.asarray(self._apply(variables, part))[:z.shape[0] - start])
        images = np.concatenate(out)
        return np.round(np.clip((images + 1.0) * 127.5, 0, 255)).astype(np.uint8)

    def __call__(self, state, step: int, writer) -> dict:
        variables = checkpoints.network_variables(self.method.generator_variables(state))
        images = self.sample_uint8(variables, self.z)
        n, h, w, c = images.shape
        grid = images.reshape(self.side, self.side, h, w, c).transpose(0, 2, 1, 3, 4).reshape(self.side * h,
                                                                                          self.side * w, c)
        writer.write_images(step, {"eval/samples": grid[None]})
        if jax.process_index() == 0:
            write_image(self.workdir / "samples" / f"grid_{step:08d}.png", grid)
        return {}
