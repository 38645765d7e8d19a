"""GAN-prior restoration of a test set (002_* Table 1 and Figure 3), run by ``jaxrestore.main``:

    python -m jaxrestore.main --config=configs/gan_prior.py:task=inpaint \\
        --config.prior=runs/dcgan --config.data.test=folder:DIR --workdir=runs/inpaint

Each test image (RGB, the prior's size) is corrupted by the task's process
(:mod:`jaxrestore.inverse.problems`) and restored by the chosen methods (``methods``):
``naive`` (the corrupted input as an image), the classical baselines ``tv``, ``lr``,
``sparse`` and the untrained ``dip`` (:mod:`jaxrestore.inverse.baselines`, on the [0, 1]
observation with the task's linear operator), and ``ours``: MAP search in the prior's
latent space (:func:`jaxrestore.inverse.solvers.map_search`, in chunks of ``solver.chunk``
images, one compiled program for all chunks). The workdir receives ``config.json``,
``results.json`` / ``results.csv`` / ``results.md`` and ``figure.png`` (Figure 3's layout:
Real | Input | TV | LR | Sparse | Ours [| blends], one row per image), all written
atomically, only once every image is solved. Without ``ours`` no prior is needed.

Scores: PSNR and SSIM on RGB in [0, 1] (every result clipped to [0, 1], float, no
rounding to 8 bits). ``psnr`` is the mean over images of each image's PSNR over all its
pixels, ``psnr_mse`` is ``10 log10(1 / mean MSE)`` over the whole set; ``ssim`` is Wang
et al.'s Gaussian SSIM (11x11, sigma 1.5, data range 1) averaged over the three channels,
then over images. 002_* states neither, so both PSNRs are reported.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from jaxrestore import checkpoints
from jaxrestore.atomic import atomic_open
from jaxrestore.errors import ConfigError, DataError
from jaxrestore.inverse.baselines import methods as baseline_methods
from jaxrestore.inverse.chunks import run_in_chunks
from jaxrestore.inverse.priors import Prior, load_prior
from jaxrestore.inverse.problems import Problem, build_problem, to_unit
from jaxrestore.inverse.solvers import MAPOptions, map_search
from jaxrestore.metrics.ssim import ssim

# 002_* Table 1, row "Ours": (PSNR dB, SSIM) on 2,000 held-out CelebA faces.
PAPER_TABLE1 = {"inpaint": (23.60, 0.8121), "colorize": (20.85, 0.8876), "sr": (19.58, 0.5626),
                "denoise": (19.31, 0.6161), "quantize": (19.77, 0.6061)}


METHODS = ("naive", "tv", "lr", "sparse", "dip", "ours")
TABLE_METHODS = ("naive", "tv", "lr", "sparse", "ours")  # 002_* Table 1's columns (and the input)
# 002_* Table 1, rows TV, LR, Sparse: (PSNR dB, SSIM); colourisation was left empty there.
PAPER_BASELINES = {
    "tv": {"inpaint": (23.10, 0.7647), "sr": (21.05, 0.6648), "denoise": (21.97, 0.7373), "quantize": (20.77, 0.6312)},
    "lr": {"inpaint": (16.98, 0.6644), "sr": (21.45, 0.6754), "denoise": (18.69, 0.6178), "quantize": (20.65, 0.6754)},
    "sparse": {"inpaint": (20.67, 0.7528), "sr": (20.82, 0.6075), "denoise": (23.63, 0.8092),
               "quantize": (22.67, 0.7869)},
}


def methods_to_run(config) -> list[str]:
    """``config.methods`` (comma-separated; empty: 002_* Table 1's) in table order."""
    return baseline_methods.choose_methods(config.methods, METHODS, TABLE_METHODS)


def map_options(config, z_dim: int) -> MAPOptions:
    s = config.solver
    return MAPOptions(z_dim=z_dim, iterations=s.iterations, lr=s.lr, momentum=s.momentum,
                      prior_weight=s.prior_weight, prior=s.prior, init=s.init, restarts=s.restarts,
                      keep_best_iterate=s.keep_best_iterate).check()


def check_config(config) -> None:
    """What can be refused before the prior and images are read."""
    from jaxrestore.inverse.problems import PROBLEMS, problem_names

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
    if int(config.solver.chunk) < 1:
        raise ConfigError(f"solver.chunk={config.solver.chunk} must be at least 1 (images per compiled solve).")


def load_test_images(config, size: int | None) -> tuple[list[str], np.ndarray]:
    """The test images as (names, N x size x size x 3 float32 in [0, 1]); ``size`` None
    (no prior): every image must have the first one's size."""
    from jaxrestore.data.pipeline import make_eval_images

    images = make_eval_images(config.data.test, field="data.test", count=int(config.data.max_images) or None,
                              tfds_data_dir=config.data.get("tfds_data_dir", ""),
                              center_crop=config.data.get("center_crop", 0), resize=config.data.get("resize", 0),
                              crop_box=tuple(config.data.get("crop_box", ())))
    if not images:
        raise DataError(f"data.test={config.data.test!r} holds no images; point it at a folder of "
                        f"{size or 64}x{size or 64} images.")
    if size is None:
        first = next(iter(images.values()))
        for name, image in images.items():
            if image.shape[:2] != first.shape[:2]:
                raise DataError(f"test image {name!r} is {image.shape[0]}x{image.shape[1]} but the first is "
                                f"{first.shape[0]}x{first.shape[1]}; the methods restore a batch of one size, "
                                "so crop/resize the test set to one size.")
    for name, image in images.items():
        if size is None:
            break
        if image.shape[:2] != (size, size):
            raise DataError(f"test image {name!r} is {image.shape[0]}x{image.shape[1]} but the prior makes "
                            f"{size}x{size} images; crop/resize the test set to {size}x{size} or use a prior "
                            f"trained at {image.shape[0]} (data.patch_size).")
    names = list(images)
    return names, np.stack([images[n] for n in names]).astype(np.float32) / 255.0


def scores(restored, clean) -> dict[str, float]:
    """PSNR (mean of per-image values, and of the set's mean MSE) and SSIM on [0, 1] RGB."""
    restored, clean = np.asarray(restored, np.float64), np.asarray(clean, np.float64)
    mse = np.mean((restored - clean) ** 2, axis=(1, 2, 3))
    psnr = 10.0 * np.log10(1.0 / np.maximum(mse, 1e-30))
    return {"psnr": float(np.mean(psnr)), "psnr_mse": float(10.0 * np.log10(1.0 / max(np.mean(mse), 1e-30))),
            "ssim": float(np.mean([ssim(r, c, data_range=1.0) for r, c in zip(restored, clean)]))}


def solve(prior: Prior, problem: Problem, y, keys, options: MAPOptions, *, chunk: int,
          report: Callable[[str], None] = logging.info):
    """MAP search for every observation, ``chunk`` images per call of one compiled program
    (:func:`jaxrestore.inverse.chunks.run_in_chunks`). Returns (z, G(z) in [-1, 1],
    objectives, compile seconds, solve seconds)."""

    def run(g_vars, d_vars, operator, yy, kk):
        result = map_search(prior.generator_fn, g_vars, prior.discriminator_fn, d_vars, operator, yy, kk, options)
        return result.z, result.image, result.objective

    (z, images, objectives), compile_s, solve_s = run_in_chunks(
        run, (prior.g_vars, prior.d_vars, problem.operator), (y, keys), chunk=chunk,
        what=f"MAP search ({options.iterations} iterations)", report=report)
    return z, images, objectives, compile_s, solve_s


def run_gan_prior(config, workdir: str) -> dict:
    """Corrupts, restores and scores ``config.data.test`` with the chosen methods (the prior
    ``config.prior`` for ``ours``); writes the results into ``workdir`` and returns them."""
    check_config(config)
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
    names, clean = load_test_images(config, prior.size if prior else None)
    problem = build_problem(config.task, clean.shape[1:])
    options = map_options(config, prior.z_dim if prior else 1)
    baseline_opts = {m: baseline_methods.options(m, config.baselines, clean.shape[1:],
                                                 scale=int(config.task.scale) if problem.name == "sr" else None,
                                                 noisy=problem.name in ("denoise", "quantize"))
                     for m in methods if m in baseline_methods.BASELINES}
    for m in baseline_opts:
        baseline_methods.check_operator(m, problem.baseline_operator)
    workdir = checkpoints.local_workdir(workdir)
    checkpoints.check_writable_workdir(workdir)  # a file or an unwritable folder: one line, before anything is written
    checkpoints.write_config(workdir, config)
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
            jax.random.fold_in(solve_key, 1 + baseline_methods.BASELINES.index(m)), chunk=int(config.solver.chunk))
        diagnostics[m] = {"options": _asdict(opts), **info}
    objectives = None
    if prior is not None:
        y = problem.solver_observation(y01)
        image_keys = jax.random.split(solve_key, len(names))
        _, generated, objectives, compile_s, solve_s = solve(prior, problem, y, image_keys, options,
                                                             chunk=int(config.solver.chunk))
        if not np.all(np.isfinite(objectives)):
            bad = names[int(np.argmax(~np.isfinite(objectives)))]
            raise DataError(f"the MAP objective became non-finite (first on {bad!r}); lower solver.lr "
                            "(no results were written).")
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
        "task": problem.name, "images": len(names), "data": config.data.test,
        "prior": ({"path": prior.path, "step": prior.step, "z_dim": prior.z_dim, "size": prior.size}
                  if prior else None),
        "solver": dataclasses.asdict(options) if prior else None,
        "methods": {m: {**scores(im, clean), "seconds_per_image": seconds[m]} for m, im in restored.items()},
        "paper_ours": dict(zip(("psnr", "ssim"), PAPER_TABLE1[problem.name])),
        "paper_baselines": {m: dict(zip(("psnr", "ssim"), rows[problem.name]))
                            for m, rows in PAPER_BASELINES.items() if problem.name in rows},
        "paper_method": problem.paper_method,
        **diagnostics,
    }
    figure = figure_grid(clean, restored, count=int(config.figure_images))
    _write_results(workdir, results, figure)
    logging.info("seconds per image: %s", ", ".join(f"{m} {s:.2f}" for m, s in seconds.items()))
    return results


def _asdict(options) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(options).items()}


def results_markdown(results: dict) -> str:
    prior = results["prior"]
    lines = [f"GAN-prior {results['task']} on {results['images']} images ({results['data']})"
             + (f"; prior {prior['path']} (step {prior['step']})" if prior else ""), "",
             "| method | PSNR (dB, mean of images) | PSNR (dB, of mean MSE) | SSIM | s/image |",
             "|---|---|---|---|---|"]
    for method, s in results["methods"].items():
        lines.append(f"| {method} | {s['psnr']:.2f} | {s['psnr_mse']:.2f} | {s['ssim']:.4f} | "
                     f"{s['seconds_per_image']:.2f} |")
    for method, paper in results["paper_baselines"].items():
        lines.append(f"| 002_* Table 1, {baseline_methods.LABELS[method]} | {paper['psnr']:.2f} | — | "
                     f"{paper['ssim']:.4f} | |")
    paper = results["paper_ours"]
    lines.append(f"| 002_* Table 1, Ours | {paper['psnr']:.2f} | — | {paper['ssim']:.4f} | |")
    return "\n".join(lines) + "\n"


def _write_results(workdir: Path, results: dict, figure: np.ndarray) -> None:
    rows = [[results["task"], method, results["images"], f"{s['psnr']:.4f}", f"{s['psnr_mse']:.4f}",
             f"{s['ssim']:.6f}", f"{s['seconds_per_image']:.4f}"] for method, s in results["methods"].items()]
    write_results(workdir, results, figure,
                  header=["task", "method", "images", "psnr", "psnr_mse", "ssim", "seconds_per_image"],
                  rows=rows, markdown=results_markdown(results))


def write_results(workdir: Path, results: dict, figure: np.ndarray, *, header, rows, markdown: str) -> None:
    """An experiment's outputs, each written atomically, on process 0 only: ``figure.png``,
    ``results.csv`` (``header`` and ``rows``), ``results.md`` and ``results.json``."""
    from jaxrestore.imaging.io import write_image

    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    if jax.process_index() != 0:
        return
    write_image(workdir / "figure.png", figure)
    with atomic_open(workdir / "results.csv", newline="") as f:
        f.write(text.getvalue())
    with atomic_open(workdir / "results.md") as f:
        f.write(markdown)
    with atomic_open(workdir / "results.json") as f:
        json.dump(results, f, indent=2)


def figure_grid(clean, restored: dict, *, count: int) -> np.ndarray:
    """Figure 3's layout: columns Real | Input | TV | LR | Sparse | DIP | Ours [| Overlay |
    Blend] (those run), one row per image."""
    columns = [("Real", clean)] + [("Input", restored[m]) for m in ("naive",) if m in restored]
    columns += [(baseline_methods.LABELS[m], restored[m]) for m in baseline_methods.BASELINES if m in restored]
    columns += [("Ours" if m == "ours" else m[len("ours_"):].capitalize(), v)
                for m, v in restored.items() if m.startswith("ours")]
    return labelled_grid(columns, count=count)


def labelled_grid(columns, *, count: int, gap: int = 2, label_height: int = 12) -> np.ndarray:
    """A uint8 image of ``columns`` (``[(label, N x H x W x 3 in [0, 1]), ...]``): a header
    of column labels, one row per image (the first ``count``)."""
    from PIL import Image, ImageDraw

    clean = columns[0][1]
    rows = max(1, min(int(count), clean.shape[0]))
    h, w = clean.shape[1:3]
    width = len(columns) * (w + gap) + gap
    height = label_height + rows * (h + gap) + gap
    canvas = np.full((height, width, 3), 255, np.uint8)
    for j, (_, images) in enumerate(columns):
        for i in range(rows):
            top, left = label_height + gap + i * (h + gap), gap + j * (w + gap)
            canvas[top:top + h, left:left + w] = np.round(np.clip(images[i], 0, 1) * 255).astype(np.uint8)
    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    for j, (label, _) in enumerate(columns):
        draw.text((gap + j * (w + gap) + 1, 0), label, fill=(0, 0, 0))
    return np.asarray(picture)


def final_line(results: dict, workdir: str) -> str:
    methods = results["methods"]
    best = results["paper_method"] if results["paper_method"] in methods else "ours"
    parts = [f"{m} {s['psnr']:.2f} dB / {s['ssim']:.4f}" for m, s in methods.items()
             if m == best or not m.startswith("ours")]
    paper = results["paper_ours"]
    per_image = max(s["seconds_per_image"] for s in methods.values())
    return (f"{results['task']}: PSNR / SSIM " + ", ".join(parts) + f" (002_* Table 1 Ours {paper['psnr']:.2f} / "
            f"{paper['ssim']:.4f}) on {results['images']} images, up to {per_image:.2f} s/image; results in {workdir}")

