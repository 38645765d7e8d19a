"""ARGAN networks and one step of each artifact-removal config, against independent computations."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrestore.inference import ModelRestorer
from jaxrestore.losses import adversarial
from jaxrestore.methods import build_method
from jaxrestore.models.argan import DISCRIMINATOR_BLOCKS, ARGANDiscriminator, ARGANGenerator
from jaxrestore.restore import restore_tiled
from test_methods import assert_trees_close, trees_equal
from test_models import conv_params, count


def generator_count(blocks=15, f=64, channels=1, noise=1):
    n = conv_params(3, channels, f) + conv_params(3, f, f)         # head, stride-2 down
    n += conv_params(3, f + noise, f)                                # merge (features + noise)
    n += blocks * (2 * conv_params(3, f, f) + 2 * 2 * f)             # residual blocks (2 conv, 2 BN)
    n += conv_params(3, f, f) + 2 * f                                # body conv + BN
    n += conv_params(3, f, 4 * f)                                    # sub-pixel x2
    return n + conv_params(3, f, channels)                           # tail


def test_generator_parameter_count_and_shapes():
    model = ARGANGenerator()
    variables = model.init({"params": jax.random.key(0), "noise": jax.random.key(1)}, jnp.zeros((1, 48, 48, 1)))
    assert count(variables["params"]) == generator_count() == 1_372_097
    assert variables["params"]["merge"]["kernel"].shape == (3, 3, 65, 64)  # 64 features + 1 noise channel
    assert model.apply(variables, jnp.zeros((2, 48, 40, 1))).shape == (2, 48, 40, 1)
    with pytest.raises(ValueError, match="even"):
        model.apply(variables, jnp.zeros((1, 47, 48, 1)))


def test_discriminator_parameter_count_and_sub_patch_map():
    model = ARGANDiscriminator()
    x = jnp.zeros((1, 48, 48, 1))
    variables = model.init(jax.random.key(0), x, x)
    n, cin, side = conv_params(3, 2, 64), 64, 48
    for features, stride in DISCRIMINATOR_BLOCKS:
        n += conv_params(3, cin, features) + 2 * features
        cin, side = features, side // stride
    n += conv_params(1, cin, 1)
    assert side == 6
    assert count(variables["params"]) == n == 1_146_753
    images = jnp.asarray(np.random.default_rng(0).uniform(size=(3, 48, 48, 1)), jnp.float32)
    logits = model.apply(variables, images, images)
    assert logits.shape == (3, 6, 6)
    # Conditional: the same image judged beside another JPEG input gets other logits.
    assert not np.allclose(logits, model.apply(variables, images, 1.0 - images))


def test_noise_stream_and_deterministic_inference():
    model = ARGANGenerator(num_blocks=1, features=8)
    x = jnp.asarray(np.random.default_rng(0).uniform(size=(1, 16, 16, 1)), jnp.float32)
    variables = model.init({"params": jax.random.key(0), "noise": jax.random.key(1)}, x)
    a = model.apply(variables, x, rngs={"noise": jax.random.key(5)})
    b = model.apply(variables, x, rngs={"noise": jax.random.key(6)})
    assert float(jnp.abs(a - b).max()) > 1e-4  # the noise input is used
    # No stream (inference): a fixed draw, so the same input always gives the same output.
    np.testing.assert_array_equal(model.apply(variables, x), model.apply(variables, x))
    assert float(jnp.abs(model.apply(variables, x) - a).max()) > 1e-4
    model_without = ARGANGenerator(num_blocks=1, features=8, noise_channels=0)
    v2 = model_without.init(jax.random.key(0), x)
    assert v2["params"]["merge"]["kernel"].shape == (3, 3, 8, 8)


def test_restorer_pads_odd_sizes_and_tiles_match_whole_image():
    model = ARGANGenerator(num_blocks=1, features=8)
    variables = model.init({"params": jax.random.key(0), "noise": jax.random.key(1)}, jnp.zeros((1, 8, 8, 1)))
    restorer = ModelRestorer(model, variables, task="jpeg", quality=10)
    image = np.random.default_rng(1).integers(0, 256, (33, 47, 1), dtype=np.uint8)
    out = restorer(image)
    assert out.shape == (33, 47, 1) and out.dtype == np.uint8
    # Odd sizes are reflect-padded: the kept part equals the network on the padded image.
    padded = np.pad(image.astype(np.float32) / 255, ((0, 1), (0, 1), (0, 0)), mode="reflect")
    direct = np.asarray(model.apply(variables, jnp.asarray(padded[None])))[0, :33, :47]
    np.testing.assert_allclose(np.asarray(restorer.apply(image[None].astype(np.float32) / 255))[0], direct,
                               atol=1e-6)
    with pytest.raises(Exception, match="one channel"):
        restorer(np.zeros((8, 8, 3), np.uint8))
    # Tiles on an even grid with a margin covering the receptive field equal the whole image
    # (noise included: the inference noise is i.i.d., so only a fixed-key draw could differ;
    # with no "noise" stream each call draws from key 0 at its own shape — compare without noise).
    quiet = ARGANGenerator(num_blocks=1, features=8, noise_channels=0)
    qv = quiet.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))
    r = ModelRestorer(quiet, qv, task="jpeg", quality=10)
    x = np.random.default_rng(2).uniform(size=(40, 52, 1)).astype(np.float32)
    whole = np.asarray(r.apply(x[None]))[0]
    tiled = restore_tiled(r.apply, x, scale=1, tile=15, margin=16, multiple=2)  # field ~14 px
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def _batch(config, seed=0):
    rng = np.random.default_rng(seed)
    p = config.data.patch_size
    target = rng.uniform(size=(2, p, p, 1)).astype(np.float32)
    degraded = np.clip(target + rng.normal(scale=0.05, size=target.shape), 0, 1).astype(np.float32)
    return {"degraded": jnp.asarray(degraded), "target": jnp.asarray(target)}


def _g(method, state, params, degraded, key):
    out, _ = method.generator.apply({"params": params, "batch_stats": state.g.batch_stats}, degraded,
                                    train=True, mutable=["batch_stats"], rngs={"noise": key})
    return out


def _d_logits(method, d, images, degraded):
    logits, _ = method.discriminator.apply({"params": d.params, "batch_stats": d.batch_stats}, images,
                                           degraded, train=True, mutable=["batch_stats"])
    return logits


def test_argan_base_step_is_fidelity_only_with_the_steps_noise(make_config):
    config = make_config("argan", **{"optimizer.eps": 1.0})
    method = build_method(config)
    batch = _batch(config)
    state = method.init(jax.random.key(0), batch)
    assert state.d is None and config.task.name == "jpeg"
    key = jax.random.key(3)
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, key)
    grads = jax.grad(lambda p: jnp.mean((2 * _g(method, state, p, batch["degraded"], key)
                                         - 2 * batch["target"]) ** 2))(state.g.params)
    tx = optax.adam(config.optimizer.g_lr, config.optimizer.b1, config.optimizer.b2, 1.0)
    upd, _ = tx.update(grads, tx.init(state.g.params), state.g.params)
    assert_trees_close(new.g.params, optax.apply_updates(state.g.params, upd))
    # Another key gives another noise patch, hence another step.
    other, _ = jax.jit(method.train_step)(method.frozen, state, batch, jax.random.key(4))
    assert not trees_equal(other.g.params, new.g.params)


def test_argan_vgg_step_updates_conditional_d_then_g(make_config):
    config = make_config("argan", **{"loss.fidelity": "vgg", "loss.vgg_random_init": True,
                                     "loss.adversarial_weight": 0.5, "optimizer.eps": 1.0,
                                     "optimizer.d_lr": 0.5, "train.pretrain_steps": 1})
    method = build_method(config)
    batch = _batch(config)
    state = method.init(jax.random.key(0), batch)
    key = jax.random.key(7)
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, key)
    fake = _g(method, state, state.g.params, batch["degraded"], key)

    def d_loss(params):
        real, mut = method.discriminator.apply({"params": params, "batch_stats": state.d.batch_stats},
                                               batch["target"], batch["degraded"], train=True,
                                               mutable=["batch_stats"])
        fake_logits, _ = method.discriminator.apply({"params": params, "batch_stats": mut["batch_stats"]},
                                                    fake, batch["degraded"], train=True, mutable=["batch_stats"])
        return -jnp.mean(jnp.log(jax.nn.sigmoid(real))) - jnp.mean(jnp.log(1 - jax.nn.sigmoid(fake_logits)))

    tx_d = optax.adam(0.5, config.optimizer.b1, config.optimizer.b2, 1.0)
    upd, _ = tx_d.update(jax.grad(d_loss)(state.d.params), tx_d.init(state.d.params), state.d.params)
    assert_trees_close(new.d.params, optax.apply_updates(state.d.params, upd), atol=1e-4)

    from jaxrestore.losses.perceptual import vgg_feature_loss

    def g_loss(params):
        out = _g(method, state, params, batch["degraded"], key)
        fid = vgg_feature_loss(method.frozen["vgg"], out, batch["target"])
        return fid + 0.5 * jnp.mean(jax.nn.softplus(-_d_logits(method, new.d, out, batch["degraded"])))

    tx = optax.adam(config.optimizer.g_lr, config.optimizer.b1, config.optimizer.b2, 1.0)
    upd, _ = tx.update(jax.grad(g_loss)(state.g.params), tx.init(state.g.params), state.g.params)
    assert_trees_close(new.g.params, optax.apply_updates(state.g.params, upd), atol=2e-6)
    assert float(metrics["train/adversarial_loss"]) > 0


@pytest.mark.parametrize("lr", [1e-3, 1e-1])
def test_cargan_step_matches_eqs_9_to_11(make_config, lr):
    config = make_config("cargan", **{"optimizer.g_lr": lr, "optimizer.d_lr": 0.0, "optimizer.eps": 1.0})
    method = build_method(config)
    batch = _batch(config)
    state = method.init(jax.random.key(0), batch)
    key = jax.random.key(11)
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, key)

    def fid(p):
        return jnp.mean((2 * _g(method, state, p, batch["degraded"], key) - 2 * batch["target"]) ** 2)

    def adv(p):
        return adversarial.generator_adversarial_loss(
            _d_logits(method, state.d, _g(method, state, p, batch["degraded"], key), batch["degraded"]))

    tx = optax.adam(lr, config.optimizer.b1, config.optimizer.b2, 1.0)
    theta = state.g.params
    upd, _ = tx.update(jax.grad(fid)(theta), tx.init(theta), theta)
    theta1 = optax.apply_updates(theta, upd)
    upd, _ = tx.update(jax.grad(adv)(theta1), tx.init(theta1), theta1)
    theta2 = optax.apply_updates(theta1, upd)
    accept = float(fid(theta2)) < float(fid(theta1))
    assert float(metrics["train/accept"]) == float(accept)
    assert_trees_close(new.g.params, theta2 if accept else theta1, atol=1e-6)
    assert int(new.g_adv_opt_state.count) == int(accept)
