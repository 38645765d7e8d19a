"""The GAN-prior restoration command (configs/gan_prior.py, jaxrestore/inverse/experiments/gan_prior.py):
the five problems' observations, scores against NumPy, chunking, the written results, and
the bad inputs (one line each, exit status 2, nothing written)."""

import csv
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import REPO, apply_overrides
from configs import gan_prior
from jaxrestore.errors import CheckpointError, ConfigError, DataError
from jaxrestore.imaging.io import read_image, write_image
from jaxrestore.inverse.experiments import gan_prior as experiment
from jaxrestore.inverse.experiments.common import CSV_COLUMNS, scores
from jaxrestore.inverse import operators as ops
from jaxrestore.inverse.experiments.problems_002 import PROBLEMS, build_problem
from test_unconditional_gan import prior_config

TASKS = ("inpaint", "colorize", "sr", "denoise", "quantize")


@pytest.fixture(scope="module")
def prior_run(tmp_path_factory):
    """A tiny DCGAN prior (16x16 images, z of 16) trained for 2 steps by the training loop."""
    from jaxrestore.train import train_and_evaluate

    workdir = tmp_path_factory.mktemp("prior")
    train_and_evaluate(prior_config(**{"train.num_steps": 2, "train.eval_every": 2,
                                       "train.checkpoint_every": 2}), str(workdir))
    return workdir


def small_config(task, prior, **overrides):
    c = gan_prior.get_config(f"task={task}")
    c.prior = str(prior)
    c.task.hole = 8
    c.data.test = "procedural:faces:count=3:size=16:seed=5"
    c.solver.iterations = 4
    c.solver.chunk = 2
    c.figure_images = 2
    c.methods = "naive,ours"  # the baselines' columns are tested in test_baseline_methods.py
    return apply_overrides(c, overrides)


def test_the_config_names_the_five_tasks_and_the_released_settings():
    assert tuple(gan_prior.RELEASED) == TASKS == tuple(PROBLEMS)
    c = gan_prior.get_config("task=inpaint")
    assert (c.solver.lr, c.solver.prior_weight, c.solver.iterations) == (3e-4, 0.2, 3000)
    c = gan_prior.get_config("task=colorize")
    assert (c.solver.lr, c.solver.prior_weight, c.solver.iterations) == (1e-2, 0.1, 1000)
    for arg in ("task=deblur", "", "quick"):
        with pytest.raises(ConfigError, match="inpaint, colorize, sr, denoise, quantize"):
            gan_prior.get_config(arg)


@pytest.mark.parametrize("task", ["inpaint", "colorize", "sr"])
def test_the_solver_sees_the_clean_image_through_A_on_the_generator_scale(task):
    """Noise-free corruptions: the [-1, 1] observation equals A(2x - 1) of the clean image,
    computed here with the operators alone (and the corruption keeps what A sees)."""
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.uniform(size=(2, 16, 16, 3)), jnp.float32)
    c = gan_prior.get_config(f"task={task}")
    c.task.hole = 8
    problem = build_problem(c.task, (16, 16, 3))
    y = problem.solver_observation(problem.corrupt(jax.random.key(0), x))
    if task == "inpaint":
        a = ops.Mask.create(ops.weighted_mask(ops.centre_hole_mask(16, 16, 8), 15))
    elif task == "colorize":
        a = ops.Greyscale(height=16, width=16)
    else:
        a = ops.bicubic_downsample((16, 16, 3), 4)
    np.testing.assert_allclose(np.asarray(y), np.asarray(a.A(2.0 * x - 1.0)), atol=2e-6)


def test_quantize_and_denoise_observations_against_numpy():
    rng = np.random.default_rng(1)
    u8 = rng.integers(0, 256, size=(2, 16, 16, 3))
    x = jnp.asarray(u8 / 255.0, jnp.float32)
    q = build_problem(gan_prior.get_config("task=quantize").task, (16, 16, 3))
    np.testing.assert_allclose(np.asarray(q.corrupt(None, x)) * 255.0, (u8 // 55) * 55, atol=1e-4)
    d = build_problem(gan_prior.get_config("task=denoise").task, (16, 16, 3))
    noisy = np.asarray(d.corrupt(jax.random.key(3), x))
    noise = noisy - np.asarray(x)
    assert abs(noise.std() - 0.1) < 0.01 and noisy.max() > 1.0  # sigma 0.1, not clipped
    np.testing.assert_allclose(np.asarray(d.input_image(noisy)), np.clip(noisy, 0, 1))


def test_scores_against_numpy_psnr():
    rng = np.random.default_rng(2)
    clean = rng.uniform(size=(3, 16, 16, 3))
    restored = np.clip(clean + rng.normal(0, [[[[0.01]]], [[[0.05]]], [[[0.1]]]], clean.shape), 0, 1)
    s = scores(restored, clean)
    mse = [np.mean((r - c) ** 2) for r, c in zip(restored, clean)]
    assert s["psnr_mean"] == pytest.approx(np.mean([-10 * np.log10(m) for m in mse]), rel=1e-12)
    assert s["psnr_of_mean_mse"] == pytest.approx(-10 * np.log10(np.mean(mse)), rel=1e-12)
    assert s["psnr_of_mean_mse"] < s["psnr_mean"]  # Jensen: the mean of logs exceeds the log of the mean
    assert 0 < s["ssim"] < 1


def test_the_command_writes_results_figure_and_config(prior_run, tmp_path):
    workdir = tmp_path / "inpaint"
    results = experiment.run(small_config("inpaint", prior_run), str(workdir))
    on_disk = json.loads((workdir / "results.json").read_text())
    assert on_disk["task"] == "inpaint" and on_disk["images"] == 3
    assert set(on_disk["methods"]) == {"naive", "ours", "ours_overlay", "ours_blend"}
    assert on_disk["prior"]["step"] == 2 and on_disk["prior"]["z_dim"] == 16
    assert on_disk["solver"]["iterations"] == 4 and on_disk["poisson_residual_max"] < 1e-5
    rows = list(csv.DictReader((workdir / "results.csv").open()))
    assert [r["method"] for r in rows] == list(on_disk["methods"])
    # One schema for both experiments: the same CSV columns and score names; 002_*'s headline.
    assert list(rows[0]) == list(CSV_COLUMNS) and on_disk["headline"] == "psnr_mean"
    assert set(on_disk["methods"]["ours"]) == {"psnr_mean", "psnr_of_mean_mse", "ssim", "mse", "seconds_per_image"}
    assert float(rows[1]["psnr_mean"]) == pytest.approx(on_disk["methods"]["ours"]["psnr_mean"], abs=1e-4)
    assert "| ours_blend |" in (workdir / "results.md").read_text()
    assert json.loads((workdir / "config.json").read_text())["task"]["name"] == "inpaint"
    # The corrupted input: the clean image with a zero hole, scored with NumPy here.
    from jaxrestore.data.pipeline import make_eval_images

    clean = np.stack(list(make_eval_images("procedural:faces:count=3:size=16:seed=5").values())) / 255.0
    mask = ops.centre_hole_mask(16, 16, 8)[None, ..., None]
    mse = np.mean((clean * mask - clean) ** 2, axis=(1, 2, 3))
    assert results["methods"]["naive"]["psnr_mean"] == pytest.approx(np.mean(-10 * np.log10(mse)), rel=1e-6)
    # Figure 3's layout: Real | Input | Ours | Overlay | Blend, two rows under a 12-px header.
    figure = read_image(workdir / "figure.png")
    assert figure.shape == (12 + 2 * 18 + 2, 5 * 18 + 2, 3)
    np.testing.assert_array_equal(figure[14:30, 2:18], np.round(clean[0] * 255).astype(np.uint8))
    hole = figure[14 + 4:14 + 12, 20 + 4:20 + 12]  # the Input column's hole is black
    assert hole.max() == 0
    blend = figure[14:30, 4 * 18 + 2:5 * 18]  # Poisson blending keeps observed pixels exactly
    observed = mask[0, ..., 0] > 0
    np.testing.assert_array_equal(blend[observed], np.round(clean[0] * 255).astype(np.uint8)[observed])


def test_chunks_and_padding_do_not_change_any_image(prior_run, tmp_path):
    """Each image has its own key, so 3 images in chunks of 2 (the last padded) equal one chunk of 3."""
    a = experiment.run(small_config("sr", prior_run), str(tmp_path / "a"))
    b = experiment.run(small_config("sr", prior_run, **{"solver.chunk": 3}), str(tmp_path / "b"))
    for method in a["methods"]:
        scores = {k: v for k, v in a["methods"][method].items() if k != "seconds_per_image"}
        assert scores == pytest.approx({k: b["methods"][method][k] for k in scores}, rel=1e-5)
    assert a["objective_mean"] == pytest.approx(b["objective_mean"], rel=1e-5)


def test_every_task_runs_and_colorize_blend_keeps_the_grey(prior_run, tmp_path):
    for task in TASKS[1:]:
        r = experiment.run(small_config(task, prior_run, **{"solver.iterations": 2}),
                                     str(tmp_path / task))
        assert np.isfinite(r["methods"]["ours"]["psnr_mean"])
        assert ("ours_blend" in r["methods"]) == (task == "colorize")


@pytest.mark.parametrize("overrides,error,match", [
    ({"solver.prior_weight": -0.1}, ConfigError, "lambda must be >= 0"),
    ({"solver.iterations": 0}, ConfigError, "iterations must be a positive integer"),
    ({"task.name": "deblur"}, ConfigError, "inpaint .*colorize .*sr .*denoise .*quantize"),
    ({"task.name": "sr"}, ConfigError, "task=sr"),
    ({"task.hole": 16}, ConfigError, "hole size 16"),
    ({"solver.z_dim": 100}, ConfigError, "z of 16 numbers"),
    ({"data.test": "procedural:faces:count=2:size=24:seed=5"}, DataError, "24x24 but the prior makes 16x16"),
])
def test_bad_input_is_one_clear_error_and_writes_nothing(prior_run, tmp_path, overrides, error, match):
    workdir = tmp_path / "out"
    with pytest.raises(error, match=match):
        experiment.run(small_config("inpaint", prior_run, **overrides), str(workdir))
    assert not (workdir / "results.json").exists()


def test_a_mask_that_hides_every_pixel_is_refused():
    with pytest.raises(ConfigError, match="hides every pixel"):
        ops.Mask.create(np.zeros((16, 16)))


def test_a_prior_path_without_a_gan_is_refused(trained_run, tmp_path):
    with pytest.raises(CheckpointError, match="not a GAN prior"):
        experiment.run(small_config("sr", trained_run), str(tmp_path / "out"))
    with pytest.raises(ConfigError, match="--config.prior"):
        experiment.run(small_config("sr", ""), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_the_command_line_exits_2_with_one_line(prior_run, tmp_path):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}

    def main(*args):
        return subprocess.run([sys.executable, "-m", "jaxrestore.main", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300)

    bad = main("--config=configs/gan_prior.py:task=paint", f"--workdir={tmp_path / 'a'}")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("error: choose the task as")
    bad = main("--config=configs/gan_prior.py:task=sr", f"--config.prior={prior_run}",
               "--config.solver.prior_weight=-1", f"--workdir={tmp_path / 'b'}")
    assert bad.returncode == 2 and "lambda must be >= 0" in bad.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "b").exists()
    write_image(tmp_path / "faces" / "a.png", np.zeros((16, 16, 3), np.uint8))
    good = main("--config=configs/gan_prior.py:task=denoise", f"--config.prior={prior_run}",
                f"--config.data.test=folder:{tmp_path / 'faces'}", "--config.solver.iterations=2",
                f"--workdir={tmp_path / 'c'}")
    assert good.returncode == 0, good.stderr[-2000:]
    last = good.stdout.strip().splitlines()[-1]
    assert last.startswith("denoise: PSNR / SSIM naive") and ", ours " in last, last
    assert "MAP search (2 iterations): 1/1 images (100 %)" in good.stderr and "ETA" in good.stderr
