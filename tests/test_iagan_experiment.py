"""The 003_* command (configs/iagan.py, jaxrestore/inverse/experiments/iagan.py): presets,
the paper's settings by prior, the naive column against NumPy's FFT, back-projection never
increasing the error without noise, sweeps, the written results, and bad input."""

import csv
import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from configs import iagan as iagan_config
from conftest import REPO, apply_overrides
from jaxrestore.errors import ConfigError, DataError
from jaxrestore.inverse.experiments import iagan as experiment
from jaxrestore.inverse.experiments.common import CSV_COLUMNS, load_test_images
from jaxrestore.inverse.experiments.problems_003 import build_problem
from jaxrestore.inverse.priors import Prior
from jaxrestore.inverse.operators.sensing import fourier_mask
from test_unconditional_gan import prior_config

SIZE = 32  # LPIPS' AlexNet needs at least 31 pixels


@pytest.fixture(scope="module")
def prior_run(tmp_path_factory):
    """A tiny 32x32 DCGAN prior trained for 2 steps by the training loop."""
    from jaxrestore.train import train_and_evaluate

    workdir = tmp_path_factory.mktemp("prior32")
    train_and_evaluate(prior_config(**{"train.num_steps": 2, "train.eval_every": 2, "train.checkpoint_every": 2,
                                       "data.patch_size": SIZE,
                                       "data.train": f"procedural:faces:count=16:size={SIZE}:seed=0"}), str(workdir))
    return workdir


def small_config(arg, prior, **overrides):
    c = iagan_config.get_config(arg)
    c.prior = str(prior)
    c.data.test = f"procedural:faces:count=3:size={SIZE}:seed=5"
    c.csgm.iterations, c.csgm.restarts, c.iagan.iterations = 6, 1, 4
    c.chunk, c.figure_images = 2, 2
    # The table's methods but DIP (its 5 scales need 64 pixels; tested in test_baseline_dip.py)
    c.methods = ",".join(m for m in experiment.methods_to_run(c) if m != "dip")
    return apply_overrides(c, overrides)


def test_presets_parse_settings_and_sweeps():
    c = iagan_config.get_config("task=cs_fourier,ratio=0.3,noise=10")
    assert (c.task.name, c.task.ratio, c.task.noise, c.task.ratios) == ("cs_fourier", 0.3, 10.0, ())
    c = iagan_config.get_config("task=cs_gaussian,ratios=0.1,0.25,0.5")
    assert c.task.ratios == (0.1, 0.25, 0.5)
    assert iagan_config.get_config("task=sr,scale=8").task.scale == 8
    for arg in ("task=inpaint", "", "task=sr,sigma=3"):
        with pytest.raises(ConfigError, match="cs_gaussian, cs_fourier, sr, deblur"):
            iagan_config.get_config(arg)
    with pytest.raises(ConfigError, match="not a number"):
        iagan_config.get_config("task=sr,scale=x4")


def _prior(kind):
    return Prior(generator_fn=None, g_vars=None, discriminator_fn=None, d_vars=None, z_dim=64, size=128, path="",
                 step=0, kind=kind, latent="normal" if kind == "pggan" else "uniform")


@pytest.mark.parametrize("kind,arg,csgm,iagan,lrs,init", [
    ("began", "task=cs_gaussian,ratio=0.3", 1600, 600, (1e-4, 1e-4), "uniform"),
    ("began", "task=sr,scale=4", 1600, 500, (1e-4, 1e-4), "uniform"),
    ("began", "task=sr,scale=4,noise=10", 1600, 250, (1e-4, 1e-4), "uniform"),
    ("pggan", "task=cs_fourier,ratio=0.5,noise=10", 1800, 250, (1e-4, 1e-3), "normal"),
    ("pggan", "task=sr,scale=16", 1800, 300, (1e-4, 1e-3), "normal"),
    ("dcgan", "task=deblur,noise=10", 1600, 250, (1e-4, 1e-4), "uniform"),  # deblur: SR's count, halved
])
def test_the_papers_settings_by_prior(kind, arg, csgm, iagan, lrs, init):
    c_options, i_options = experiment.solver_options(iagan_config.get_config(arg), _prior(kind))
    assert (c_options.iterations, c_options.lr, c_options.restarts, c_options.init) == (csgm, 0.1, 5, init)
    assert (i_options.iterations, (i_options.lr_z, i_options.lr_theta)) == (iagan, lrs)
    assert c_options.keep_best_iterate and i_options.keep_best_iterate


def test_fourier_run_naive_is_numpy_zero_filled_ifft_and_bp_never_raises_the_error(prior_run, tmp_path):
    config = small_config("task=cs_fourier,ratio=0.3", prior_run)
    results = experiment.run(config, str(tmp_path))
    names, clean = load_test_images(config, SIZE)
    mask = fourier_mask(SIZE, SIZE, 0.3, seed=0)
    coefficients = np.fft.fft2(2 * clean.astype(np.float64) - 1, axes=(1, 2), norm="ortho") * mask[None, :, :, None]
    naive = np.clip((np.fft.ifft2(coefficients, axes=(1, 2), norm="ortho").real + 1) / 2, 0, 1)
    mse = np.mean((naive - clean) ** 2, axis=(1, 2, 3))
    m = results["methods"]
    assert list(m) == ["naive", "csgm", "csgm_bp", "iagan", "iagan_bp"]
    assert m["naive"]["mse"] == pytest.approx(mse.mean(), rel=1e-4)
    assert m["naive"]["psnr_of_mean_mse"] == pytest.approx(10 * np.log10(1 / mse.mean()), abs=1e-3)
    assert m["naive"]["psnr_mean"] == pytest.approx(np.mean(10 * np.log10(1 / mse)), abs=1e-3)
    # Without noise and with an orthonormal A, BP removes the row-space error: never worse.
    assert m["csgm_bp"]["mse"] <= m["csgm"]["mse"] * (1 + 1e-5)
    assert m["iagan_bp"]["mse"] <= m["iagan"]["mse"] * (1 + 1e-5)
    assert all(0 <= s["ps"] < 1.5 and s["seconds_per_image"] >= 0 for s in m.values())
    assert m["iagan"]["seconds_per_image"] >= m["csgm"]["seconds_per_image"]
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["methods"]["csgm"]["psnr_of_mean_mse"] == pytest.approx(m["csgm"]["psnr_of_mean_mse"])
    assert written["prior"]["kind"] == "dcgan" and written["images"] == 3
    table = (tmp_path / "results.md").read_text()
    assert "| CS ratio 0.3 |" in table and "naive IFFT" in table and "IAGAN-BP" in table
    assert (tmp_path / "figure.png").stat().st_size > 0 and (tmp_path / "results.csv").exists()
    # One schema for both experiments: the same CSV columns and score names; 003_*'s headline.
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert list(rows[0]) == list(CSV_COLUMNS) and written["headline"] == "psnr_of_mean_mse"
    assert set(m["csgm"]) == {"psnr_mean", "psnr_of_mean_mse", "ssim", "ps", "mse", "seconds_per_image"}
    assert float(rows[1]["psnr_of_mean_mse"]) == pytest.approx(m["csgm"]["psnr_of_mean_mse"], abs=1e-4)


def test_naive_gaussian_is_numpy_transpose_and_the_stored_matrix_is_not_compiled_in():
    problem = build_problem(iagan_config.get_config("task=cs_gaussian,ratio=0.5").task)
    op = problem.operator((32, 32, 3), 0.5)
    naive = jax.jit(problem.naive)
    assert op.matrix is not None  # stored: 1536 x 3072 float32, 18.9 MB
    y = jax.random.normal(jax.random.key(1), (2, op.measurements))
    out = naive(op, y)
    expected = (np.asarray(y, np.float64) @ np.asarray(op.matrix, np.float64)).reshape(2, 32, 32, 3)
    np.testing.assert_allclose(np.asarray(out), expected, atol=1e-5 * np.abs(expected).max())
    # The matrix is an argument of the program: closed over, it was a constant of 2x its bytes as text.
    program = naive.lower(op, y).as_text()
    assert len(program) < 100_000


def test_a_gaussian_sweep_gives_one_entry_per_ratio_and_noise_leaves_bp_out(prior_run, tmp_path):
    config = small_config("task=cs_gaussian,ratios=0.2,0.6,noise=10", prior_run, **{"methods": ""})
    assert experiment.methods_to_run(config) == ["naive", "dip", "csgm", "iagan"]  # 003_*'s noisy columns
    config.methods = "naive,csgm,iagan"
    results = experiment.run(config, str(tmp_path))
    assert [e["setting"] for e in results["sweep"]] == [0.2, 0.6]
    assert list(results["methods"]) == ["naive", "csgm", "iagan"]
    assert results["sweep"][1]["measurements"] == round(0.6 * SIZE * SIZE * 3)
    assert results["sweep"][0]["iagan"]["iterations"] == 4
    # the images of a chunk, each with its own generator weights, ran one after the other (auto on a CPU)
    iagan_record = results["sweep"][0]["iagan"]
    assert iagan_record["batching"] == "auto" and iagan_record["batching_used"] == "loop"
    # Figure 2 from the sweep
    from jaxrestore import plot
    from jaxrestore.imaging.io import read_image

    plot.main(["plot", "cs_curve", f"--run=toy={tmp_path}", f"--output={tmp_path / 'fig2.png'}", "--width=400",
               "--height=300"])
    assert read_image(tmp_path / "fig2.png").shape[:2] == (300, 400)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="has no results.json"):
        plot.main(["plot", "cs_curve", f"--run=x={tmp_path / 'empty'}", f"--output={tmp_path / 'f.png'}"])


def test_bp_with_noise_runs_with_a_warning(prior_run, tmp_path, caplog):
    # Read from the log records: which stream absl's handler writes to depends on the tests the
    # worker ran before (a CI run saw the line on stderr but not through capfd).
    config = small_config("task=deblur,noise=10", prior_run, **{"methods": "csgm,csgm_bp"})
    with caplog.at_level("WARNING"):
        results = experiment.run(config, str(tmp_path))
    assert list(results["methods"]) == ["csgm", "csgm_bp"]
    assert "amplifies the noise" in caplog.text


@pytest.mark.parametrize("overrides,words", [
    ({"task.ratio": 1.5}, r"in \(0, 1\]"),
    ({"task.noise": -1.0}, "noise level must be >= 0"),
    ({"methods": "csgm,dip2"}, "unknown method 'dip2'"),
    ({"task.bp_inverse": "bicubic"}, "for sr only"),
    ({"chunk": 0}, "at least 1"),
])
def test_bad_settings_are_refused_before_anything_is_written(prior_run, tmp_path, overrides, words):
    config = small_config("task=cs_fourier,ratio=0.3", prior_run, **overrides)
    with pytest.raises(ConfigError, match=words):
        experiment.run(config, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_image_sizes_the_prior_or_scale_cannot_take(prior_run, tmp_path):
    config = small_config("task=sr,scale=3", prior_run)
    with pytest.raises(ConfigError, match="not divisible by the scale 3"):
        experiment.run(config, str(tmp_path / "a"))
    config = small_config("task=sr,scale=4", prior_run, **{"data.test": "procedural:faces:count=2:size=48:seed=1"})
    with pytest.raises(DataError, match="48x48 but the prior makes 32x32"):
        experiment.run(config, str(tmp_path / "b"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_command_line_runs_a_task_and_refuses_a_bad_ratio_in_one_line(prior_run, tmp_path):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}

    def main(*args):
        return subprocess.run([sys.executable, "-m", "jaxrestore.main", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300)

    bad = main("--config=configs/iagan.py:task=cs_gaussian,ratio=0", f"--config.prior={prior_run}",
               f"--workdir={tmp_path / 'a'}")
    assert bad.returncode == 2 and "must be in (0, 1]" in bad.stderr.strip().splitlines()[-1]
    good = main("--config=configs/iagan.py:task=sr,scale=4", f"--config.prior={prior_run}",
                f"--config.data.test=procedural:faces:count=1:size={SIZE}:seed=3", "--config.csgm.iterations=2",
                "--config.methods=naive,csgm,csgm_bp,iagan,iagan_bp",
                "--config.csgm.restarts=1", "--config.iagan.iterations=2", f"--workdir={tmp_path / 'b'}")
    assert good.returncode == 0, good.stderr[-2000:]
    assert good.stdout.strip().splitlines()[-1].startswith("sr (SR x4): Bicubic")
    assert "CSGM (2 iterations x 1 starts): 1/1 images (100 %)" in good.stderr and "ETA" in good.stderr


def test_a_pggan_weight_file_is_a_prior_with_normal_latents_and_frozen_scales(tmp_path):
    """A 32x32 PGGAN in the port's layout, as an .npz of random weights, runs through the
    command: N(0, I) starts, the paper's PGGAN settings, wscale scales frozen by a field."""
    from jaxrestore.inverse.solvers.iagan import _labels
    from jaxrestore.inverse.priors import load_prior
    from jaxrestore.models.pggan import wscale_scale_mask
    from jaxrestore.weights.pggan import expected_shapes

    rng = np.random.default_rng(0)
    shapes = expected_shapes(resolution=SIZE, latent_dim=16, widths=(16, 16, 8, 8))
    arrays = {k: (rng.normal(size=s) * (0.2 if k.endswith("scale") else 1.0)).astype(np.float32)
              for k, s in shapes.items()}
    np.savez(tmp_path / "pggan32.npz", **arrays)
    prior = load_prior(str(tmp_path / "pggan32.npz"))
    assert (prior.kind, prior.latent, prior.z_dim, prior.size, prior.discriminator_fn) == ("pggan", "normal", 16,
                                                                                         SIZE, None)
    # freeze="wscale/scale" selects exactly the port's scale scalars
    labels = _labels(prior.g_vars, ("wscale/scale",))
    mask = wscale_scale_mask(prior.g_vars)
    agree = jax.tree.leaves(jax.tree.map(lambda l, m: (l == "frozen") == bool(m), labels, mask))
    assert agree == [True] * len(shapes) and sum(jax.tree.leaves(mask)) == len(shapes) // 3
    config = small_config("task=sr,scale=4", tmp_path / "pggan32.npz", **{"iagan.freeze": "wscale/scale"})
    results = experiment.run(config, str(tmp_path / "out"))
    assert results["prior"]["kind"] == "pggan" and results["sweep"][0]["csgm"]["init"] == "normal"
    iagan_record = results["sweep"][0]["iagan"]
    assert iagan_record["lr_theta"] == 1e-3 and iagan_record["freeze"] == ["wscale/scale"]
    assert np.isfinite(results["methods"]["iagan"]["psnr_of_mean_mse"])


def test_a_began_run_is_a_prior_its_generator_from_the_latest_checkpoint(tmp_path):
    from jaxrestore.runtime.checkpoints import load_generator_variables, network_variables
    from jaxrestore.inverse.priors import load_prior
    from jaxrestore.training.methods import build_method
    from jaxrestore.train import train_and_evaluate
    from test_began import prior_config as began_config

    config = began_config(**{"train.num_steps": 2, "train.checkpoint_every": 2, "train.eval_every": 2,
                             "data.patch_size": SIZE, "data.train": f"procedural:faces:count=8:size={SIZE}:seed=0"})
    train_and_evaluate(config, str(tmp_path / "began"))
    prior = load_prior(str(tmp_path / "began"))
    assert (prior.kind, prior.latent, prior.z_dim, prior.size, prior.step) == ("began", "uniform", 16, SIZE, 2)
    variables, _, _ = load_generator_variables(tmp_path / "began", which="latest")
    z = jax.random.uniform(jax.random.key(0), (2, 16), minval=-1, maxval=1)
    expected = build_method(config).generator.apply(network_variables(variables), z)
    np.testing.assert_allclose(np.asarray(prior.generator_fn(prior.g_vars, z)), np.asarray(expected), atol=1e-6)
    results = experiment.run(small_config("task=cs_fourier,ratio=0.5", tmp_path / "began"), str(tmp_path / "o"))
    assert results["prior"]["kind"] == "began" and results["sweep"][0]["csgm"]["init"] == "uniform"
