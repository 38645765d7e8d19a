"""The baselines as columns of both papers' commands (jaxrestore/inverse/experiments/baselines.py):
each column equals the baseline run on an observation made here with NumPy, the batched
run equals per-image runs, no prior is needed without a GAN method, the tune command ranks
its grid, and bad input is one clear error that writes nothing."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import gan_prior
from configs import iagan as iagan_config
from conftest import REPO, apply_overrides
from jaxrestore.data.pipeline import make_eval_images
from jaxrestore.errors import CheckpointError, ConfigError
from jaxrestore.inverse.experiments import gan_prior as experiment, iagan as iagan_experiment
from jaxrestore.inverse import operators as ops
from jaxrestore.inverse.experiments import baselines as methods
from jaxrestore.inverse.experiments import tune
from jaxrestore.inverse.baselines.lowrank import lowrank_restore
from jaxrestore.inverse.baselines.sparse import sparse_restore
from jaxrestore.inverse.baselines.tv import tv_restore
from jaxrestore.inverse.operators.sensing import SubsampledFourier, fourier_mask

TEST_16 = "procedural:faces:count=3:size=16:seed=5"
TEST_32 = "procedural:faces:count=2:size=32:seed=5"


def clean_images(spec):
    return np.stack(list(make_eval_images(spec).values())).astype(np.float32) / 255.0


def psnr_mean(images, clean):
    mse = np.mean((np.clip(np.asarray(images, np.float64), 0, 1) - clean) ** 2, axis=(1, 2, 3))
    return float(np.mean(-10 * np.log10(mse)))


def config_002(task, **overrides):
    c = gan_prior.get_config(f"task={task}")
    c.task.hole = 8
    c.data.test = TEST_16
    c.solver.chunk, c.figure_images = 2, 2
    c.baselines.tv.maxiter = 400
    c.baselines.lr.update(patch=4, stride=2, window=8, group=12, outer_iterations=3)
    c.baselines.sparse.update(patch=4, atoms=36, sparsity=3, outer_iterations=2)
    return apply_overrides(c, overrides)


def test_a_workdir_that_is_a_file_is_refused_by_both_experiments_and_kept(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    with pytest.raises(CheckpointError, match=r"--workdir '.*notes.txt' is a file, not a directory"):
        experiment.run(config_002("inpaint", methods="naive"), str(target))
    c = iagan_config.get_config("task=cs_fourier,ratio=0.5")
    c.data.test, c.methods, c.figure_images = TEST_16, "naive", 2
    with pytest.raises(CheckpointError, match=r"--workdir '.*notes.txt' is a file, not a directory"):
        iagan_experiment.run(c, str(target))
    assert target.read_text() == "mine"


def test_002_columns_run_without_a_prior_and_equal_the_baselines_on_numpy_observations(tmp_path):
    # lambda 0.01 (the validation choice for inpainting) fills the 8x8 hole within 400
    # iterations; smaller weights diffuse into it more slowly (0.002: 12.3 dB after 400).
    c = config_002("inpaint", methods="naive,tv,lr,sparse", **{"baselines.tv.weight": 0.01})
    results = experiment.run(c, str(tmp_path / "out"))
    assert list(results["methods"]) == ["naive", "tv", "lr", "sparse"] and results["prior"] is None
    clean = clean_images(TEST_16)
    mask = np.ones((16, 16), np.float32)
    mask[4:12, 4:12] = 0  # the centre 8x8 hole, made here
    observed = clean * mask[None, ..., None]
    op = ops.Mask.create(mask, (16, 16, 3))
    tv_opts = methods.tv_options(c.baselines.tv)
    lr_opts = methods.lr_options(c.baselines.lr, (16, 16, 3))
    sp_opts = methods.sparse_options(c.baselines.sparse, (16, 16, 3))
    one_by_one = {  # each image on its own (no batch axis): the batched column must equal these
        "tv": [tv_restore(op, jnp.asarray(y), tv_opts).image for y in observed],
        "lr": [lowrank_restore(op, jnp.asarray(y), lr_opts).image for y in observed],
        "sparse": [sparse_restore(op, jnp.asarray(y), sp_opts).image for y in observed],
    }
    for name, images in one_by_one.items():
        assert results["methods"][name]["psnr_mean"] == pytest.approx(psnr_mean(np.stack(images), clean),
                                                                      abs=2e-4), name
    assert results["methods"]["naive"]["psnr_mean"] == pytest.approx(psnr_mean(observed, clean), abs=1e-6)
    assert results["methods"]["tv"]["psnr_mean"] > results["methods"]["naive"]["psnr_mean"] + 3  # TV fills the hole
    assert results["tv"]["iterations_max"] <= 400
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    assert on_disk["paper_baselines"]["tv"] == {"psnr": 23.10, "ssim": 0.7647}
    assert "| 002_* Table 1, TV | 23.10 |" in (tmp_path / "out" / "results.md").read_text()


def test_the_batched_baselines_equal_per_image_runs_in_every_chunking():
    """restore() in chunks of 2 (the last padded) against single-image calls, on a shared
    downsampling operator; the batched programs vmap the per-image solvers."""
    clean = clean_images(TEST_16)
    op = ops.bicubic_downsample((16, 16, 3), 2)
    y = jax.vmap(op.A)(jnp.asarray(clean)) + 0.02 * jax.random.normal(jax.random.key(3), (3, 8, 8, 3))
    c = config_002("sr").baselines
    for name in ("tv", "lr", "sparse"):
        opts = methods.options(name, c, (16, 16, 3))
        batched, seconds, _ = methods.restore(name, op, y, opts, jax.random.key(0), chunk=2)
        single = [methods.restore(name, op, y[i:i + 1], opts, jax.random.key(0), chunk=1)[0][0] for i in range(3)]
        np.testing.assert_allclose(batched, np.stack(single), atol=2e-5, err_msg=name)
        assert seconds > 0


def test_003_baselines_see_the_same_noisy_measurements_as_the_gan_methods(tmp_path):
    c = iagan_config.get_config("task=cs_fourier,ratio=0.5,noise=10")
    c.data.test, c.methods, c.chunk, c.figure_images = TEST_32, "naive,tv", 2, 2
    results = iagan_experiment.run(c, str(tmp_path / "cs"))
    assert list(results["methods"]) == ["naive", "tv"] and results["prior"] is None
    # The measurements made here: y = A x + sigma e with e drawn as the command draws it.
    clean = clean_images(TEST_32)
    mask = fourier_mask(32, 32, 0.5, seed=0, decay=1.0)
    op = SubsampledFourier.create((32, 32, 3), mask)
    noise_key, _ = jax.random.split(jax.random.fold_in(jax.random.key(0), 0))
    ax = jax.vmap(op.A)(jnp.asarray(clean))
    y01 = ax + (10 / 255) * jax.random.normal(noise_key, ax.shape)
    tv = tv_restore(op, y01, methods.tv_options(c.baselines.tv)).image
    expected = 10 * np.log10(1 / np.mean((np.clip(np.asarray(tv, np.float64), 0, 1) - clean) ** 2))
    assert results["methods"]["tv"]["psnr_of_mean_mse"] == pytest.approx(expected, abs=1e-3)
    assert results["methods"]["tv"]["psnr_of_mean_mse"] > results["methods"]["naive"]["psnr_of_mean_mse"] + 2
    md = (tmp_path / "cs" / "results.md").read_text()
    assert "| setting | naive IFFT | TV |" in md and "003_* (CS ratio 0.5)" in md


def test_tune_ranks_its_grid_and_its_best_point_is_the_command_at_that_value(tmp_path):
    c = config_002("denoise")
    rows = tune.tune(c, "tv", tune.parse_grid(["baselines.tv.weight=0.02,0.1"]), TEST_16)
    assert [r["baselines.tv.weight"] for r in rows] == sorted([0.02, 0.1], key=lambda w: -next(
        r["psnr_mean"] for r in rows if r["baselines.tv.weight"] == w))  # 002_*'s headline
    assert rows[0]["psnr_mean"] >= rows[1]["psnr_mean"]
    best = rows[0]["baselines.tv.weight"]
    direct = experiment.run(apply_overrides(config_002("denoise"), {
        "methods": "tv", "baselines.tv.weight": best}), str(tmp_path / "direct"))
    assert direct["methods"]["tv"]["psnr_mean"] == pytest.approx(rows[0]["psnr_mean"], abs=1e-9)
    assert "| baselines.tv.weight | psnr_mean |" in tune.table(rows, ["baselines.tv.weight"])
    with pytest.raises(ConfigError, match="FIELD=V1,V2"):
        tune.parse_grid(["baselines.tv.weight"])
    with pytest.raises(ConfigError, match="not in the config"):
        tune.tune(c, "tv", tune.parse_grid(["baselines.tv.lambda=1"]), TEST_16)


@pytest.mark.parametrize("paper,overrides,match", [
    ("002", {"methods": "naive,ours"}, "no prior was given"),
    ("002", {"methods": "tv,bm3d"}, "unknown method 'bm3d'"),
    ("002", {"methods": "tv", "baselines.tv.weight": -1.0}, "lambda must be a finite number >= 0"),
    ("002", {"methods": "lr", "baselines.lr.patch": 20}, "patch 20 is larger than the 16x16 image"),
    ("002", {"methods": "sparse", "baselines.sparse.atoms": 40}, "atoms must be a square number"),
    ("003", {"methods": "naive,csgm"}, "need a GAN prior"),
    ("003", {"methods": "tv", "task.noise": 0.0}, "baseline settings are for 'cs_fourier:noisy'"),
])
def test_bad_input_is_one_clear_error_and_writes_nothing(tmp_path, paper, overrides, match):
    workdir = tmp_path / "out"
    if paper == "002":
        c, run = config_002("inpaint", **overrides), experiment.run
    else:
        c = iagan_config.get_config("task=cs_fourier,ratio=0.5,noise=10")
        c.data.test = TEST_32
        c, run = apply_overrides(c, overrides), iagan_experiment.run
    with pytest.raises(ConfigError, match=match):
        run(c, str(workdir))
    assert not (workdir / "results.json").exists()


def test_a_nonlinear_operator_is_refused_by_name():
    with pytest.raises(ConfigError, match="needs a linear operator .* leave tv out"):
        methods.check_operator("tv", ops.HSVValue(height=16, width=16))


def test_the_dip_column_is_dip_on_the_measurements_with_one_key_per_image_in_any_chunking(tmp_path):
    """003_*'s SR x4 with DIP: the column equals dip_restore on y = A x made here, image i with
    the i-th per-image key whatever the chunk; the iterations follow the official SR settings."""
    from jaxrestore.inverse.baselines.dip import dip_restore

    c = iagan_config.get_config("task=sr,scale=4")
    c.data.test, c.methods, c.chunk, c.figure_images = TEST_32, "dip", 1, 2
    c.baselines.dip.update(iterations=3, channels=8, scales=4)
    results = iagan_experiment.run(c, str(tmp_path / "sr"))
    assert results["sweep"][0]["dip"]["options"]["reg_noise_std"] == 0.03  # x4, no noise: the notebook's
    clean = clean_images(TEST_32)
    op = ops.bicubic_downsample((32, 32, 3), 4)
    # as the command forms it from the GAN methods' [-1, 1] measurements (DIP's Adam amplifies
    # a rounding difference of y, so the same float operations are used)
    y01 = (jax.vmap(op.A)(2.0 * jnp.asarray(clean) - 1.0) + op.A(jnp.ones((32, 32, 3)))) / 2.0
    _, solve_key = jax.random.split(jax.random.fold_in(jax.random.key(0), 0))
    keys = jax.random.split(jax.random.fold_in(solve_key, 1 + methods.BASELINES.index("dip")), 2)
    opts = methods.options("dip", c.baselines, (32, 32, 3), scale=4)
    assert (opts.iterations, opts.channels, opts.scales) == (3, 8, 4)
    images = dip_restore(op, y01, keys, opts).image
    expected = 10 * np.log10(1 / np.mean((np.asarray(images, np.float64) - clean) ** 2))
    assert results["methods"]["dip"]["psnr_of_mean_mse"] == pytest.approx(expected, abs=1e-4)
    assert methods.options("dip", iagan_config.get_config("task=sr,scale=8,noise=10").baselines, (64, 64, 3),
                           scale=8, noisy=True).iterations == 1000  # x8: 4000, a quarter with noise
    with pytest.raises(ConfigError, match="64"):
        methods.options("dip", iagan_config.get_config("task=sr,scale=4").baselines, (32, 32, 3), scale=4)


@pytest.mark.parametrize("module", ["jaxrestore.tune", "jaxrestore.inverse.baselines.tune"])
def test_the_tune_command_and_its_former_path_refuse_a_missing_method_in_one_line(module):
    result = subprocess.run([sys.executable, "-m", module, "--config=configs/gan_prior.py:task=denoise"], cwd=REPO,
                            env={**os.environ, "JAX_PLATFORMS": "cpu"}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == ("error: give --method=tv|lr|sparse|dip and "
                                                      "--data=VALIDATION_IMAGES (disjoint from the test set).")
