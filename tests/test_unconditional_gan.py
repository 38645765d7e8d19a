"""The unconditional GAN step of the DCGAN prior (002_* eq. 2), checked against an
independent optax computation; the prior trained by the one training loop."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from conftest import tiny_config
from jaxrestore.data.sources import parse_source
from jaxrestore.errors import ConfigError
from jaxrestore.training.methods import build_method
from test_methods import first_update, jgrad


def prior_config(**overrides):
    config = tiny_config("dcgan", **{"model.features": 8, "model.d_features": 8, "model.z_dim": 16,
                                     "data.patch_size": 16, "train.batch_size": 4, "optimizer.eps": 1.0,
                                     "data.train": "procedural:faces:count=16:size=16:seed=0",
                                     "eval.data": "", "train.grid_images": 2, **overrides})
    return config


def bce(logits, real: bool):
    p = jax.nn.sigmoid(logits)
    return -jnp.mean(jnp.log(p) if real else jnp.log(1 - p))


def test_step_updates_d_on_eq2_then_g_on_minus_log_d_through_the_updated_d():
    config = prior_config(**{"optimizer.d_lr": 0.01, "optimizer.g_lr": 0.01})
    method = build_method(config)
    rng = np.random.default_rng(0)
    batch = {"target": jnp.asarray(rng.uniform(size=(4, 16, 16, 3)), jnp.float32)}
    state = method.init(jax.random.key(0), batch)
    key = jax.random.key(1)
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, key)
    z = jax.random.uniform(key, (4, 16), minval=-1, maxval=1)  # the step's latents

    def g_train(params, stats):
        out, mut = method.generator.apply({"params": params, "batch_stats": stats}, z, train=True,
                                          mutable=["batch_stats"])
        return out, mut["batch_stats"]

    def d_train(params, stats, images):
        logits, mut = method.discriminator.apply({"params": params, "batch_stats": stats}, images, train=True,
                                                 mutable=["batch_stats"])
        return logits, mut["batch_stats"]

    fake, _ = g_train(state.g.params, state.g.batch_stats)
    real = batch["target"] * 2 - 1

    def d_loss(params):
        real_logits, stats = d_train(params, state.d.batch_stats, real)
        fake_logits, _ = d_train(params, stats, fake)
        return bce(real_logits, True) + bce(fake_logits, False)

    tx = optax.adam(0.01, 0.5, 0.999, 1.0)
    upd, _ = first_update(tx, jgrad(d_loss)(state.d.params), state.d.params)
    d_params = optax.apply_updates(state.d.params, upd)
    for a, b in zip(jax.tree.leaves(new.d.params), jax.tree.leaves(d_params)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6, rtol=1e-5)
    assert float(metrics["train/d_loss"]) == pytest.approx(float(d_loss(state.d.params)), rel=1e-5)

    def g_loss(params, d_params):
        out, _ = g_train(params, state.g.batch_stats)
        logits, _ = d_train(d_params, new.d.batch_stats, out)
        return bce(logits, True)  # -log D(G(z)), the non-saturating loss

    upd, _ = first_update(tx, jgrad(g_loss)(state.g.params, new.d.params), state.g.params)
    g_params = optax.apply_updates(state.g.params, upd)
    for a, b in zip(jax.tree.leaves(new.g.params), jax.tree.leaves(g_params)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6, rtol=1e-5)
    # through the updated D: the old D gives another G step
    upd, _ = first_update(tx, jgrad(g_loss)(state.g.params, state.d.params), state.g.params)
    old = optax.apply_updates(state.g.params, upd)
    assert max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
               for a, b in zip(jax.tree.leaves(new.g.params), jax.tree.leaves(old))) > 1e-5
    # G's batch statistics moved (training mode), and D's
    assert not np.array_equal(np.asarray(new.g.batch_stats["bn0"]["mean"]),
                              np.asarray(state.g.batch_stats["bn0"]["mean"]))


def test_the_training_loop_trains_a_prior_and_writes_sample_grids(tmp_path):
    from jaxrestore.imaging.io import read_image
    from jaxrestore.train import train_and_evaluate

    config = prior_config(**{"train.num_steps": 2, "train.eval_every": 2, "train.checkpoint_every": 2})
    metrics = train_and_evaluate(config, str(tmp_path))
    assert metrics == {}  # a prior has no held-out PSNR
    grid = read_image(tmp_path / "samples" / "grid_00000002.png")
    assert grid.shape == (32, 32, 3)  # 2x2 samples of 16x16
    assert json.loads((tmp_path / "config.json").read_text())["task"]["name"] == "generate"
    assert not (tmp_path / "best").exists() or not any((tmp_path / "best").iterdir())  # no best/
    from jaxrestore.runtime.checkpoints import load_generator_variables

    variables, step, which = load_generator_variables(tmp_path, which="latest")
    assert step == 2 and set(variables) >= {"params", "batch_stats"}


def test_prior_config_errors_are_one_line():
    from jaxrestore.train import check_config

    with pytest.raises(ConfigError, match="multiple of 16"):
        check_config(prior_config(**{"data.patch_size": 24}))
    with pytest.raises(ConfigError, match="restores nothing"):
        from jaxrestore.training.tasks import build_task

        build_task(prior_config().task).restorer(None, None)


def test_procedural_faces_are_deterministic_and_symmetric_in_layout():
    a = parse_source("procedural:faces:count=4:size=64:seed=3")
    b = parse_source("procedural:faces:count=4:size=64:seed=3")
    images = [a[i] for i in range(4)]
    assert all(np.array_equal(x, b[i]) for i, x in enumerate(images))
    assert images[0].shape == (64, 64, 3) and images[0].dtype == np.uint8
    assert not np.array_equal(images[0], images[1])
    # A face is roughly mirror-symmetric: the image is far closer to its mirror than to
    # another face (measured for these four: 15-28 grey levels mean absolute difference
    # against 59-71; the background ramp and the light are not symmetric).
    mirror = np.mean([np.abs(x.astype(float) - x[:, ::-1]).mean() for x in images])
    other = np.mean([np.abs(images[i].astype(float) - images[(i + 1) % 4]).mean() for i in range(4)])
    assert mirror < 0.5 * other


def test_fid_of_the_prior_samples_equals_a_recomputation_from_the_checkpoint(tmp_path):
    """eval.fid_every_steps on a prior: FID between eval.fid_data and as many samples of G
    from fixed latents; recomputed here from the saved generator with SciPy's sqrtm."""
    import scipy.linalg

    from jaxrestore.runtime.checkpoints import load_generator_variables, network_variables
    from jaxrestore.data.pipeline import make_eval_images
    from jaxrestore.metrics.fid import InceptionFeatures, read_fid_records
    from jaxrestore.models.dcgan import DCGANGenerator
    from jaxrestore.train import train_and_evaluate
    from jaxrestore.weights.inception import random_inception_variables

    fid_data = "procedural:faces:count=3:size=16:seed=42"
    config = prior_config(**{"train.num_steps": 2, "train.eval_every": 2, "train.checkpoint_every": 2,
                             "eval.fid_every_steps": 2, "eval.fid_data": fid_data,
                             "eval.fid_random_init": True, "data.epoch_images": 16})
    train_and_evaluate(config, str(tmp_path))
    records = read_fid_records(tmp_path)
    assert [r["step"] for r in records] == [2] and records[0]["epoch"] == pytest.approx(2 * 4 / 16)
    variables, _, _ = load_generator_variables(tmp_path, which="latest")
    g = DCGANGenerator(z_dim=16, features=8, size=16)
    z = jax.random.uniform(jax.random.key(config.seed + 11), (3, 16), minval=-1.0, maxval=1.0)
    samples = np.asarray(g.apply(network_variables(variables), z, train=False), np.float64)
    samples = np.round(np.clip((samples + 1.0) * 127.5, 0, 255)).astype(np.uint8)
    clean = list(make_eval_images(fid_data).values())
    extractor = InceptionFeatures(random_inception_variables(jax.random.key(config.seed + 2)), batch_size=3)
    a, b = extractor(clean), extractor(list(samples))
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(s1) + np.trace(s2)
                     - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2).real))
    assert records[0]["fid"] == pytest.approx(expected, rel=1e-3, abs=1e-3)
