"""The four measurement problems of 003_* (``configs/iagan.py``), as one object each chosen by
name from :data:`PROBLEMS`.

A problem knows, for the ``task`` section of the config:

- ``settings()``: the values a run sweeps (the ratios of compressed sensing, the one scale of
  super-resolution, ``None`` for deblurring);
- ``operator(shape, setting)``: the forward operator ``A`` for HxWxC images at that setting;
- ``naive(operator, y)``: the table's first column on the generator's [-1, 1] scale (``A^T y``
  for compressed sensing, the zero-filled IFFT for Fourier; bicubic upsampling for
  super-resolution; the blurred image for deblurring), a pure function with the operator as an
  argument (a stored Gaussian matrix closed over would be embedded whole in the program);
- ``bp_inverse(operator)``: an approximate ``A^+`` back-projection uses in place of the
  pseudo-inverse (``task.bp_inverse='bicubic'``, 003_*'s bicubic upsampling for SR), or None;
- ``baseline_scale(setting)``: the SR factor DIP's settings depend on (None elsewhere);
- ``iagan_counts``: which of 003_*'s IAGAN iteration counts applies (compressed sensing or SR);
- ``naive_label``, ``setting_text(value)``, ``setting_label(value)``: how the run and its
  tables name the column and the setting (from the class's two format strings).
"""

from __future__ import annotations

import math

import jax

from jaxrestore.errors import ConfigError
from jaxrestore.inverse import operators as ops


class MeasurementProblem:
    name = ""
    naive_label = ""
    setting_format = ""  # the setting in progress lines, "{value}" and "{cfg.<field>}" filled in
    label_format = ""  # the setting in the tables' first column
    iagan_counts = "iagan_sr"  # 003_*'s IAGAN count for this task (tables.SETTINGS); deblurring: SR's
    bicubic_bp = False  # whether task.bp_inverse='bicubic' applies (SR only)

    def __init__(self, task_cfg):
        self.cfg = task_cfg

    def settings(self) -> list:
        """The values the run sweeps."""
        if tuple(self.cfg.ratios):
            raise ConfigError(f"task.ratios is a compressed-sensing sweep, but the task is {self.name!r}; "
                              "drop ratios=...")
        return [None]

    def check(self) -> None:
        """Task settings the problem cannot take (after :meth:`settings` and the noise level)."""
        bp = self.cfg.bp_inverse
        if bp not in ("pinv", "bicubic") or (bp == "bicubic" and not self.bicubic_bp):
            raise ConfigError(f"task.bp_inverse={bp!r}: use 'pinv', or 'bicubic' (the paper's "
                              "approximation) for sr only.")

    def operator(self, shape, setting) -> ops.Operator:
        raise NotImplementedError

    def naive(self, operator, y):
        return y

    def bp_inverse(self, operator):
        return None

    def baseline_scale(self, setting) -> int | None:
        return None

    def setting_text(self, value) -> str:
        return f"{self.setting_format.format(value=value, cfg=self.cfg)}, noise {self.cfg.noise:g}/255"

    @classmethod
    def setting_label(cls, value) -> str:
        return cls.label_format.format(value=value)


class CompressedSensing(MeasurementProblem):
    """What both compressed-sensing problems share: a sweep over ratios m/n, ``A^T y`` as naive."""

    iagan_counts = "iagan_cs"
    setting_format, label_format = "ratio m/n {value:g}", "CS ratio {value:g}"

    def settings(self):
        return [ops.check_ratio(r) for r in (tuple(self.cfg.ratios) or (self.cfg.ratio,))]

    def naive(self, operator, y):
        return operator.AT(y)


class GaussianSensing(CompressedSensing):
    """Gaussian compressed sensing (Figure 2): ``A_ij ~ N(0, 1/m)``, stored when it fits
    ``task.dense_limit_gb``, else regenerated row by row on every use."""

    name, naive_label = "cs_gaussian", "naive A^T y"

    def operator(self, shape, setting):
        n = math.prod(shape)
        dense = round(setting * n) * n * 4 <= float(self.cfg.dense_limit_gb) * 2 ** 30
        return ops.GaussianCS.create(jax.random.key(int(self.cfg.matrix_seed)), shape, setting, dense=dense)


class FourierSensing(CompressedSensing):
    """Subsampled 2-D Fourier compressed sensing (Table 1) on a seeded variable-density mask."""

    name, naive_label = "cs_fourier", "naive IFFT"

    def operator(self, shape, setting):
        h, w, _ = shape
        return ops.SubsampledFourier.create(shape, ops.fourier_mask(h, w, setting, seed=int(self.cfg.mask_seed),
                                                                    decay=float(self.cfg.mask_decay)))


class SuperResolution(MeasurementProblem):
    """MATLAB bicubic downsampling by ``task.scale`` (Tables 2-3)."""

    name, naive_label = "sr", "Bicubic"
    setting_format, label_format = "x{value}", "SR x{value}"
    bicubic_bp = True

    def settings(self):
        super().settings()
        return [int(self.cfg.scale)]

    def check(self):
        scale = self.cfg.scale
        if int(scale) != scale or scale < 2:
            raise ConfigError(f"the super-resolution scale must be an integer >= 2, got {scale}.")
        super().check()

    def operator(self, shape, setting):
        h, w, _ = shape
        if h % setting or w % setting:
            raise ConfigError(f"the prior's {h}x{w} images are not divisible by the scale {setting}; choose a "
                              f"scale that divides {h} (e.g. 4 or 8).")
        return ops.bicubic_downsample(shape, setting)

    def naive(self, operator, y):
        return ops.bicubic_upsample(operator.output_shape, int(self.cfg.scale)).A(y)

    def bp_inverse(self, operator):
        if self.cfg.bp_inverse == "bicubic":
            return ops.bicubic_upsample(operator.output_shape, int(self.cfg.scale)).A
        return None

    def baseline_scale(self, setting):
        return int(setting)


class Deblur(MeasurementProblem):
    """A ``task.blur`` x ``task.blur`` uniform blur with circular boundaries (Table 4)."""

    name, naive_label = "deblur", "Blurred"
    setting_format, label_format = "{cfg.blur}x{cfg.blur} uniform blur", "Deb U(9x9)"

    def operator(self, shape, setting):
        return ops.uniform_blur(shape, int(self.cfg.blur))


PROBLEMS: dict[str, type[MeasurementProblem]] = {
    cls.name: cls for cls in (GaussianSensing, FourierSensing, SuperResolution, Deblur)}


def build_problem(task_cfg) -> MeasurementProblem:
    if task_cfg.name not in PROBLEMS:
        raise ConfigError(f"unknown IAGAN task {task_cfg.name!r}; choose one of {', '.join(PROBLEMS)} "
                          "(e.g. --config=configs/iagan.py:task=cs_fourier,ratio=0.3,noise=10).")
    return PROBLEMS[task_cfg.name](task_cfg)
