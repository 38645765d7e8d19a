"""ARGAN networks and one step of each artifact-removal config, against independent computations."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrestore.evaluation.restorers import ModelRestorer
from jaxrestore.losses import adversarial
from jaxrestore.training.methods import build_method
from jaxrestore.models.argan import DISCRIMINATOR_BLOCKS, ARGANDiscriminator, ARGANGenerator, position_noise
from jaxrestore.evaluation.tiling import restore_tiled
from test_methods import assert_trees_close, first_update, jgrad, reference_candidates, trees_equal
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


def test_each_discriminator_logit_sees_a_29_pixel_window_at_stride_8():
    """The receptive field, from the gradient of one logit (inference BatchNorm: no coupling
    through batch statistics): 29x29 pixels, and neighbouring logits' windows 8 pixels apart."""
    model = ARGANDiscriminator(base_features=8)
    x = jnp.asarray(np.random.default_rng(3).uniform(size=(1, 96, 96, 1)), jnp.float32)
    variables = model.init(jax.random.key(0), x, x)

    def support(i, j):
        grad = jgrad(lambda im: model.apply(variables, im, x)[0, i, j])(x)
        rows, cols = np.nonzero(np.abs(np.asarray(grad)[0, :, :, 0]) > 0)
        return rows.min(), rows.max(), cols.min(), cols.max()

    top, bottom, left, right = support(5, 5)
    assert (bottom - top + 1, right - left + 1) == (29, 29)
    assert support(5, 6) == (top, bottom, left + 8, right + 8)
    assert support(6, 5) == (top + 8, bottom + 8, left, right)


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


def test_tiles_equal_whole_image_with_the_noise_on():
    """The inference noise is a function of absolute position, so tiles restored with their
    offsets see the whole image's noise: tiled equals whole-image inference, noise and all."""
    model = ARGANGenerator(num_blocks=1, features=8)
    variables = model.init({"params": jax.random.key(0), "noise": jax.random.key(1)}, jnp.zeros((1, 8, 8, 1)))
    # A noise-heavy model: scale the merge convolution's noise weights up so that the noise
    # visibly moves the output (a seam from a wrongly placed noise tile would show).
    params = jax.tree.map(np.array, variables["params"])
    params["merge"]["kernel"][:, :, -1, :] *= 20.0
    variables = {**variables, "params": params}
    r = ModelRestorer(model, variables, task="jpeg", quality=10)
    x = np.random.default_rng(2).uniform(size=(40, 52, 1)).astype(np.float32)
    whole = np.asarray(r.apply(x[None]))[0]
    tiled = restore_tiled(r.apply, x, scale=1, tile=15, margin=16, multiple=2)  # field ~14 px
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    # Not vacuous: tiles that all took the noise of the image's corner (offset 0) differ.
    corner = restore_tiled(lambda t, offset: r.apply(t), x, scale=1, tile=15, margin=16, multiple=2)
    assert np.abs(corner - whole).max() > 1e-2
    # The noise of a crop at an offset is the crop of the whole image's noise ...
    full = np.asarray(position_noise(jnp.arange(20), jnp.arange(26), 1))
    part = np.asarray(position_noise(3 + jnp.arange(5), 7 + jnp.arange(4), 1))
    np.testing.assert_array_equal(part, full[3:8, 7:11])
    # ... and standard normal, independent across positions.
    big = np.asarray(position_noise(jnp.arange(200), jnp.arange(200), 1))[..., 0]
    assert abs(big.mean()) < 0.02 and abs(big.std() - 1.0) < 0.02
    assert abs(np.corrcoef(big[:, :-1].ravel(), big[:, 1:].ravel())[0, 1]) < 0.02


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


def reference_d_step(method, state, batch, key, *, lr):
    """D's parameters after one optax.adam step (eps 1) on eq. (5), written out, against G's output
    at the current parameters; real and fake are separate BatchNorm batches."""
    fake = _g(method, state, state.g.params, batch["degraded"], key)

    def d_loss(params):
        real, mut = method.discriminator.apply({"params": params, "batch_stats": state.d.batch_stats},
                                               batch["target"], batch["degraded"], train=True,
                                               mutable=["batch_stats"])
        fake_logits, _ = method.discriminator.apply({"params": params, "batch_stats": mut["batch_stats"]},
                                                    fake, batch["degraded"], train=True, mutable=["batch_stats"])
        return -jnp.mean(jnp.log(jax.nn.sigmoid(real))) - jnp.mean(jnp.log(1 - jax.nn.sigmoid(fake_logits)))

    tx = optax.adam(lr, method.config.optimizer.b1, method.config.optimizer.b2, 1.0)
    upd, _ = first_update(tx, jgrad(d_loss)(state.d.params), state.d.params)
    return optax.apply_updates(state.d.params, upd)


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
    grads = jgrad(lambda p: jnp.mean((2 * _g(method, state, p, batch["degraded"], key)
                                         - 2 * batch["target"]) ** 2))(state.g.params)
    tx = optax.adam(config.optimizer.g_lr, config.optimizer.b1, config.optimizer.b2, 1.0)
    upd, _ = first_update(tx, grads, state.g.params)
    assert_trees_close(new.g.params, optax.apply_updates(state.g.params, upd))
    # Another key gives another noise patch, hence another step.
    other, _ = jax.jit(method.train_step)(method.frozen, state, batch, jax.random.key(4))
    assert not trees_equal(other.g.params, new.g.params)


def test_argan_vgg_step_updates_conditional_d_then_g(make_config):
    config = make_config("argan", **{"loss.fidelity": "vgg", "loss.vgg_random_init": True,
                                     "loss.adversarial_weight": 0.5, "optimizer.eps": 1.0,
                                     "optimizer.d_lr": 0.01, "train.pretrain_steps": 1})
    # d_lr 0.01: D moves (by up to 1e-2) and stays in a well-conditioned regime; see the SRGAN
    # step test in tests/test_methods.py for what a far larger D step does to these comparisons.
    method = build_method(config)
    batch = _batch(config)
    state = method.init(jax.random.key(0), batch)
    key = jax.random.key(7)
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, key)
    d_params = reference_d_step(method, state, batch, key, lr=0.01)
    assert_trees_close(new.d.params, d_params, atol=1e-6)
    assert max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
               for a, b in zip(jax.tree.leaves(d_params), jax.tree.leaves(state.d.params))) > 1e-3

    from jaxrestore.losses.perceptual import vgg_feature_loss

    def g_loss(params):
        out = _g(method, state, params, batch["degraded"], key)
        fid = vgg_feature_loss(method.frozen["vgg"], out, batch["target"])
        return fid + 0.5 * jnp.mean(jax.nn.softplus(-_d_logits(method, new.d, out, batch["degraded"])))

    tx = optax.adam(config.optimizer.g_lr, config.optimizer.b1, config.optimizer.b2, 1.0)
    upd, _ = first_update(tx, jgrad(g_loss)(state.g.params), state.g.params)
    assert_trees_close(new.g.params, optax.apply_updates(state.g.params, upd), atol=2e-6)
    assert float(metrics["train/adversarial_loss"]) > 0


@pytest.mark.parametrize("moments", ["keep", "revert"])
@pytest.mark.parametrize("seed,accepted", [(1, True), (0, False)])  # both branches of eq. (11)
def test_cargan_step_matches_eqs_9_to_11_with_a_moving_d(make_config, seed, accepted, moments):
    """D takes a real step (d_lr > 0), then theta_1, theta_2 through the *updated* D, and eq. (11);
    the adversarial Adam state advances on every step (keep) or only on acceptance (revert)."""
    d_lr, lr = 0.01, 1e-2
    # 16 D features: with 8 the adversarial gradient's eager and jitted values differ by 1.7e-5
    # (relative), with 16 by 1.4e-6 (see D_SETUP in tests/test_methods.py).
    config = make_config("cargan", **{"optimizer.g_lr": lr, "optimizer.d_lr": d_lr, "optimizer.eps": 1.0,
                                      "optimizer.adversarial_moments": moments, "model.d_features": 16})
    method = build_method(config)
    batch = _batch(config, seed)
    state = method.init(jax.random.key(0), batch)
    key = jax.random.key(11)
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, key)
    b1, b2 = config.optimizer.b1, config.optimizer.b2

    # D: one optax.adam step on eq. (5) against G's output at theta.
    d_params = reference_d_step(method, state, batch, key, lr=d_lr)
    assert_trees_close(new.d.params, d_params, atol=1e-5)
    assert max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
               for a, b in zip(jax.tree.leaves(d_params), jax.tree.leaves(state.d.params))) > 1e-4

    def fid(p):
        return jnp.mean((2 * _g(method, state, p, batch["degraded"], key) - 2 * batch["target"]) ** 2)

    def adv(p):  # through the updated D (its parameters and the statistics of its update)
        out = _g(method, state, p, batch["degraded"], key)
        return adversarial.generator_adversarial_loss(_d_logits(method, new.d, out, batch["degraded"]))

    theta1, theta2, adv_state, fid1, fid2 = reference_candidates(optax.adam(lr, b1, b2, 1.0), fid, adv,
                                                                 state.g.params)
    accept = fid2 < fid1
    assert accept == accepted  # the case covers the branch it is meant to
    assert float(metrics["train/accept"]) == float(accept)
    assert_trees_close(new.g.params, theta2 if accept else theta1, atol=1e-6)
    advanced = accept or moments == "keep"
    assert int(new.g_adv_opt_state.count) == int(advanced)
    if advanced:  # the moments are those of one Adam update on the adversarial gradient
        assert_trees_close(new.g_adv_opt_state.mu, adv_state[0].mu, atol=1e-6)
        assert_trees_close(new.g_adv_opt_state.nu, adv_state[0].nu, atol=1e-8)
    else:
        assert trees_equal(new.g_adv_opt_state.mu, state.g_adv_opt_state.mu)
    print("DECISION", lr, moments, accept, fid1, fid2)