"""GAN-prior restoration of a test set (002_* Table 1 and Figure 3), run by ``jaxrestore.main``:

    python -m jaxrestore.main --config=configs/gan_prior.py:task=inpaint \\
        --config.prior=runs/dcgan --config.data.test=folder:DIR --workdir=runs/inpaint

Each test image (RGB, the prior's size) is corrupted by the task's process
(:mod:`.problems_002`) and restored by the chosen methods (``methods``): ``naive`` (the
corrupted input as an image), the classical baselines ``tv``, ``lr``, ``sparse`` and the
untrained ``dip`` (:mod:`.baselines`, on the [0, 1] observation with the task's linear
operator), and ``ours``: MAP search in the prior's latent space
(:func:`jaxrestore.inverse.solvers.map_search`, in chunks of ``solver.chunk`` images, one
compiled program for all chunks, its iterations in compiled segments). The workdir is a run
(:mod:`.runs`: refused when it holds another run, shown when finished, resumed after a kill,
stopped cleanly by Ctrl-C or SIGTERM) and receives ``config.json``, ``results.json`` /
``results.csv`` / ``results.md`` (the schema of :mod:`.common`; the headline is
``psnr_mean``, as 002_* does not say which PSNR its table gives) and ``figure.png`` (Figure 3's
layout: Real | Input | TV | LR | Sparse | Ours [| blends], one row per image), all written
atomically, only once every image is solved. Without ``ours`` no prior is needed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.experiments import baselines as baseline_methods
from jaxrestore.inverse.experiments.chunks import run_in_chunks
from jaxrestore.inverse.experiments.common import (check_data, check_finite, choose_methods, load_test_images,
                                                   options_dict, scores, write_outputs)
from jaxrestore.inverse.experiments.figures import labelled_grid
from jaxrestore.inverse.experiments.runs import open_run
from jaxrestore.inverse.experiments.problems_002 import PROBLEMS, Problem, build_problem, problem_names, to_unit
from jaxrestore.inverse.experiments.tables import TABLE1_BASELINES, TABLE1_OURS
from jaxrestore.inverse.priors import Prior, load_prior
from jaxrestore.inverse.solvers.map import MAPOptions, map_segments

METHODS = ("naive", "tv", "lr", "sparse", "dip", "ours")
TABLE_METHODS = ("naive", "tv", "lr", "sparse", "ours")  # 002_* Table 1's columns (and the input)
HEADLINE = "psnr_mean"  # 002_* does not say; the mean of per-image PSNRs


def methods_to_run(config) -> list[str]:
    """``config.methods`` (comma-separated; empty: 002_* Table 1's) in table order."""
    return choose_methods(config.methods, METHODS, TABLE_METHODS)


def map_options(config, z_dim: int) -> MAPOptions:
    s = config.solver
    return MAPOptions(z_dim=z_dim, iterations=s.iterations, lr=s.lr, momentum=s.momentum,
                      prior_weight=s.prior_weight, prior=s.prior, init=s.init, restarts=s.restarts,
                      keep_best_iterate=s.keep_best_iterate).check()


def check_config(config) -> None:
    """What can be refused before the prior and images are read."""
    name = config.task.name
    if name not in PROBLEMS:
        raise ConfigError(f"unknown GAN-prior task {name!r}; choose one of: {problem_names()} "
                          "(e.g. --config=configs/gan_prior.py:task=inpaint).")
    if config.solver.defaults_of != name:
        raise ConfigError(f"task.name is {name!r} but the solver settings are task "
                          f"{config.solver.defaults_of!r}'s; choose the task with "
                          f"--config=configs/gan_prior.py:task={name} (it sets both).")
    map_options(config, 1)
    methods_to_run(config)
    check_data(config)
    if int(config.solver.chunk) < 1:
        raise ConfigError(f"solver.chunk={config.solver.chunk} must be at least 1 (images per compiled solve).")


def solve(prior: Prior, problem: Problem, y, keys, options: MAPOptions, *, chunk: int,
          report: Callable[[str], None] = logging.info, store=None):
    """MAP search for every observation, ``chunk`` images per call of compiled programs, in
    segments of the iterations (:func:`.chunks.run_in_chunks`; finished chunks saved to and read
    from ``store``). Returns (z, G(z) in [-1, 1], objectives, compile seconds, solve seconds)."""
    (z, images, objectives), compile_s, solve_s = run_in_chunks(
        map_segments(prior.generator_fn, prior.discriminator_fn, options),
        (prior.g_vars, prior.d_vars, problem.operator), (y, keys), chunk=chunk,
        what=f"MAP search ({options.iterations} iterations)", report=report, store=store)
    return z, images, objectives, compile_s, solve_s


def run(config, workdir: str) -> dict:
    """Corrupts, restores and scores ``config.data.test`` with the chosen methods (the prior
    ``config.prior`` for ``ours``); writes the results into ``workdir`` and returns them."""
    check_config(config)
    experiment = open_run(config, workdir, headline=HEADLINE)
    if experiment.finished:
        return experiment.results()
    methods = methods_to_run(config)
    prior = None
    if "ours" in methods:
        if not config.prior:
            raise ConfigError("methods include 'ours' (MAP search with a GAN prior) but no prior was given; "
                              "set --config.prior=RUN (a configs/dcgan.py workdir), or leave ours out of methods.")
        prior = load_prior(config.prior)
        if int(config.solver.z_dim) not in (0, prior.z_dim):
            raise ConfigError(f"solver.z_dim={config.solver.z_dim} but the prior {config.prior!r} draws "
                              f"z of {prior.z_dim} numbers; set --config.solver.z_dim=0 (take the prior's).")
        if config.solver.prior != "none" and prior.discriminator_fn is None:
            raise ConfigError(f"solver.prior={config.solver.prior!r} is a term on the discriminator's logit, but the "
                              f"{prior.kind.upper()} prior {config.prior!r} has no discriminator; set "
                              "--config.solver.prior=none (the data term alone).")
    names, clean = load_test_images(config, prior.size if prior else None)
    problem = build_problem(config.task, clean.shape[1:])
    options = map_options(config, prior.z_dim if prior else 1)
    baseline_opts = {m: baseline_methods.options(m, config.baselines, clean.shape[1:],
                                                 scale=problem.baseline_scale, noisy=problem.noisy)
                     for m in methods if m in baseline_methods.BASELINES}
    for m in baseline_opts:
        baseline_methods.check_operator(m, problem.baseline_operator)
    experiment.start()  # the first write: the workdir and its config.json
    with experiment.stop_requests():  # Ctrl-C / SIGTERM: stop at the next boundary, resumable
        logging.info("GAN-prior %s: %d test images from %s; methods %s%s", problem.name, len(names), config.data.test,
                     ", ".join(methods), f"; prior {prior.path} (step {prior.step}, z of {prior.z_dim}), {options}"
                     if prior else "")

        key = jax.random.key(config.seed)
        corrupt_key, solve_key = jax.random.split(key)
        x = jnp.asarray(clean)
        y01 = problem.corrupt(corrupt_key, x)
        restored, seconds, diagnostics = {}, {}, {}
        if "naive" in methods:
            restored["naive"] = np.asarray(problem.input_image(y01))
            seconds["naive"] = 0.0
        for m, opts in baseline_opts.items():
            restored[m], seconds[m], info = baseline_methods.restore(
                m, problem.baseline_operator, problem.baseline_observation(y01), opts,
                jax.random.fold_in(solve_key, 1 + baseline_methods.BASELINES.index(m)), chunk=int(config.solver.chunk),
                store=experiment.chunks(m))
            diagnostics[m] = {"options": options_dict(opts), **info}
        if prior is not None:
            y = problem.solver_observation(y01)
            image_keys = jax.random.split(solve_key, len(names))
            _, generated, objectives, compile_s, solve_s = solve(prior, problem, y, image_keys, options,
                                                                 chunk=int(config.solver.chunk),
                                                                 store=experiment.chunks("ours"))
            check_finite(objectives, "MAP", "solver.lr", names)
            ours = to_unit(generated)
            restored["ours"], seconds["ours"] = ours, solve_s / len(names)
            if config.blend:
                blended, blend_info = problem.blends(y01, jnp.asarray(ours))
                restored.update({f"ours_{k}": np.asarray(v) for k, v in blended.items()})
                seconds.update({f"ours_{k}": seconds["ours"] for k in blended})
                diagnostics.update(blend_info)
            diagnostics.update(objective_mean=float(np.mean(objectives)), compile_s=compile_s,
                               seconds_per_image=seconds["ours"])
        results = {
            "task": problem.name, "images": len(names), "data": config.data.test, "headline": HEADLINE,
            "task_settings": config.task.to_dict(), "seed": int(config.seed),
            "prior": ({"path": prior.path, "step": prior.step, "z_dim": prior.z_dim, "size": prior.size}
                      if prior else None),
            "solver": dataclasses.asdict(options) if prior else None,
            "methods": {m: {**scores(im, clean), "seconds_per_image": seconds[m]} for m, im in restored.items()},
            "paper_ours": dict(zip(("psnr", "ssim"), TABLE1_OURS[problem.name])),
            "paper_baselines": {m: dict(zip(("psnr", "ssim"), rows[problem.name]))
                                for m, rows in TABLE1_BASELINES.items() if problem.name in rows},
            "paper_method": problem.paper_method,
            **diagnostics,
        }
        figure = figure_grid(clean, restored, count=int(config.figure_images)) if int(config.figure_images) else None
        write_outputs(experiment.workdir, results, figure, results_markdown(results))
        experiment.close()
    logging.info("seconds per image: %s", ", ".join(f"{m} {s:.2f}" for m, s in seconds.items()))
    return results


def results_markdown(results: dict) -> str:
    prior = results["prior"]
    lines = [f"GAN-prior {results['task']} on {results['images']} images ({results['data']})"
             + (f"; prior {prior['path']} (step {prior['step']})" if prior else ""), "",
             "| method | PSNR (dB, mean of images) | PSNR (dB, of mean MSE) | SSIM | s/image |",
             "|---|---|---|---|---|"]
    for method, s in results["methods"].items():
        lines.append(f"| {method} | {s['psnr_mean']:.2f} | {s['psnr_of_mean_mse']:.2f} | {s['ssim']:.4f} | "
                     f"{s['seconds_per_image']:.2f} |")
    for method, paper in results["paper_baselines"].items():
        lines.append(f"| 002_* Table 1, {baseline_methods.LABELS[method]} | {paper['psnr']:.2f} | — | "
                     f"{paper['ssim']:.4f} | |")
    paper = results["paper_ours"]
    lines.append(f"| 002_* Table 1, Ours | {paper['psnr']:.2f} | — | {paper['ssim']:.4f} | |")
    return "\n".join(lines) + "\n"


def figure_grid(clean, restored: dict, *, count: int) -> np.ndarray:
    """Figure 3's layout: columns Real | Input | TV | LR | Sparse | DIP | Ours [| Overlay |
    Blend] (those run), one row per image."""
    columns = [("Real", clean)] + [("Input", restored[m]) for m in ("naive",) if m in restored]
    columns += [(baseline_methods.LABELS[m], restored[m]) for m in baseline_methods.BASELINES if m in restored]
    columns += [("Ours" if m == "ours" else m[len("ours_"):].capitalize(), v)
                for m, v in restored.items() if m.startswith("ours")]
    return labelled_grid(columns, count=count)


def final_line(results: dict, workdir: str) -> str:
    methods = results["methods"]
    best = results["paper_method"] if results["paper_method"] in methods else "ours"
    parts = [f"{m} {s[HEADLINE]:.2f} dB / {s['ssim']:.4f}" for m, s in methods.items()
             if m == best or not m.startswith("ours")]
    paper = results["paper_ours"]
    per_image = max(s["seconds_per_image"] for s in methods.values())
    return (f"{results['task']}: PSNR / SSIM " + ", ".join(parts) + f" (002_* Table 1 Ours {paper['psnr']:.2f} / "
            f"{paper['ssim']:.4f}) on {results['images']} images, up to {per_image:.2f} s/image; results in {workdir}")
