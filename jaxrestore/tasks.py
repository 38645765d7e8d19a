"""Tasks: what a run restores, as one object per task chosen by ``config.task.name``.

The training loop, the evaluator and the restorer factory never test a task's name;
they ask the task object for what depends on it:

- ``check(config)``: settings that cannot work for this task, before anything is written;
- ``example_shapes(patch)``: HWC shapes of one training example's arrays;
- ``train_dataset(data_cfg, batch_size=, seed=)``: the grain dataset of training examples;
- ``baseline()``: the classical baseline restorer, its metric prefix and the grid's name;
- ``options``: the protocol options that evaluation and grids take (``scale=`` / ``quality=``);
- ``fid_sets(images, evaluator, seed=)``: the reference images FID is computed against and
  a function of the generator's variables that makes the images to compare with them;
- ``restorer(generator, variables, source=)``: a restorer of this task's inputs.

A new task is a new class in :data:`TASKS`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jaxrestore.errors import ConfigError


class Task:
    name = ""
    description = ""
    augmentation = "dihedral"  # what data.augment applies (jaxrestore.data.transforms.AUGMENTATIONS)
    # The evaluation protocol (tasks with held-out PSNR/SSIM; ``evaluate --task=NAME``):
    label = ""  # what the task is called in messages, e.g. "super-resolution"
    option = ""  # its one protocol option ("scale" / "quality"), a flag of jaxrestore.evaluate
    option_example = 0
    option_phrase = ""  # "<checkpoint> {option_phrase} {value}"

    @classmethod
    def evaluable(cls) -> bool:
        return bool(cls.option)

    @classmethod
    def cli_baselines(cls) -> dict:
        """Classical baselines ``evaluate --baseline=NAME`` offers: name -> factory(option value)."""
        return {}

    @classmethod
    def scorer(cls, restorer, value):
        """``clean image -> {"psnr_y", "ssim_y", "l1_y"}`` under this task's protocol, for a
        restorer of this task; ``value`` is the protocol option (None: the restorer's own)."""
        raise NotImplementedError

    @classmethod
    def grid_panels(cls, image, restorer, baseline, value, size: int) -> list:
        """The panels of one grid row (uint8 RGB crops of about ``size`` pixels)."""
        raise NotImplementedError

    @classmethod
    def _protocol_value(cls, restorer, value, check):
        """The option value to score with (the restorer's own if ``value`` is None), which
        must be the restorer's."""
        value = check(getattr(restorer, cls.option, None) if value is None else value)
        own = getattr(restorer, cls.option, value)
        if own != value:
            raise ConfigError(f"the restorer {cls.option_phrase} {own} but the evaluation asks for "
                              f"{cls.option} {value}; pass --{cls.option}={own}.")
        return value

    def __init__(self, task_cfg):
        self.cfg = task_cfg

    # What subclasses define --------------------------------------------------------
    @property
    def options(self) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, config) -> None:
        """Raises ConfigError for settings this task cannot train with."""

    def degradation(self):
        from jaxrestore.data.transforms import make_degradation

        return make_degradation(self.name, **self.options)

    def example_shapes(self, patch: int) -> dict[str, tuple[int, int, int]]:
        raise NotImplementedError

    def baseline(self):
        """``(restorer, metric name, grid name)``."""
        raise NotImplementedError

    def fid_pairs(self, images) -> tuple[list, list]:
        raise NotImplementedError

    def fid_sets(self, images, evaluator, *, seed: int):
        """``(clean, produce)``: the clean targets, and ``produce(variables)`` = the restorer's
        outputs on their degraded versions (000_* Figure 4)."""
        clean, degraded = self.fid_pairs(images)
        restorer = evaluator.restorer

        def produce(variables):
            restorer.variables = variables
            return [restorer(d) for d in degraded]

        return clean, produce

    # Shared ------------------------------------------------------------------------
    def train_dataset(self, data_cfg, *, batch_size: int, seed: int):
        from jaxrestore.data.pipeline import make_train_dataset

        return make_train_dataset(data_cfg, task=self.name, batch_size=batch_size, seed=seed,
                                  augmentation=self.augmentation, **self.options)

    def restorer(self, generator, variables, *, source: dict | None = None):
        from jaxrestore.inference import ModelRestorer

        return ModelRestorer(generator, variables, task=self.name, source=source, **self.options)

    def evaluator(self, config, method, workdir):
        """The periodic evaluation of a run: PSNR/SSIM-Y against the baseline, and a grid."""
        from jaxrestore.train import Evaluator

        return Evaluator(config, method, workdir)


class SuperResolution(Task):
    name, description = "sr", "super-resolution (config.task.scale)"
    label, option, option_example, option_phrase = "super-resolution", "scale", 4, "upscales by"

    @classmethod
    def cli_baselines(cls):
        from jaxrestore.evaluation import BicubicRestorer

        return {"bicubic": lambda scale: BicubicRestorer(scale, luma_reference=True),
                "bicubic_rgb": lambda scale: BicubicRestorer(scale, luma_reference=False)}

    @classmethod
    def scorer(cls, restorer, value):
        from jaxrestore.evaluation import _check_scale, _restore_and_score

        scale = cls._protocol_value(restorer, value, _check_scale)
        return lambda hr: _restore_and_score(restorer, hr, scale=scale)

    @classmethod
    def grid_panels(cls, image, restorer, baseline, value, size):
        """LR (nearest) | bicubic | output | HR."""
        from jaxrestore.evaluation import degrade_sr
        from jaxrestore.summaries import centre_crop, rgb

        hr = rgb(image)
        side = min(size, hr.shape[0], hr.shape[1]) // value * value
        hr = centre_crop(hr, side)
        lr = degrade_sr(hr, scale=value)
        nearest = np.repeat(np.repeat(lr, value, axis=0), value, axis=1)
        return [nearest, baseline(lr), restorer(lr), hr]

    @property
    def options(self):
        return {"scale": self.cfg.scale}

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
        from jaxrestore.evaluation import BicubicRestorer

        # Bicubic through the same uint8 RGB pipeline as the model (evaluation.py explains
        # the Y-channel variant behind the published bicubic rows).
        return (BicubicRestorer(self.cfg.scale, luma_reference=False), "bicubic",
                "eval/lr_bicubic_output_hr")

    def fid_pairs(self, images):
        from jaxrestore.evaluation import degrade_sr, modcrop

        clean = [modcrop(im, self.cfg.scale) for im in images]
        return clean, [degrade_sr(c, scale=self.cfg.scale) for c in clean]


class JpegArtifacts(Task):
    name, description = "jpeg", "JPEG artifact removal on the luma (config.task.quality)"
    label, option, option_example = "JPEG artifact removal", "quality", 10
    option_phrase = "was trained for JPEG quality"

    @classmethod
    def cli_baselines(cls):
        from jaxrestore.evaluation import JpegRestorer

        return {"jpeg": JpegRestorer}

    @classmethod
    def scorer(cls, restorer, value):
        from jaxrestore.evaluation import _restore_and_score_jpeg
        from jaxrestore.imaging.jpeg import check_quality

        quality = cls._protocol_value(restorer, value, check_quality)
        return lambda image: _restore_and_score_jpeg(restorer, image, quality=quality)

    @classmethod
    def grid_panels(cls, image, restorer, baseline, value, size):
        """JPEG | output | clean, on the luma (shown grey)."""
        from jaxrestore.evaluation import degrade_jpeg, luma_uint8
        from jaxrestore.summaries import centre_crop, rgb

        side = min(size, image.shape[0], image.shape[1]) // 2 * 2
        clean = centre_crop(luma_uint8(rgb(image)), side)
        jpeg = degrade_jpeg(clean, quality=value)
        return [rgb(jpeg), rgb(restorer(jpeg)), rgb(clean)]

    @property
    def options(self):
        return {"quality": self.cfg.quality}

    def check(self, config) -> None:
        from jaxrestore.imaging.jpeg import check_quality

        check_quality(self.cfg.quality)
        patch = config.data.patch_size
        if config.model.generator == "argan" and patch % 2:
            raise ConfigError(f"data.patch_size={patch} must be even: the ARGAN generator works at half "
                              "resolution inside; choose e.g. 48.")

    def example_shapes(self, patch):
        channels = getattr(self.degradation(), "channels", 3)
        return {"degraded": (patch, patch, channels), "target": (patch, patch, channels)}

    def baseline(self):
        from jaxrestore.evaluation import JpegRestorer

        return JpegRestorer(self.cfg.quality), "jpeg", "eval/jpeg_output_clean"

    def fid_pairs(self, images):
        from jaxrestore.evaluation import degrade_jpeg, luma_uint8

        clean = [luma_uint8(im if im.shape[-1] == 3 else im[..., 0]) for im in images]
        return clean, [degrade_jpeg(c, quality=self.cfg.quality) for c in clean]


class Generation(Task):
    """Unconditional generation: a GAN prior (002_*, 003_*) learns the images themselves.
    Batches hold ``target`` only; evaluation draws a grid of samples from fixed latents."""

    name, description = "generate", "a GAN prior's samples (configs/dcgan.py)"
    augmentation = "hflip"  # the DCGAN recipe (002_* Sec. 3.2): faces are flipped, never rotated

    @property
    def options(self):
        return {}

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
        from fixed latents ``z ~ U(-1, 1)`` (seeded by ``seed + 11``)."""
        import jax

        clean = [np.asarray(im, np.uint8) for im in images]
        z = evaluator.latents(jax.random.key(seed + 11), len(clean))
        return clean, lambda variables: list(evaluator.sample_uint8(variables, z))

    def restorer(self, generator, variables, *, source=None):
        raise ConfigError("a GAN prior restores nothing by itself: it generates images from latents; use it "
                          "as the prior of a latent-space solver (jaxrestore.inverse.solvers.map_search).")

    def evaluator(self, config, method, workdir):
        return SampleGrid(config, method, workdir)


class SampleGrid:
    """Evaluation of a GAN prior: G (inference mode, running BatchNorm statistics) on
    ``train.grid_images`` x ``train.grid_images`` fixed latents (seeded by ``config.seed``),
    written to ``samples/grid_<step>.png`` and TensorBoard; returns no metrics (a prior has
    no held-out PSNR, so no ``best/`` checkpoint). FID of its samples: ``eval.fid_every_steps``
    (:meth:`Generation.fid_sets`)."""

    restorer = None
    chunk = 50  # samples per call of G

    def __init__(self, config, method, workdir):
        import jax

        self.method, self.workdir = method, workdir
        self.side = max(1, int(config.train.grid_images))
        self.z = self.latents(jax.random.key(config.seed + 7), self.side ** 2)
        self._apply = jax.jit(lambda v, z: method.generator.apply(v, z, train=False))

    def latents(self, key, n: int):
        from jaxrestore.methods.unconditional import uniform_latents

        return uniform_latents(key, n, self.method.z_dim)

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
        import jax

        from jaxrestore import checkpoints
        from jaxrestore.imaging.io import write_image

        variables = checkpoints.network_variables(self.method.generator_variables(state))
        images = self.sample_uint8(variables, self.z)
        n, h, w, c = images.shape
        grid = images.reshape(self.side, self.side, h, w, c).transpose(0, 2, 1, 3, 4).reshape(self.side * h,
                                                                                          self.side * w, c)
        writer.write_images(step, {"eval/samples": grid[None]})
        if jax.process_index() == 0:
            write_image(self.workdir / "samples" / f"grid_{step:08d}.png", grid)
        return {}


TASKS: dict[str, type[Task]] = {cls.name: cls for cls in (SuperResolution, JpegArtifacts, Generation)}


def evaluation_task(name: str) -> type[Task]:
    """The task class whose evaluation protocol ``name`` selects (``evaluate --task=NAME``)."""
    evaluable = {n: cls for n, cls in TASKS.items() if cls.evaluable()}
    if name not in evaluable:
        choices = "; ".join(f"{n} ({cls.label})" for n, cls in evaluable.items())
        raise ConfigError(f"unknown --task={name!r} for PSNR/SSIM evaluation; choose one of: {choices}.")
    return evaluable[name]


def build_task(task_cfg) -> Task:
    """The task object of ``config.task``."""
    name = task_cfg.name
    if name not in TASKS:
        choices = "; ".join(f"{n!r} ({cls.description})" for n, cls in TASKS.items())
        raise ConfigError(f"unknown task {name!r}; set config.task.name to one of: {choices}.")
    return TASKS[name](task_cfg)
