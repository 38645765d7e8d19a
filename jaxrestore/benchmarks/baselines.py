"""Seconds per image of the classical and untrained baselines (TV, LR, Sparse, DIP).

    python -m jaxrestore.benchmark --solver=baselines [--images=4 --baseline_task=sr]
    python -m jaxrestore.benchmark --solver=baselines --dip_size=128 --dip_iterations=5 [--dip_channels=128]

TV, LR and Sparse (:mod:`jaxrestore.inverse.experiments.baselines`) restore ``images`` 64x64x3
procedural faces (``procedural:faces:count=N:size=64:seed=1`` on [0, 1]) observed through the
task's operator, with the settings the experiment commands use for that task
(:func:`~jaxrestore.inverse.experiments.baselines.config_section`) and through the same call,
:func:`~jaxrestore.inverse.experiments.baselines.restore`: all images in one compiled program
(one chunk), compile time and solve time measured apart. Tasks (``--baseline_task``):

- ``sr``: MATLAB-bicubic x4 downsampling, no noise (002_*'s sr settings);
- ``inpaint``: a missing centre 32x32 patch (binary mask), no noise (002_*'s inpaint);
- ``denoise``: the identity with Gaussian noise of sigma 0.1 on [0, 1] (002_*'s denoise);
- ``cs_fourier``: subsampled Fourier at ratio 0.3 (``fourier_mask(h, w, 0.3, seed=0)``)
  with noise of sigma 10/255 on [0, 1] (003_*'s ``cs_fourier:noisy`` settings).

TV stops on its tolerance, so its time depends on the images (the faces, not noise, for that
reason); LR and Sparse run a fixed number of outer iterations.

DIP (:func:`~jaxrestore.inverse.baselines.dip.dip_restore`) runs 2000 Adam steps per image
(the official x4 SR setting, :func:`~jaxrestore.inverse.baselines.dip.sr_options`), too
long to run here, so it is timed on one ``dip_size`` x ``dip_size`` face with x4 bicubic
downsampling: a first call of one step (compiles the programs: "compile s" is that whole
call), then ``dip_iterations`` steps timed; the seconds per step times 2000 is the
extrapolated seconds per image, beside the IAGAN paper's ~100 s per 128x128 image on an
RTX 2080 Ti. On the CPU DIP runs image after image (see :mod:`~jaxrestore.inverse.baselines.dip`),
so one image gives its per-image speed. Figures only: nothing here asserts a speed.
"""

from __future__ import annotations

import dataclasses
import math
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxrestore.data.pipeline import make_eval_images
from jaxrestore.errors import ConfigError
from jaxrestore.inverse import operators as ops
from jaxrestore.inverse.baselines.dip import dip_restore, sr_options
from jaxrestore.inverse.experiments import baselines as methods
from jaxrestore.inverse.operators.sensing import SubsampledFourier, fourier_mask

TASKS = ("sr", "inpaint", "denoise", "cs_fourier")
CLASSICAL = ("tv", "lr", "sparse")
BASELINES = CLASSICAL + ("dip",)
# 003_* (IAGAN), "Inference run-time": DIP takes ~100 s per 128x128 image on an RTX 2080 Ti.
DIP_PAPER = {"s_per_image": 100.0, "size": 128, "gpu": "RTX 2080 Ti"}


def faces(count: int, size: int) -> np.ndarray:
    """``count`` procedural faces, size x size x 3, float32 on [0, 1]."""
    images = make_eval_images(f"procedural:faces:count={int(count)}:size={int(size)}:seed=1")
    return np.stack([images[k] for k in sorted(images)]).astype(np.float32) / 255.0


def build_task(task: str, shape) -> dict:
    """The task's operator, noise sigma (on [0, 1]), settings key, SR scale and a description."""
    h, w, _ = shape
    if task == "sr":
        return {"operator": ops.bicubic_downsample(shape, 4), "sigma": 0.0, "key": "sr", "scale": 4,
                "text": "x4 bicubic downsampling, no noise"}
    if task == "inpaint":
        return {"operator": ops.Mask.create(ops.centre_hole_mask(h, w, min(32, min(h, w) // 2)), shape),
                "sigma": 0.0, "key": "inpaint", "scale": None,
                "text": f"centre {min(32, min(h, w) // 2)}x{min(32, min(h, w) // 2)} hole, no noise"}
    if task == "denoise":
        return {"operator": ops.Identity(shape=tuple(shape)), "sigma": 0.1, "key": "denoise", "scale": None,
                "text": "identity, noise sigma 0.1"}
    if task == "cs_fourier":
        op = SubsampledFourier.create(tuple(shape), fourier_mask(h, w, 0.3, seed=0))
        return {"operator": op, "sigma": 10 / 255, "key": "cs_fourier:noisy", "scale": None,
                "text": f"subsampled Fourier ratio {op.ratio:.3f}, noise sigma 10/255"}
    raise ConfigError(f"unknown baseline task {task!r}; choose one of {', '.join(TASKS)}.")


def _observe(op, x, sigma: float, key):
    y = op.A(jnp.asarray(x))
    return y + sigma * jax.random.normal(key, y.shape, y.dtype) if sigma > 0 else y


def _classical_row(name: str, task: str, spec: dict, x, key) -> dict:
    section = methods.config_section(spec["key"])
    opts = methods.options(name, section, x.shape[1:], scale=spec["scale"], noisy=spec["sigma"] > 0)
    y01 = _observe(spec["operator"], x, spec["sigma"], jax.random.fold_in(key, 0))
    images, seconds, info = methods.restore(name, spec["operator"], y01, opts, jax.random.fold_in(key, 1),
                                            chunk=len(x), report=lambda message: None)
    mse = float(np.mean((images - np.asarray(x, np.float64)) ** 2))
    if name == "tv":
        note = (f"weight {opts.weight:g}; iterations mean {info['iterations_mean']:.0f}, max "
                f"{info['iterations_max']} of {opts.maxiter} (tol {opts.tol:g})")
    elif name == "lr":
        note = f"sigma {opts.sigma:g}; {opts.outer_iterations} outer iterations, patch {opts.patch}, group {opts.group}"
    else:
        note = (f"{opts.atoms} atoms, patch {opts.patch}, {opts.outer_iterations} outer iterations; "
                f"{info['atoms_per_patch']:.1f} atoms/patch")
    return {"baseline": name, "task": task, "size": int(x.shape[1]), "images": int(len(x)),
            "compile_s": float(info["compile_s"]), "s_per_image": float(seconds), "s_per_step": None,
            "s_per_image_extrapolated": None, "psnr": 10 * math.log10(1 / max(mse, 1e-30)),
            "settings": spec["key"], "note": note}


def _dip_row(size: int, iterations: int, channels: int | None, key) -> dict:
    if iterations < 1:
        raise ConfigError(f"--dip_iterations must be at least 1, got {iterations}.")
    official = sr_options(4)
    overrides = {} if channels is None else {"channels": int(channels)}
    shape = (size, size, 3)
    options = dataclasses.replace(official, **overrides).check(shape)
    op = ops.bicubic_downsample(shape, 4)
    y = op.A(jnp.asarray(faces(1, size)[0]))
    t0 = time.perf_counter()
    jax.block_until_ready(dip_restore(op, y, key, dataclasses.replace(options, iterations=1), progress=None))
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = jax.block_until_ready(dip_restore(op, y, key, dataclasses.replace(options, iterations=iterations),
                                               progress=None))
    seconds = time.perf_counter() - t0
    per_step = seconds / iterations
    return {"baseline": "dip", "task": "sr", "size": size, "images": 1, "compile_s": compile_s,
            "s_per_image": seconds, "s_per_step": per_step, "iterations": iterations,
            "official_iterations": official.iterations,
            "s_per_image_extrapolated": per_step * official.iterations,
            "final_loss": float(result.loss[-1]), "channels": options.channels, "settings": "sr_options(4)",
            "note": (f"{iterations} steps timed after a 1-step compile call, x{official.iterations / iterations:g} "
                     f"to {official.iterations} steps; {options.channels} channels; 003_*: "
                     f"~{DIP_PAPER['s_per_image']:.0f} s per {DIP_PAPER['size']}x{DIP_PAPER['size']} image "
                     f"({DIP_PAPER['gpu']})")}


def benchmark_baselines(*, images: int = 4, size: int = 64, task: str = "sr", baselines=BASELINES,
                        dip_size: int = 128, dip_iterations: int = 5, dip_channels: int | None = None) -> dict:
    """Seconds per image of each baseline in ``baselines`` (module docstring); returns
    ``{"device", "task", "task_text", "images", "rows": [...], "peak_rss_bytes"}``, one row
    per baseline with ``compile_s``, ``s_per_image`` and, for DIP, ``s_per_step`` and
    ``s_per_image_extrapolated`` (= ``s_per_step`` x 2000)."""
    baselines = tuple(baselines)
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ConfigError(f"unknown baseline(s) {', '.join(unknown)}; choose from {', '.join(BASELINES)}.")
    if images < 1:
        raise ConfigError(f"--images must be at least 1, got {images}.")
    shape = (size, size, 3)
    spec = build_task(task, shape)
    key = jax.random.key(0)
    rows = []
    classical = [b for b in baselines if b in CLASSICAL]
    if classical:
        x = jnp.asarray(faces(images, size))
        for name in classical:
            rows.append(_classical_row(name, task, spec, x, jax.random.fold_in(key, 1 + BASELINES.index(name))))
    if "dip" in baselines:
        rows.append(_dip_row(int(dip_size), int(dip_iterations), dip_channels, jax.random.fold_in(key, 9)))
    device = jax.devices()[0]
    return {"device": f"{device.platform}:{device.device_kind}", "task": task, "task_text": spec["text"],
            "images": images, "size": size, "rows": rows,
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


HEADER = (f"{'baseline':<9} {'task':<11} {'image':>7} {'compile s':>9} {'s/image':>9} {'s/image extrap.':>15}  "
          "note")


def print_baselines_benchmark(r: dict) -> None:
    print(f"device              {r['device']}")
    print(f"images              {r['images']} procedural faces {r['size']}x{r['size']}x3 on [0, 1], "
          f"task {r['task']}: {r['task_text']}; one compiled program for all images")
    print(HEADER)
    for row in r["rows"]:
        label = methods.LABELS[row["baseline"]]
        task = "sr x4" if row["baseline"] == "dip" else row["task"]
        extrapolated = row["s_per_image_extrapolated"]
        extra = "-" if extrapolated is None else f"{extrapolated:.0f}"
        print(f"{label:<9} {task:<11} {row['size']:>3}x{row['size']:<3} {row['compile_s']:>9.1f} "
              f"{row['s_per_image']:>9.2f} {extra:>15}  {row['note']}")
    for row in r["rows"]:
        if row["baseline"] == "dip":
            print(f"DIP                 {row['s_per_step']:.3f} s per step ({row['iterations']} steps), "
                  f"{row['s_per_image_extrapolated']:.0f} s per image at {row['official_iterations']} steps "
                  f"(the official x4 SR setting); 003_*: ~{DIP_PAPER['s_per_image']:.0f} s per "
                  f"{DIP_PAPER['size']}x{DIP_PAPER['size']} image on an {DIP_PAPER['gpu']}")
    print("compile s           TV/LR/Sparse: compiling the batched program; DIP: its first call (1 step, "
          "init and render included)")
    print("s/image             TV/LR/Sparse: solve time of the batch / images; DIP: the timed steps of one image")
    print(f"peak process RSS    {r['peak_rss_bytes'] / 2**20:.0f} MiB")
