"""003_*'s experiments (Tables 1-4, Figure 2), run by ``jaxrestore.main``:

    python -m jaxrestore.main --config=configs/iagan.py:task=sr,scale=4 \\
        --config.prior=runs/dcgan --config.data.test=folder:DIR --workdir=runs/iagan_sr4

Each test image x (RGB in [0, 1], the prior's size) is measured, ``y = A x + sigma e`` (noise on
the measurements, sigma on the [0, 1] scale; the task's problem, :mod:`.problems_003`), and
restored by the table's methods (configs/iagan.py): the naive reconstruction, Deep Image Prior
(and, beyond 003_*'s tables, the classical TV / LR / sparse baselines of 002_*; all of
:mod:`.baselines` solve on the [0, 1] scale, ``y01 = A x + sigma e``), CSGM, CSGM-BP, IAGAN,
IAGAN-BP (:mod:`jaxrestore.inverse.solvers`), in chunks of ``chunk`` images with one compiled
program per method (CSGM's and IAGAN's iterations in compiled segments). The workdir is a run
(:mod:`.runs`: refused when it holds another run, shown when finished, resumed after a kill,
stopped cleanly by Ctrl-C or SIGTERM). The GAN solvers work on the generator's [-1, 1] scale, where the same
observation is ``A(2x - 1) + 2 sigma e``. Without a GAN method no prior is needed (the images
may then be any one size).

Scores per method: the schema of :mod:`.common` with LPIPS as ``ps`` (AlexNet v0.1 by default,
003_*'s PS) and ``seconds_per_image`` (CSGM's time included in IAGAN's and in the BP variants');
the headline is ``psnr_of_mean_mse`` (003_*'s footnote 3). The workdir gets ``config.json``,
``results.json`` / ``.csv`` / ``.md`` (the table's layout, with 003_*'s row where it has one) and
``figure.png`` (Real | naive | CSGM | ... per image), written atomically once every image is
restored. A sweep over ratios (``task.ratios``) adds ``sweep`` to ``results.json``, which
``python -m jaxrestore.plot cs_curve`` draws as Figure 2.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.experiments import baselines as baseline_methods
from jaxrestore.inverse.experiments.chunks import run_in_chunks
from jaxrestore.inverse.experiments.common import (check_data, check_finite, choose_methods, load_test_images,
                                                   options_dict, scores, write_outputs)
from jaxrestore.inverse.experiments.figures import GAN_LABELS, labelled_grid, method_label
from jaxrestore.inverse.experiments.problems_003 import PROBLEMS, MeasurementProblem, build_problem
from jaxrestore.inverse.experiments.runs import open_run
from jaxrestore.inverse.experiments.tables import SETTINGS, reference
from jaxrestore.inverse.priors import Prior, load_prior
from jaxrestore.inverse.solvers.backprojection import back_project
from jaxrestore.inverse.solvers.csgm import CSGMOptions, csgm_segments
from jaxrestore.inverse.solvers.iagan import IAGANOptions, iagan_segments, image_batching
from jaxrestore.metrics.lpips import lpips_fn
from jaxrestore.models.lpips import canonical_net

METHODS = ("naive", "tv", "lr", "sparse", "dip", "csgm", "csgm_bp", "iagan", "iagan_bp")
TABLE_METHODS = ("naive", "dip", "csgm", "csgm_bp", "iagan", "iagan_bp")  # 003_*'s columns
GAN_METHODS = tuple(GAN_LABELS)
HEADLINE = "psnr_of_mean_mse"  # 003_*'s footnote 3


def methods_to_run(config) -> list[str]:
    """``config.methods`` in table order; empty: 003_*'s columns (without BP under noise)."""
    default = [m for m in TABLE_METHODS if config.task.noise == 0 or not m.endswith("_bp")]
    return choose_methods(config.methods, METHODS, default)


def check_config(config) -> MeasurementProblem:
    """What can be refused before the prior and the images are read; returns the task's problem."""
    task = config.task
    problem = build_problem(task)
    problem.settings()
    if not task.noise >= 0:
        raise ConfigError(f"the noise level must be >= 0 (in 1/255 units), got noise={task.noise}.")
    problem.check()
    if int(config.chunk) < 1:
        raise ConfigError(f"chunk={config.chunk} must be at least 1 (images per compiled solve).")
    check_data(config)
    key = f"{task.name}:{'noisy' if task.noise > 0 else 'clean'}"
    if config.baselines.tuned_for != key:
        raise ConfigError(f"the baseline settings are for {config.baselines.tuned_for!r} but the task is {key!r}; "
                          "choose task and noise in the preset (configs/iagan.py:task=...,noise=...), which sets both.")
    methods_to_run(config)
    return problem


def solver_options(config, prior: Prior) -> tuple[CSGMOptions, IAGANOptions]:
    """The paper's settings for the prior's kind where a field is 0 (a DCGAN takes BEGAN's)."""
    paper = SETTINGS.get(prior.kind, SETTINGS["began"])
    task = config.task
    counts = build_problem(task).iagan_counts  # compressed sensing or SR (deblurring: the SR count)
    iagan_iterations = int(config.iagan.iterations) or (paper[counts] // 2 if task.noise > 0 else paper[counts])
    c, i = config.csgm, config.iagan
    csgm_options = CSGMOptions(z_dim=prior.z_dim, iterations=int(c.iterations) or paper["csgm"], lr=float(c.lr),
                               restarts=int(c.restarts), init=c.init or prior.latent, clip=float(c.clip),
                               keep_best_iterate=bool(c.keep_best_iterate)).check()
    iagan_options = IAGANOptions(iterations=iagan_iterations, lr_z=float(i.lr_z) or paper["lr_z"],
                                 lr_theta=float(i.lr_theta) or paper["lr_theta"],
                                 keep_best_iterate=bool(i.keep_best_iterate),
                                 freeze=tuple(f.strip() for f in str(i.freeze).split(",") if f.strip()),
                                 batching=str(i.get("batching", "auto"))).check()
    return csgm_options, iagan_options


def baseline_options(config, problem: MeasurementProblem, name: str, shape, setting):
    """Baseline ``name``'s options for one setting (DIP's iterations depend on the SR scale
    and the noise)."""
    return baseline_methods.options(name, config.baselines, shape, scale=problem.baseline_scale(setting),
                                    noisy=config.task.noise > 0)


def restore(config, problem: MeasurementProblem, prior: Prior, clean, names, setting, key, methods, ps,
            chunks) -> tuple[dict, dict]:
    """Every method on one setting: (results by method, images in [0, 1] by method);
    ``chunks(stage)`` is where each stage's finished chunks are kept (:meth:`.runs.ExperimentRun.chunks`)."""
    operator = problem.operator(clean.shape[1:], setting)
    noise_key, solve_key = jax.random.split(key)
    x = jnp.asarray(clean)
    sigma = float(config.task.noise) / 255.0
    y = operator.A(2.0 * x - 1.0)
    y = y + 2.0 * sigma * jax.random.normal(noise_key, y.shape, y.dtype)
    images, seconds, extra = {}, {}, {}
    chunk = int(config.chunk)
    if "naive" in methods:
        t0 = time.perf_counter()
        images["naive"] = np.asarray(jax.jit(problem.naive)(operator, y))
        seconds["naive"] = (time.perf_counter() - t0) / len(clean)
    baselines = [m for m in methods if m in baseline_methods.BASELINES]
    if baselines:  # the same noisy measurements on the [0, 1] scale: (y + A(1)) / 2 = A x + sigma e
        y01 = (y + operator.A(jnp.ones(operator.input_shape, y.dtype))) / 2.0
    for m in baselines:
        opts = baseline_options(config, problem, m, clean.shape[1:], setting)
        unit_images, seconds[m], info = baseline_methods.restore(
            m, operator, y01, opts, jax.random.fold_in(solve_key, 1 + baseline_methods.BASELINES.index(m)),
            chunk=chunk, store=chunks(m))
        images[m] = 2.0 * unit_images - 1.0
        extra[m] = {"options": options_dict(opts), **info}
    if prior is not None:
        csgm_options, iagan_options = solver_options(config, prior)
        iagan_record = {**options_dict(iagan_options), "batching_used": image_batching(iagan_options.batching)}
        extra.update({"csgm": options_dict(csgm_options), "iagan": iagan_record})
    needs_iagan = any(m.startswith("iagan") for m in methods)
    if any(m.startswith("csgm") for m in methods) or needs_iagan:
        keys = jax.random.split(solve_key, len(clean))
        out, compile_s, solve_s = run_in_chunks(
            csgm_segments(prior.generator_fn, csgm_options),
            (prior.g_vars, operator), (y, keys), chunk=chunk,
            what=f"CSGM ({csgm_options.iterations} iterations x {csgm_options.restarts} starts)",
            store=chunks("csgm"))
        z_hat, images["csgm"], objective = out
        seconds["csgm"], extra["csgm_compile_s"] = solve_s / len(clean), compile_s
        check_finite(objective, "CSGM", "csgm.lr", names)
    if needs_iagan:
        out, compile_s, solve_s = run_in_chunks(
            iagan_segments(prior.generator_fn, prior.g_vars, iagan_options),
            (prior.g_vars, operator), (y, jnp.asarray(z_hat)), chunk=chunk,
            what=f"IAGAN ({iagan_options.iterations} iterations; images by {image_batching(iagan_options.batching)})",
            store=chunks("iagan"))
        _, images["iagan"], objective = out
        seconds["iagan"], extra["iagan_compile_s"] = seconds["csgm"] + solve_s / len(clean), compile_s
        check_finite(objective, "IAGAN", "iagan.lr_theta", names)
    for base in ("csgm", "iagan"):
        if f"{base}_bp" not in methods:
            continue
        if sigma > 0:
            logging.warning("back-projection with noise (sigma %.4f): BP adds A^+ e, which amplifies the noise "
                            "(003_* applies it only without noise)", sigma)
        inverse = problem.bp_inverse(operator)
        tol, maxiter = float(config.bp.tol), int(config.bp.maxiter)
        out, _, solve_s = run_in_chunks(
            lambda op, xx, yy: back_project(op, xx, yy, inverse=inverse, tol=tol, maxiter=maxiter),
            (operator,), (jnp.asarray(images[base]), y), chunk=chunk, what=f"{GAN_LABELS[base]} back-projection",
            store=chunks(f"{base}_bp"))
        images[f"{base}_bp"], residual = out
        seconds[f"{base}_bp"] = seconds[base] + solve_s / len(clean)
        extra[f"{base}_bp_residual_max"] = float(np.nanmax(residual)) if np.isfinite(residual).any() else None
    unit = {m: np.clip((np.asarray(images[m]) + 1.0) / 2.0, 0.0, 1.0) for m in methods}
    results = {m: {**scores(unit[m], clean, ps), "seconds_per_image": seconds[m]} for m in methods}
    extra.update({"operator": type(operator).__name__, "measurements": int(np.prod(operator.output_shape))})
    return {"methods": results, **extra}, unit


def run(config, workdir: str) -> dict:
    """Measures, restores and scores ``config.data.test`` with the prior ``config.prior``;
    writes the results into ``workdir`` and returns them."""
    problem = check_config(config)
    experiment = open_run(config, workdir, headline=HEADLINE)
    if experiment.finished:
        return experiment.results()
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
    values = problem.settings()
    for value in values:  # refuse what the images cannot take before any solving
        operator = problem.operator(clean.shape[1:], value)
        for m in methods:
            if m in baseline_methods.BASELINES:
                baseline_options(config, problem, m, clean.shape[1:], value)
                baseline_methods.check_operator(m, operator)
    ps = lpips_fn(config.ps_net)
    experiment.start()  # the first write: the workdir and its config.json
    with experiment.stop_requests():  # Ctrl-C / SIGTERM: stop at the next boundary, resumable
        logging.info("IAGAN %s on %d test images from %s; %smethods %s", config.task.name, len(names),
                     config.data.test, f"prior {prior.path} ({prior.kind}, z of {prior.z_dim}, "
                     f"{prior.size}x{prior.size}); " if prior else "", ", ".join(methods))
        key = jax.random.key(int(config.seed))
        sweep, figures = [], []
        for index, value in enumerate(values):
            logging.info("setting %d/%d: %s", index + 1, len(values), problem.setting_text(value))
            entry, unit = restore(config, problem, prior, clean, names, value, jax.random.fold_in(key, index), methods,
                                  ps, lambda stage, index=index: experiment.chunks(f"{index}/{stage}"))
            sweep.append({"setting": value, **entry})
            figures.append(unit)
        first = sweep[0]
        results = {"task": config.task.name, "images": len(names), "data": config.data.test,
                   "noise": float(config.task.noise), "headline": HEADLINE, "setting": first["setting"],
                   "ps_net": canonical_net(config.ps_net), "task_settings": config.task.to_dict(),
                   "seed": int(config.seed),
                   "methods": first["methods"],
                   "prior": ({"path": prior.path, "kind": prior.kind, "step": prior.step, "z_dim": prior.z_dim,
                              "size": prior.size} if prior else None),
                   "paper": {str(v): reference(prior.kind if prior else "began", config.task.name, v, config.task.noise)
                             for v in values},
                   "sweep": sweep}
        columns = [("Real", clean)] + [(method_label(m, config.task.name), figures[0][m]) for m in methods]
        figure = labelled_grid(columns, count=int(config.figure_images)) if int(config.figure_images) else None
        write_outputs(experiment.workdir, results, figure, results_markdown(results))
        experiment.close()
    return results


def results_markdown(results: dict) -> str:
    task = results["task"]
    setting_label = PROBLEMS[task].setting_label
    methods = list(results["methods"])
    header = "| setting | " + " | ".join(method_label(m, task) for m in methods) + " |"
    prior = results["prior"]
    lines = [f"003_* {task} on {results['images']} images ({results['data']}); "
             + (f"prior {prior['path']} ({prior['kind']}); " if prior else "")
             + f"noise {results['noise']:g}/255; cells: PSNR dB (of the mean MSE) / PS (LPIPS "
             f"{results.get('ps_net', 'alex')})", "", header,
             "|" + "---|" * (len(methods) + 1)]
    for entry in results["sweep"]:
        cells = [f"{entry['methods'][m][HEADLINE]:.2f} / {entry['methods'][m]['ps']:.3f}" for m in methods]
        lines.append(f"| {setting_label(entry['setting'])} | " + " | ".join(cells) + " |")
        paper = results["paper"].get(str(entry["setting"]))
        if paper:
            cells = [f"{paper[m][0]:.2f} / {paper[m][1]:.3f}" if m in paper else "—" for m in methods]
            lines.append(f"| 003_* ({setting_label(entry['setting'])}) | " + " | ".join(cells) + " |")
    lines += ["", "| method | s/image |", "|---|---|"]
    lines += [f"| {method_label(m, task)} | {results['methods'][m]['seconds_per_image']:.2f} |" for m in methods]
    return "\n".join(lines) + "\n"


def final_line(results: dict, workdir: str) -> str:
    methods = results["methods"]
    task = results["task"]
    parts = [f"{method_label(m, task)} {s[HEADLINE]:.2f} dB / PS {s['ps']:.3f}" for m, s in methods.items()]
    per_image = max(s["seconds_per_image"] for s in methods.values())
    return (f"{task} ({PROBLEMS[task].setting_label(results['setting'])}): " + ", ".join(parts)
            + f" on {results['images']} images, up to {per_image:.1f} s/image; results in {workdir}")
