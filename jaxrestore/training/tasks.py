"""Tasks: what a run restores, as one object per task chosen by ``config.task.name``.

The training loop and its evaluators never test a task's name; they ask the task object for
what depends on it:

- ``check(config)``: settings that cannot work for this task, before anything is written;
- ``example_shapes(patch)``: HWC shapes of one training example's arrays;
- ``train_dataset(data_cfg, batch_size=, seed=)``: the grain dataset of training examples;
- ``baseline()``: the classical baseline restorer, its metric prefix and the grid's name;
- ``protocol`` and ``options``: the evaluation protocol (:mod:`jaxrestore.evaluation.protocols`)
  and the options it takes (``scale=`` / ``quality=``);
- ``fid_sets(images, evaluator, seed=)``: the reference images FID is computed against and
  a function of the generator's variables that makes the images to compare with them;
- ``restorer(generator, variables, source=)``: a restorer of this task's inputs;
- ``evaluator(config, method, workdir)``: the run's periodic evaluation;
- ``fidelity_config``: the config whose fidelity-only run a GAN config of this task starts from.

A new task is a new class in :data:`TASKS`.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from jaxrestore.data.pipeline import make_train_dataset
from jaxrestore.data.transforms import make_degradation
from jaxrestore.errors import ConfigError
from jaxrestore.evaluation.base import luma_uint8
from jaxrestore.evaluation.jpeg import JpegProtocol, JpegRestorer, degrade_jpeg
from jaxrestore.evaluation.restorers import ModelRestorer
from jaxrestore.evaluation.sr import BicubicRestorer, SRProtocol, degrade_sr, modcrop
from jaxrestore.imaging.jpeg import check_quality
from jaxrestore.training.evaluators import Evaluator, SampleGrid


class Task:
    name = ""
    description = ""
    augmentation = "dihedral"  # what data.augment applies (jaxrestore.data.transforms.AUGMENTATIONS)
    protocol = None  # its evaluation protocol (held-out PSNR/SSIM), or None
    fidelity_config = ""  # the config whose fidelity-only run a GAN config of this task starts from

    def __init__(self, task_cfg):
        self.cfg = task_cfg

    @property
    def options(self) -> dict[str, Any]:
        """The protocol's option from ``config.task`` (``{"scale": 4}``, ``{"quality": 10}``), or none."""
        return {self.protocol.option: self.cfg[self.protocol.option]} if self.protocol else {}

    # What subclasses define --------------------------------------------------------

    def check(self, config) -> None:
        """Raises ConfigError for settings this task cannot train with."""

    def example_shapes(self, patch: int) -> dict[str, tuple[int, int, int]]:
        raise NotImplementedError

    def baseline(self):
        """``(restorer, metric name, grid name)``."""
        raise NotImplementedError

    def fid_pairs(self, images) -> tuple[list, list]:
        raise NotImplementedError

    # Shared ------------------------------------------------------------------------
    def degradation(self):
        return make_degradation(self.name, **self.options)

    def fid_sets(self, images, evaluator, *, seed: int):
        """``(clean, produce)``: the clean targets, and ``produce(variables)`` = the restorer's
        outputs on their degraded versions (000_* Figure 4)."""
        clean, degraded = self.fid_pairs(images)
        restorer = evaluator.restorer

        def produce(variables):
            restorer.variables = variables
            return [restorer(d) for d in degraded]

        return clean, produce

    def train_dataset(self, data_cfg, *, batch_size: int, seed: int):
        return make_train_dataset(data_cfg, task=self.name, batch_size=batch_size, seed=seed,
                                  augmentation=self.augmentation, **self.options)

    def restorer(self, generator, variables, *, source: dict | None = None):
        return ModelRestorer(generator, variables, task=self.name, source=source, **self.options)

    def evaluator(self, config, method, workdir):
        """The periodic evaluation of a run: PSNR/SSIM-Y against the baseline, and a grid."""
        return Evaluator(config, self, method, workdir)


class SuperResolution(Task):
    name, description = "sr", "super-resolution (config.task.scale)"
    protocol = SRProtocol
    fidelity_config = "configs/srresnet.py"

    def check(self, config) -> None:
        patch = config.data.patch_size
        if patch % self.cfg.scale:
            raise ConfigError(f"data.patch_size={patch} is not divisible by task.scale={self.cfg.scale}; "
                              "choose a multiple of the scale.")

    def example_shapes(self, patch):
        channels = getattr(self.degradation(), "channels", 3)
        size = patch // self.cfg.scale
        return {"degraded": (size, size, channels), "target": (patch, patch, channels)}

    def baseline(self):
        # Bicubic through the same uint8 RGB pipeline as the model (jaxrestore.evaluation.sr explains
        # the Y-channel variant behind the published bicubic rows).
        return (BicubicRestorer(self.cfg.scale, luma_reference=False), "bicubic",
                "eval/lr_bicubic_output_hr")

    def fid_pairs(self, images):
        clean = [modcrop(im, self.cfg.scale) for im in images]
        return clean, [degrade_sr(c, scale=self.cfg.scale) for c in clean]


class JpegArtifacts(Task):
    name, description = "jpeg", "JPEG artifact removal on the luma (config.task.quality)"
    protocol = JpegProtocol
    fidelity_config = "configs/argan.py"

    def check(self, config) -> None:
        check_quality(self.cfg.quality)
        patch = config.data.patch_size
        if config.model.generator == "argan" and patch % 2:
            raise ConfigError(f"data.patch_size={patch} must be even: the ARGAN generator works at half "
                              "resolution inside; choose e.g. 48.")

    def example_shapes(self, patch):
        channels = getattr(self.degradation(), "channels", 3)
        return {"degraded": (patch, patch, channels), "target": (patch, patch, channels)}

    def baseline(self):
        return JpegRestorer(self.cfg.quality), "jpeg", "eval/jpeg_output_clean"

    def fid_pairs(self, images):
        clean = [luma_uint8(im if im.shape[-1] == 3 else im[..., 0]) for im in images]
        return clean, [degrade_jpeg(c, quality=self.cfg.quality) for c in clean]


class Generation(Task):
    """Unconditional generation: a GAN prior (002_*, 003_*) learns the images themselves.
    Batches hold ``target`` only; evaluation draws a grid of samples from fixed latents."""

    name, description = "generate", "a GAN prior's samples (configs/dcgan.py)"
    augmentation = "hflip"  # the DCGAN recipe (002_* Sec. 3.2): faces are flipped, never rotated

    def check(self, config) -> None:
        patch = config.data.patch_size
        if patch % 16 or patch < 16:
            raise ConfigError(f"data.patch_size={patch} is the prior's image size and must be a multiple of "
                              "16 (the DCGAN doubles 4x4 four times); use 64 as 002_*.")

    def example_shapes(self, patch):
        return {"target": (patch, patch, 3)}

    def baseline(self):
        return None, "", "eval/samples"

    def fid_sets(self, images, evaluator, *, seed: int):
        """FID between the ``eval.fid_data`` images and as many samples of G (inference mode)
        from fixed latents of the prior's distribution (seeded by ``seed + 11``)."""
        clean = [np.asarray(im, np.uint8) for im in images]
        z = evaluator.latents(jax.random.key(seed + 11), len(clean))
        return clean, lambda variables: list(evaluator.sample_uint8(variables, z))

    def restorer(self, generator, variables, *, source=None):
        raise ConfigError("a GAN prior restores nothing by itself: it generates images from latents; use it "
                          "as the prior of a latent-space solver (jaxrestore.inverse.map_search).")

    def evaluator(self, config, method, workdir):
        return SampleGrid(config, method, workdir)


TASKS: dict[str, type[Task]] = {cls.name: cls for cls in (SuperResolution, JpegArtifacts, Generation)}


def example_shapes(config) -> dict[str, tuple[int, int, int]]:
    """HWC shapes of one training example's arrays (``degraded``, ``target``) under ``config``."""
    return build_task(config.task).example_shapes(config.data.patch_size)


def build_task(task_cfg) -> Task:
    """The task object of ``config.task``."""
    name = task_cfg.name
    if name not in TASKS:
        choices = "; ".join(f"{n!r} ({cls.description})" for n, cls in TASKS.items())
        raise ConfigError(f"unknown task {name!r}; set config.task.name to one of: {choices}.")
    return TASKS[name](task_cfg)
