"""GAN-prior restoration of a test set (002_* Table 1 and Figure 3), run by ``jaxrestore.main``:

    python -m jaxrestore.main --config=configs/gan_prior.py:task=inpaint \\
        --config.prior=runs/dcgan --config.data.test=folder:DIR --workdir=runs/inpaint

Each test image (RGB, the prior's size) is corrupted by the task's process
(:mod:`jaxrestore.inverse.problems`), restored by MAP search in the prior's latent space
(:func:`jaxrestore.inverse.solvers.map_search`, in chunks of ``solver.chunk`` images, one
compiled program for all chunks), and scored. The workdir receives ``config.json``,
``results.json`` / ``results.csv`` / ``results.md`` and ``figure.png`` (Figure 3's layout:
Real | Input | Ours [| blends], one row per image), all written atomically, only once every
image is solved.

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
from jaxrestore.inverse.chunks import run_in_chunks
from jaxrestore.inverse.priors import Prior, load_prior
from jaxrestore.inverse.problems import Problem, build_problem, to_unit
from jaxrestore.inverse.solvers import MAPOptions, map_search
from jaxrestore.metrics.ssim import ssim

# 002_* Table 1, row "Ours": (PSNR dB, SSIM) on 2,000 held-out CelebA faces.
PAPER_TABLE1 = {"inpaint": (23.60, 0.8121), "colorize": (20.85, 0.8876), "sr": (19.58, 0.5626),
                "denoise": (19.31, 0.6161), "quantize": (19.77, 0.6061)}


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
    if int(config.solver.chunk) < 1:
        raise ConfigError(f"solver.chunk={config.solver.chunk} must be at least 1 (images per compiled solve).")


def load_test_images(config, size: int) -> tuple[list[str], np.ndarray]:
    """The test images as (names, N x size x size x 3 float32 in [0, 1])."""
    from jaxrestore.data.pipeline import make_eval_images

    images = make_eval_images(config.data.test, count=int(config.data.max_images) or None,
                              tfds_data_dir=config.data.get("tfds_data_dir", ""),
                              center_crop=config.data.get("center_crop", 0), resize=config.data.get("resize", 0),
                              crop_box=tuple(config.data.get("crop_box", ())))
    if not images:
        raise DataError(f"data.test={config.data.test!r} holds no images; point it at a folder of "
                        f"{size}x{size} images.")
    for name, image in images.items():
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
    """Corrupts, restores and scores ``config.data.test`` with the prior ``config.prior``;
    writes the results into ``workdir`` and returns them."""
    check_config(config)
    prior = load_prior(config.prior)
    if int(config.solver.z_dim) not in (0, prior.z_dim):
        raise ConfigError(f"solver.z_dim={config.solver.z_dim} but the prior {config.prior!r} draws "
                          f"z of {prior.z_dim} numbers; set --config.solver.z_dim=0 (take the prior's).")
    names, clean = load_test_images(config, prior.size)
    problem = build_problem(config.task, clean.shape[1:])
    options = map_options(config, prior.z_dim)
    workdir = Path(workdir).absolute()
    if workdir.exists() and not workdir.is_dir():
        raise ConfigError(f"--workdir {str(workdir)!r} is a file; name a directory for the results.")
    workdir.mkdir(parents=True, exist_ok=True)
    checkpoints.write_config(workdir, config)
    logging.info("GAN-prior %s: %d test images from %s, prior %s (step %d, z of %d), %s", problem.name,
                 len(names), config.data.test, prior.path, prior.step, prior.z_dim, options)

    key = jax.random.key(config.seed)
    corrupt_key, solve_key = jax.random.split(key)
    x = jnp.asarray(clean)
    y01 = problem.corrupt(corrupt_key, x)
    y = problem.solver_observation(y01)
    image_keys = jax.random.split(solve_key, len(names))
    _, generated, objectives, compile_s, solve_s = solve(prior, problem, y, image_keys, options,
                                                         chunk=int(config.solver.chunk))
    if not np.all(np.isfinite(objectives)):
        bad = names[int(np.argmax(~np.isfinite(objectives)))]
        raise DataError(f"the MAP objective became non-finite (first on {bad!r}); lower solver.lr "
                        "(no results were written).")
    ours = to_unit(generated)
    restored = {"corrupted": np.asarray(problem.input_image(y01)), "ours": ours}
    diagnostics = {}
    if config.blend:
        blended, diagnostics = problem.blends(y01, jnp.asarray(ours))
        restored.update({f"ours_{k}": np.asarray(v) for k, v in blended.items()})
    results = {
        "task": problem.name, "images": len(names), "data": config.data.test,
        "prior": {"path": prior.path, "step": prior.step, "z_dim": prior.z_dim, "size": prior.size},
        "solver": dataclasses.asdict(options),
        "methods": {m: scores(im, clean) for m, im in restored.items()},
        "objective_mean": float(np.mean(objectives)),
        "compile_s": compile_s, "seconds_per_image": solve_s / len(names),
        "paper_ours": dict(zip(("psnr", "ssim"), PAPER_TABLE1[problem.name])),
        "paper_method": problem.paper_method,
        **diagnostics,
    }
    figure = figure_grid(clean, restored, count=int(config.figure_images))
    _write_results(workdir, results, figure)
    logging.info("%.2f s per image (batched, %d per call; compile %.1f s)", results["seconds_per_image"],
                 min(int(config.solver.chunk), len(names)), compile_s)
    return results


def results_markdown(results: dict) -> str:
    lines = [f"GAN-prior {results['task']} on {results['images']} images ({results['data']}); prior "
             f"{results['prior']['path']} (step {results['prior']['step']})", "",
             "| method | PSNR (dB, mean of images) | PSNR (dB, of mean MSE) | SSIM |", "|---|---|---|---|"]
    for method, s in results["methods"].items():
        lines.append(f"| {method} | {s['psnr']:.2f} | {s['psnr_mse']:.2f} | {s['ssim']:.4f} |")
    paper = results["paper_ours"]
    lines.append(f"| 002_* Table 1, Ours | {paper['psnr']:.2f} | — | {paper['ssim']:.4f} |")
    return "\n".join(lines) + "\n"


def _write_results(workdir: Path, results: dict, figure: np.ndarray) -> None:
    rows = [[results["task"], method, results["images"], f"{s['psnr']:.4f}", f"{s['psnr_mse']:.4f}",
             f"{s['ssim']:.6f}"] for method, s in results["methods"].items()]
    write_results(workdir, results, figure, header=["task", "method", "images", "psnr", "psnr_mse", "ssim"],
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
    """Figure 3's layout: columns Real | Input | Ours [| Overlay | Blend], one row per image."""
    columns = [("Real", clean), ("Input", restored["corrupted"])]
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
    paper = results["paper_ours"]
    return (f"{results['task']}: {best} PSNR {methods[best]['psnr']:.2f} dB / SSIM {methods[best]['ssim']:.4f} "
            f"(corrupted {methods['corrupted']['psnr']:.2f} / {methods['corrupted']['ssim']:.4f}; 002_* "
            f"Table 1 {paper['psnr']:.2f} / {paper['ssim']:.4f}) on {results['images']} images, "
            f"{results['seconds_per_image']:.2f} s/image; results in {workdir}")

