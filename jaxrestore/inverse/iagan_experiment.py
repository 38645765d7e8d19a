"""003_*'s experiments (Tables 1-4, Figure 2), run by ``jaxrestore.main``:

    python -m jaxrestore.main --config=configs/iagan.py:task=sr,scale=4 \\
        --config.prior=runs/dcgan --config.data.test=folder:DIR --workdir=runs/iagan_sr4

Each test image x (RGB in [0, 1], the prior's size) is measured, ``y = A x + sigma e``
(noise on the measurements, sigma on the [0, 1] scale), and restored by the table's
methods (configs/iagan.py): the naive reconstruction, Deep Image Prior (and, beyond
003_*'s tables, the classical TV / LR / sparse baselines of 002_*; all of
:mod:`jaxrestore.inverse.baselines` solve on the [0, 1] scale, ``y01 = A x + sigma e``),
CSGM, CSGM-BP, IAGAN, IAGAN-BP (:mod:`jaxrestore.inverse.adaptive`), in chunks of
``chunk`` images with one compiled program per method. The GAN solvers work on the
generator's [-1, 1] scale, where the same observation is ``A(2x - 1) + 2 sigma e``.
Without a GAN method no prior is needed (the images may then be any one size).

Scores per method (every result clipped to [0, 1]): ``psnr`` = 10 log10(1 / mean MSE)
over the images (003_* footnote 3), ``psnr_mean`` = the mean of per-image PSNRs, ``ssim``
(Gaussian, data range 1), ``ps`` = LPIPS (AlexNet v0.1, 003_*'s PS), ``mse``, and
``seconds_per_image`` (CSGM's time included in IAGAN's and in the BP variants'). The
workdir gets ``config.json``, ``results.json`` / ``.csv`` / ``.md`` (the table's layout,
with 003_*'s row where it has one) and ``figure.png`` (Real | naive | CSGM | ... per
image), written atomically once every image is restored. A sweep over ratios
(``task.ratios``) adds ``sweep`` to ``results.json``, which ``python -m jaxrestore.plot
cs_curve`` draws as Figure 2.
"""

from __future__ import annotations

import functools
import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from jaxrestore import checkpoints
from jaxrestore.errors import ConfigError, DataError
from jaxrestore.inverse import operators as ops
from jaxrestore.inverse.baselines import methods as baseline_methods
from jaxrestore.inverse.adaptive import CSGMOptions, IAGANOptions, back_project, csgm, iagan
from jaxrestore.inverse.chunks import run_in_chunks
from jaxrestore.inverse.convolution import uniform_blur
from jaxrestore.inverse.experiment import labelled_grid, load_test_images, write_results
from jaxrestore.inverse.paper_003 import SETTINGS, reference
from jaxrestore.inverse.priors import Prior, load_prior
from jaxrestore.inverse.sensing import GaussianCS, SubsampledFourier, check_ratio, fourier_mask
from jaxrestore.metrics.ssim import ssim

TASKS = ("cs_gaussian", "cs_fourier", "sr", "deblur")
METHODS = ("naive", "tv", "lr", "sparse", "dip", "csgm", "csgm_bp", "iagan", "iagan_bp")
TABLE_METHODS = ("naive", "dip", "csgm", "csgm_bp", "iagan", "iagan_bp")  # 003_*'s columns
GAN_METHODS = ("csgm", "csgm_bp", "iagan", "iagan_bp")
LABELS = {"csgm": "CSGM", "csgm_bp": "CSGM-BP", "iagan": "IAGAN", "iagan_bp": "IAGAN-BP", **baseline_methods.LABELS}
NAIVE = {"cs_gaussian": "naive A^T y", "cs_fourier": "naive IFFT", "sr": "Bicubic", "deblur": "Blurred"}


def label(method: str, task: str) -> str:
    return NAIVE[task] if method == "naive" else LABELS.get(method, method)


def settings(task) -> list:
    """The values the run sweeps: ratios (CS), or the one scale (SR), or None (deblur)."""
    if task.name.startswith("cs_"):
        return [check_ratio(r) for r in (tuple(task.ratios) or (task.ratio,))]
    if tuple(task.ratios):
        raise ConfigError(f"task.ratios is a compressed-sensing sweep, but the task is {task.name!r}; "
                          "drop ratios=...")
    return [int(task.scale)] if task.name == "sr" else [None]


def methods_to_run(config) -> list[str]:
    """``config.methods`` in table order; empty: 003_*'s columns (without BP under noise)."""
    default = [m for m in TABLE_METHODS if config.task.noise == 0 or not m.endswith("_bp")]
    return baseline_methods.choose_methods(config.methods, METHODS, default)


def check_config(config) -> None:
    """What can be refused before the prior and the images are read."""
    task = config.task
    if task.name not in TASKS:
        raise ConfigError(f"unknown IAGAN task {task.name!r}; choose one of {', '.join(TASKS)} "
                          "(e.g. --config=configs/iagan.py:task=cs_fourier,ratio=0.3,noise=10).")
    settings(task)
    if not task.noise >= 0:
        raise ConfigError(f"the noise level must be >= 0 (in 1/255 units), got noise={task.noise}.")
    if task.name == "sr" and (int(task.scale) != task.scale or task.scale < 2):
        raise ConfigError(f"the super-resolution scale must be an integer >= 2, got {task.scale}.")
    if task.bp_inverse not in ("pinv", "bicubic") or (task.bp_inverse == "bicubic" and task.name != "sr"):
        raise ConfigError(f"task.bp_inverse={task.bp_inverse!r}: use 'pinv', or 'bicubic' (the paper's "
                          "approximation) for sr only.")
    if int(config.chunk) < 1:
        raise ConfigError(f"chunk={config.chunk} must be at least 1 (images per compiled solve).")
    key = f"{task.name}:{'noisy' if task.noise > 0 else 'clean'}"
    if config.baselines.tuned_for != key:
        raise ConfigError(f"the baseline settings are for {config.baselines.tuned_for!r} but the task is {key!r}; "
                          "choose task and noise in the preset (configs/iagan.py:task=...,noise=...), which sets both.")
    methods_to_run(config)


def build_operator(task, shape, setting):
    """The task's A for HxWxC images at ``setting`` (ratio or scale)."""
    h, w, _ = shape
    if task.name == "cs_gaussian":
        n = math.prod(shape)
        dense = round(setting * n) * n * 4 <= float(task.dense_limit_gb) * 2 ** 30
        return GaussianCS.create(jax.random.key(int(task.matrix_seed)), shape, setting, dense=dense)
    if task.name == "cs_fourier":
        return SubsampledFourier.create(shape, fourier_mask(h, w, setting, seed=int(task.mask_seed),
                                                            decay=float(task.mask_decay)))
    if task.name == "sr":
        if h % setting or w % setting:
            raise ConfigError(f"the prior's {h}x{w} images are not divisible by the scale {setting}; choose a "
                              f"scale that divides {h} (e.g. 4 or 8).")
        return ops.bicubic_downsample(shape, setting)
    return uniform_blur(shape, int(task.blur))


@functools.partial(jax.jit, static_argnames=("task_name", "scale"))
def naive(operator, y, *, task_name: str, scale: int):
    """The table's first column on the [-1, 1] scale. The operator is an argument of the
    compiled program, never a constant in it: a stored Gaussian matrix closed over would be
    embedded whole (at 64x64x3 and ratio 0.25, 302 MB of StableHLO and 2.6 s to compile)."""
    if task_name.startswith("cs_"):
        return operator.AT(y)
    if task_name == "sr":
        return ops.bicubic_upsample(operator.output_shape, scale).A(y)
    return y


def solver_options(config, prior: Prior) -> tuple[CSGMOptions, IAGANOptions]:
    """The paper's settings for the prior's kind where a field is 0 (a DCGAN takes BEGAN's)."""
    paper = SETTINGS.get(prior.kind, SETTINGS["began"])
    task = config.task
    kind = "iagan_cs" if task.name.startswith("cs_") else "iagan_sr"  # deblurring: the SR count
    iagan_iterations = int(config.iagan.iterations) or (paper[kind] // 2 if task.noise > 0 else paper[kind])
    c, i = config.csgm, config.iagan
    csgm_options = CSGMOptions(z_dim=prior.z_dim, iterations=int(c.iterations) or paper["csgm"], lr=float(c.lr),
                               restarts=int(c.restarts), init=c.init or prior.latent, clip=float(c.clip),
                               keep_best_iterate=bool(c.keep_best_iterate)).check()
    iagan_options = IAGANOptions(iterations=iagan_iterations, lr_z=float(i.lr_z) or paper["lr_z"],
                                 lr_theta=float(i.lr_theta) or paper["lr_theta"],
                                 keep_best_iterate=bool(i.keep_best_iterate),
                                 freeze=tuple(f.strip() for f in str(i.freeze).split(",") if f.strip())).check()
    return csgm_options, iagan_options


def scores(images, clean, ps) -> dict[str, float]:
    images = np.clip(np.asarray(images, np.float64), 0.0, 1.0)
    clean = np.asarray(clean, np.float64)
    mse = np.mean((images - clean) ** 2, axis=(1, 2, 3))
    distances = np.concatenate([np.asarray(ps(jnp.asarray(images[i:i + 16], jnp.float32),
                                              jnp.asarray(clean[i:i + 16], jnp.float32)))
                                for i in range(0, len(images), 16)])
    return {"psnr": float(10 * np.log10(1 / max(np.mean(mse), 1e-30))),
            "psnr_mean": float(np.mean(10 * np.log10(1 / np.maximum(mse, 1e-30)))),
            "ssim": float(np.mean([ssim(a, b, data_range=1.0) for a, b in zip(images, clean)])),
            "ps": float(np.mean(distances)), "mse": float(np.mean(mse))}


def restore(config, prior: Prior, clean, setting, key, methods, ps) -> tuple[dict, dict]:
    """Every method on one setting: (results by method, images in [0, 1] by method)."""
    task = config.task
    operator = build_operator(task, clean.shape[1:], setting)
    noise_key, solve_key = jax.random.split(key)
    x = jnp.asarray(clean)
    sigma = float(task.noise) / 255.0
    y = operator.A(2.0 * x - 1.0)
    y = y + 2.0 * sigma * jax.random.normal(noise_key, y.shape, y.dtype)
    images, seconds, extra = {}, {}, {}
    chunk = int(config.chunk)
    if "naive" in methods:
        t0 = time.perf_counter()
        images["naive"] = np.asarray(naive(operator, y, task_name=task.name, scale=int(task.scale)))
        seconds["naive"] = (time.perf_counter() - t0) / len(clean)
    baselines = [m for m in methods if m in baseline_methods.BASELINES]
    if baselines:  # the same noisy measurements on the [0, 1] scale: (y + A(1)) / 2 = A x + sigma e
        y01 = (y + operator.A(jnp.ones(operator.input_shape, y.dtype))) / 2.0
    for m in baselines:
        opts = baseline_options(config, m, clean.shape[1:], setting)
        unit_images, seconds[m], info = baseline_methods.restore(
            m, operator, y01, opts, jax.random.fold_in(solve_key, 1 + baseline_methods.BASELINES.index(m)),
            chunk=chunk)
        images[m] = 2.0 * unit_images - 1.0
        extra[m] = {"options": _options_dict(opts), **info}
    if prior is not None:
        csgm_options, iagan_options = solver_options(config, prior)
        extra.update({"csgm": _options_dict(csgm_options), "iagan": _options_dict(iagan_options)})
    needs_iagan = any(m.startswith("iagan") for m in methods)
    if any(m.startswith("csgm") for m in methods) or needs_iagan:
        keys = jax.random.split(solve_key, len(clean))
        out, compile_s, solve_s = run_in_chunks(
            lambda g, op, yy, kk: csgm(prior.generator_fn, g, op, yy, kk, csgm_options)[:3],
            (prior.g_vars, operator), (y, keys), chunk=chunk,
            what=f"CSGM ({csgm_options.iterations} iterations x {csgm_options.restarts} starts)")
        z_hat, images["csgm"], objective = out
        seconds["csgm"], extra["csgm_compile_s"] = solve_s / len(clean), compile_s
        _check_finite(objective, "CSGM", "csgm.lr")
    if needs_iagan:
        out, compile_s, solve_s = run_in_chunks(
            lambda g, op, yy, zz: iagan(prior.generator_fn, g, op, yy, zz, iagan_options)[1:3],
            (prior.g_vars, operator), (y, jnp.asarray(z_hat)), chunk=chunk,
            what=f"IAGAN ({iagan_options.iterations} iterations)")
        images["iagan"], objective = out
        seconds["iagan"], extra["iagan_compile_s"] = seconds["csgm"] + solve_s / len(clean), compile_s
        _check_finite(objective, "IAGAN", "iagan.lr_theta")
    for base in ("csgm", "iagan"):
        if f"{base}_bp" not in methods:
            continue
        if sigma > 0:
            logging.warning("back-projection with noise (sigma %.4f): BP adds A^+ e, which amplifies the noise "
                            "(003_* applies it only without noise)", sigma)
        inverse = None
        if task.bp_inverse == "bicubic":
            inverse = ops.bicubic_upsample(operator.output_shape, int(task.scale)).A
        tol, maxiter = float(config.bp.tol), int(config.bp.maxiter)
        out, _, solve_s = run_in_chunks(
            lambda op, xx, yy: back_project(op, xx, yy, inverse=inverse, tol=tol, maxiter=maxiter),
            (operator,), (jnp.asarray(images[base]), y), chunk=chunk, what=f"{LABELS[base]} back-projection")
        images[f"{base}_bp"], residual = out
        seconds[f"{base}_bp"] = seconds[base] + solve_s / len(clean)
        extra[f"{base}_bp_residual_max"] = float(np.nanmax(residual)) if np.isfinite(residual).any() else None
    unit = {m: np.clip((np.asarray(images[m]) + 1.0) / 2.0, 0.0, 1.0) for m in methods}
    results = {m: {**scores(unit[m], clean, ps), "seconds_per_image": seconds[m]} for m in methods}
    extra.update({"operator": type(operator).__name__, "measurements": int(np.prod(operator.output_shape))})
    return {"methods": results, **extra}, unit


def baseline_options(config, name: str, shape, setting):
    """Baseline ``name``'s options for one setting (DIP's iterations depend on the SR scale
    and the noise)."""
    return baseline_methods.options(name, config.baselines, shape,
                                    scale=int(setting) if config.task.name == "sr" else None,
                                    noisy=config.task.noise > 0)


def _options_dict(options) -> dict:
    import dataclasses

    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(options).items()}


def _check_finite(objective, what: str, field: str) -> None:
    if not np.all(np.isfinite(objective)):
        raise DataError(f"the {what} objective became non-finite on image {int(np.argmax(~np.isfinite(objective)))}; "
                        f"lower {field} (no results were written).")


def run_iagan(config, workdir: str) -> dict:
    """Measures, restores and scores ``config.data.test`` with the prior ``config.prior``;
    writes the results into ``workdir`` and returns them."""
    from jaxrestore.metrics.lpips import lpips_fn

    check_config(config)
    methods = methods_to_run(config)
    prior = None
    if any(m in GAN_METHODS for m in methods):
        if not config.prior:
            raise ConfigError(f"methods include {', '.join(m for m in methods if m in GAN_METHODS)}, which need a "
                              "GAN prior, but none was given; set --config.prior=RUN (a configs/dcgan.py or "
                              "configs/began.py workdir, or a PGGAN .npz), or choose methods=naive,dip,tv,lr,sparse.")
        prior = load_prior(config.prior)
        solver_options(config, prior)
    names, clean = load_test_images(config, prior.size if prior else None)
    values = settings(config.task)
    for value in values:  # refuse what the images cannot take before any solving
        operator = build_operator(config.task, clean.shape[1:], value)
        for m in methods:
            if m in baseline_methods.BASELINES:
                baseline_options(config, m, clean.shape[1:], value)
                baseline_methods.check_operator(m, operator)
    ps = lpips_fn(config.ps_net)
    workdir = checkpoints.local_workdir(workdir)
    checkpoints.check_writable_workdir(workdir)  # a file or an unwritable folder: one line, before anything is written
    checkpoints.write_config(workdir, config)
    logging.info("IAGAN %s on %d test images from %s; %smethods %s", config.task.name, len(names),
                 config.data.test, f"prior {prior.path} ({prior.kind}, z of {prior.z_dim}, {prior.size}x{prior.size}); "
                 if prior else "", ", ".join(methods))
    key = jax.random.key(int(config.seed))
    sweep, figures = [], []
    for index, value in enumerate(values):
        logging.info("setting %d/%d: %s", index + 1, len(values), _setting_text(config.task, value))
        entry, unit = restore(config, prior, clean, value, jax.random.fold_in(key, index), methods, ps)
        sweep.append({"setting": value, **entry})
        figures.append(unit)
    first = sweep[0]
    results = {"task": config.task.name, "images": len(names), "data": config.data.test,
               "noise": float(config.task.noise), "setting": first["setting"], "methods": first["methods"],
               "prior": ({"path": prior.path, "kind": prior.kind, "step": prior.step, "z_dim": prior.z_dim,
                          "size": prior.size} if prior else None),
               "paper": {str(v): reference(prior.kind if prior else "began", config.task.name, v, config.task.noise)
                         for v in values},
               "sweep": sweep}
    columns = [("Real", clean)] + [(label(m, config.task.name), figures[0][m]) for m in methods]
    _write(workdir, results, labelled_grid(columns, count=int(config.figure_images)))
    return results


def _setting_text(task, value) -> str:
    if task.name.startswith("cs_"):
        return f"ratio m/n {value:g}, noise {task.noise:g}/255"
    if task.name == "sr":
        return f"x{value}, noise {task.noise:g}/255"
    return f"{task.blur}x{task.blur} uniform blur, noise {task.noise:g}/255"


def results_markdown(results: dict) -> str:
    task = results["task"]
    methods = list(results["methods"])
    header = "| setting | " + " | ".join(label(m, task) for m in methods) + " |"
    prior = results["prior"]
    lines = [f"003_* {task} on {results['images']} images ({results['data']}); "
             + (f"prior {prior['path']} ({prior['kind']}); " if prior else "")
             + f"noise {results['noise']:g}/255; cells: PSNR dB (of the mean MSE) / PS (LPIPS alex)", "", header,
             "|" + "---|" * (len(methods) + 1)]
    for entry in results["sweep"]:
        cells = [f"{entry['methods'][m]['psnr']:.2f} / {entry['methods'][m]['ps']:.3f}" for m in methods]
        lines.append(f"| {_setting_label(task, entry['setting'])} | " + " | ".join(cells) + " |")
        paper = results["paper"].get(str(entry["setting"]))
        if paper:
            cells = [f"{paper[m][0]:.2f} / {paper[m][1]:.3f}" if m in paper else "—" for m in methods]
            lines.append(f"| 003_* ({_setting_label(task, entry['setting'])}) | " + " | ".join(cells) + " |")
    lines += ["", "| method | s/image |", "|---|---|"]
    lines += [f"| {label(m, task)} | {results['methods'][m]['seconds_per_image']:.2f} |" for m in methods]
    return "\n".join(lines) + "\n"


def _setting_label(task: str, value) -> str:
    if task.startswith("cs_"):
        return f"CS ratio {value:g}"
    return f"SR x{value}" if task == "sr" else "Deb U(9x9)"


def _write(workdir: Path, results: dict, figure: np.ndarray) -> None:
    header = ["task", "setting", "noise", "method", "images", "psnr", "psnr_mean", "ssim", "ps", "mse",
              "seconds_per_image"]
    rows = [[results["task"], entry["setting"], results["noise"], m, results["images"], f"{s['psnr']:.4f}",
             f"{s['psnr_mean']:.4f}", f"{s['ssim']:.6f}", f"{s['ps']:.6f}", f"{s['mse']:.8f}",
             f"{s['seconds_per_image']:.4f}"]
            for entry in results["sweep"] for m, s in entry["methods"].items()]
    write_results(workdir, results, figure, header=header, rows=rows, markdown=results_markdown(results))


def final_line(results: dict, workdir: str) -> str:
    methods = results["methods"]
    parts = [f"{label(m, results['task'])} {s['psnr']:.2f} dB / PS {s['ps']:.3f}" for m, s in methods.items()]
    per_image = max(s["seconds_per_image"] for s in methods.values())
    return (f"{results['task']} ({_setting_label(results['task'], results['setting'])}): " + ", ".join(parts)
            + f" on {results['images']} images, up to {per_image:.1f} s/image; results in {workdir}")
