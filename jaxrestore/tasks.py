"""Tasks: what a run restores, as one object per task chosen by ``config.task.name``.

The training loop, the evaluator and the restorer factory never test a task's name;
they ask the task object for what depends on it:

- ``check(config)``: settings that cannot work for this task, before anything is written;
- ``example_shapes(patch)``: HWC shapes of one training example's arrays;
- ``train_dataset(data_cfg, batch_size=, seed=)``: the grain dataset of training examples;
- ``baseline()``: the classical baseline restorer, its metric prefix and the grid's name;
- ``options``: the protocol options that evaluation and grids take (``scale=`` / ``quality=``);
- ``fid_pairs(images)``: the clean targets and degraded inputs FID is computed on;
- ``restorer(generator, variables, source=)``: a restorer of this task's inputs.

A new task is a new class in :data:`TASKS`.
"""

from __future__ import annotations

from typing import Any

from jaxrestore.errors import ConfigError


class Task:
    name = ""
    description = ""

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

    # Shared ------------------------------------------------------------------------
    def train_dataset(self, data_cfg, *, batch_size: int, seed: int):
        from jaxrestore.data.pipeline import make_train_dataset

        return make_train_dataset(data_cfg, task=self.name, batch_size=batch_size, seed=seed, **self.options)

    def restorer(self, generator, variables, *, source: dict | None = None):
        from jaxrestore.inference import ModelRestorer

        return ModelRestorer(generator, variables, task=self.name, source=source, **self.options)


class SuperResolution(Task):
    name, description = "sr", "super-resolution (config.task.scale)"

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


TASKS: dict[str, type[Task]] = {cls.name: cls for cls in (SuperResolution, JpegArtifacts)}


def build_task(task_cfg) -> Task:
    """The task object of ``config.task``."""
    name = task_cfg.name
    if name not in TASKS:
        choices = "; ".join(f"{n!r} ({cls.description})" for n, cls in TASKS.items())
        raise ConfigError(f"unknown task {name!r}; set config.task.name to one of: {choices}.")
    return TASKS[name](task_cfg)
