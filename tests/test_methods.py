"""One step of each method changes what it should, checked against independent optax computations.

The tests run Adam with eps = 1: Adam's first step is lr * g / (|g| + eps), which with the
usual eps = 1e-8 is lr * sign(g), so float noise in a near-zero gradient (e.g. conv biases in
front of BatchNorm, whose exact gradient is zero) would become a full step of random sign and
no two implementations could be compared. With eps = 1 the step is a smooth function of g.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrestore.losses import adversarial
from jaxrestore.training.methods import build_method


def jgrad(f):
    """``jax.grad(f)`` compiled: the reference computations run through XLA once instead of
    dispatching every op eagerly (which took most of these tests' minutes on a CPU)."""
    return jax.jit(jax.grad(f))


def first_update(tx, grads, params):
    """``tx.update`` from a fresh optimizer state, compiled; returns (updates, state)."""
    return jax.jit(lambda g, p: tx.update(g, tx.init(p), p))(grads, params)


def batch_for(config, seed=0):
    rng = np.random.default_rng(seed)
    p, s = config.data.patch_size, config.task.scale
    return {"degraded": jnp.asarray(rng.uniform(size=(2, p // s, p // s, 3)), jnp.float32),
            "target": jnp.asarray(rng.uniform(size=(2, p, p, 3)), jnp.float32)}


def g_apply(method, state, params, degraded):
    out, _ = method.generator.apply({"params": params, "batch_stats": state.g.batch_stats}, degraded,
                                    train=True, mutable=["batch_stats"])
    return out


def mse_fidelity(method, state, params, batch):
    out = g_apply(method, state, params, batch["degraded"])
    return jnp.mean((2 * out - 1 - (2 * batch["target"] - 1)) ** 2)


def adam(config):
    return optax.adam(config.optimizer.g_lr, config.optimizer.b1, config.optimizer.b2, config.optimizer.eps)


def assert_trees_close(a, b, atol=1e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=1e-5)


def trees_equal(a, b):
    return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_srresnet_step_is_an_adam_step_on_mse(make_config):
    config = make_config("srresnet", **{"optimizer.eps": 1.0})
    method = build_method(config)
    batch = batch_for(config)
    state = method.init(jax.random.key(0), batch)
    assert state.d is None
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, jax.random.key(1))
    # Independent: optax.adam on jax.grad of eq. (2).
    loss, grads = jax.value_and_grad(lambda p: mse_fidelity(method, state, p, batch))(state.g.params)
    tx = adam(config)
    updates, _ = first_update(tx, grads, state.g.params)
    expected = optax.apply_updates(state.g.params, updates)
    assert_trees_close(new.g.params, expected)
    assert float(metrics["train/fidelity_loss"]) == pytest.approx(float(loss), rel=1e-5)
    assert int(new.step) == 1
    assert not trees_equal(new.g.batch_stats, state.g.batch_stats)  # BN running averages moved


# Conditioning of the comparisons with a discriminator. At 16-pixel patches D's last BatchNorm
# normalises 1x1 maps over 2 samples, which made D's step ill-conditioned (it missed a 1e-4
# tolerance on an AMD EPYC by 1.6e-4); at 48 pixels it normalises 3x3 maps. And with 8 first-layer
# features the gradient of -log D(G(y)) with respect to G's last bias nearly cancels (D's
# BatchNorm removes a constant shift of its input): measured, the same gradient computed eagerly
# and jitted differed by 2.7 % there. A D driven far by a large learning rate is ill-conditioned
# too (see the SRGAN step test).
D_SETUP = {"data.patch_size": 48, "model.d_features": 16}


def test_srgan_step_updates_d_then_g_through_the_updated_d(make_config):
    # D's step (d_lr 0.01) makes "through the updated D" distinguishable from the old D (G's
    # steps differ by ~1e-3). A far larger one is ill-conditioned: at d_lr 0.5 the updated D's
    # logits reach -16 and -34, its BatchNorms amplify a unit of D crossing a LeakyReLU kink
    # (measured: scaling G's output by 1 + 1e-7 moved the adversarial gradient of G's last bias
    # by 6 %), and eager and jitted references differed by 1.3e-4.
    config = make_config("srgan", **{"loss.fidelity": "mse", "loss.adversarial_weight": 0.5,
                                     "optimizer.eps": 1.0, "optimizer.d_lr": 0.01, **D_SETUP})
    method = build_method(config)
    batch = batch_for(config)
    state = method.init(jax.random.key(0), batch)
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, jax.random.key(1))

    # D: one optax.adam step on eq. (5) against G's (pre-update) output.
    fake = g_apply(method, state, state.g.params, batch["degraded"])

    def d_loss(params):
        real_logits, mut = method.discriminator.apply(
            {"params": params, "batch_stats": state.d.batch_stats}, batch["target"], train=True,
            mutable=["batch_stats"])
        fake_logits, _ = method.discriminator.apply(
            {"params": params, "batch_stats": mut["batch_stats"]}, fake, train=True, mutable=["batch_stats"])
        return -jnp.mean(jnp.log(jax.nn.sigmoid(real_logits)) + jnp.log(1 - jax.nn.sigmoid(fake_logits)))

    d_grads = jgrad(d_loss)(state.d.params)
    # train/d_*_logit: D's mean raw logit on each batch before its step (one meaning in every method).
    real_logits, mut = method.discriminator.apply({"params": state.d.params, "batch_stats": state.d.batch_stats},
                                                  batch["target"], train=True, mutable=["batch_stats"])
    fake_logits, _ = method.discriminator.apply({"params": state.d.params, "batch_stats": mut["batch_stats"]},
                                                fake, train=True, mutable=["batch_stats"])
    assert float(metrics["train/d_real_logit"]) == pytest.approx(float(jnp.mean(real_logits)), abs=1e-5)
    assert float(metrics["train/d_fake_logit"]) == pytest.approx(float(jnp.mean(fake_logits)), abs=1e-5)
    tx = optax.adam(config.optimizer.d_lr, config.optimizer.b1, config.optimizer.b2, config.optimizer.eps)
    upd, _ = first_update(tx, d_grads, state.d.params)
    d_params = optax.apply_updates(state.d.params, upd)
    assert_trees_close(new.d.params, d_params, atol=1e-6)  # D's steps are up to 1e-2 (lr 0.01)

    # G: one optax.adam step on eq. (6) through the *updated* D.
    def g_loss(params, d):
        out = g_apply(method, state, params, batch["degraded"])
        logits, _ = method.discriminator.apply({"params": d.params, "batch_stats": d.batch_stats},
                                               out, train=True, mutable=["batch_stats"])
        fid = jnp.mean((2 * out - 2 * batch["target"]) ** 2)
        return fid + 0.5 * jnp.mean(-jnp.log(jax.nn.sigmoid(logits)))

    def g_update(d):
        tx = adam(config)
        g_grads = jgrad(g_loss)(state.g.params, d)
        upd, _ = first_update(tx, g_grads, state.g.params)
        return optax.apply_updates(state.g.params, upd)

    assert_trees_close(new.g.params, g_update(new.d), atol=2e-6)
    through_old_d = g_update(state.d)
    gap = max(float(np.abs(np.asarray(x) - np.asarray(y)).max())
              for x, y in zip(jax.tree.leaves(new.g.params), jax.tree.leaves(through_old_d)))
    assert gap > 1e-4  # the old D would give a visibly different G step
    assert set(metrics) >= {"train/d_loss", "train/adversarial_loss", "train/fidelity_loss", "train/g_loss"}


def _constrained(make_config, *, lr, moments="keep"):
    config = make_config("csrgan", **{"optimizer.g_lr": lr, "optimizer.d_lr": 0.0, "optimizer.eps": 1.0,
                                      "optimizer.adversarial_moments": moments, **D_SETUP})
    return config, build_method(config)


def adversarial_loss_at(method, state, params, degraded):
    out = g_apply(method, state, params, degraded)
    logits, _ = method.discriminator.apply({"params": state.d.params, "batch_stats": state.d.batch_stats},
                                           out, train=True, mutable=["batch_stats"])
    return adversarial.generator_adversarial_loss(logits)


@pytest.mark.parametrize("moments", ["keep", "revert"])
def test_constrained_step_accepts_an_adversarial_step_that_lowers_fidelity(make_config, moments):
    # The target is placed where the adversarial step moves G's output (D frozen with lr 0):
    # target = G(y) + 2 * (G_adv(y) - G(y)), G_adv being theta after one adversarial Adam step.
    # Then the adversarial candidate theta_2 moves the output towards the target: accept.
    config, method = _constrained(make_config, lr=1e-3, moments=moments)
    batch = batch_for(config)
    state = method.init(jax.random.key(0), batch)
    tx = adam(config)
    theta = state.g.params
    g_adv = jgrad(lambda p: adversarial_loss_at(method, state, p, batch["degraded"]))(theta)
    upd, _ = first_update(tx, g_adv, theta)
    out0 = g_apply(method, state, theta, batch["degraded"])
    out_adv = g_apply(method, state, optax.apply_updates(theta, upd), batch["degraded"])
    batch["target"] = out0 + 2.0 * (out_adv - out0)
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, jax.random.key(1))

    # Independently: theta_1 by the fidelity Adam, theta_2 by a fresh adversarial Adam from theta_1.
    g1 = jgrad(lambda p: mse_fidelity(method, state, p, batch))(theta)
    upd, fid_opt = first_update(tx, g1, theta)
    theta1 = optax.apply_updates(theta, upd)
    g2 = jgrad(lambda p: adversarial_loss_at(method, state, p, batch["degraded"]))(theta1)
    upd, _ = first_update(tx, g2, theta1)
    theta2 = optax.apply_updates(theta1, upd)
    fid1 = mse_fidelity(method, state, theta1, batch)
    fid2 = mse_fidelity(method, state, theta2, batch)
    assert float(fid2) < float(fid1)  # the case is the one we built
    assert float(metrics["train/accept"]) == 1.0
    assert_trees_close(new.g.params, theta2)
    assert int(new.g.opt_state.count) == 1 and int(new.g_adv_opt_state.count) == 1
    # (fidelity here is a small difference of near-equal images: float32 noise is ~1e-3 relative)
    assert float(metrics["train/fidelity_loss_theta2"]) == pytest.approx(float(fid2), rel=1e-2)


@pytest.mark.parametrize("moments", ["keep", "revert"])
def test_constrained_step_rejects_an_adversarial_step_that_raises_fidelity(make_config, moments):
    # The target is G's own output: fidelity is 0 at theta, its gradient is 0, so theta_1 = theta and
    # any real adversarial step (random D, frozen) moves G's output away: fidelity rises, reject.
    config, method = _constrained(make_config, lr=1e-2, moments=moments)
    batch = batch_for(config)
    state = method.init(jax.random.key(0), batch)
    batch["target"] = g_apply(method, state, state.g.params, batch["degraded"])
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, jax.random.key(1))

    assert float(metrics["train/fidelity_loss_theta1"]) == pytest.approx(0.0, abs=1e-10)
    assert float(metrics["train/fidelity_loss_theta2"]) > 1e-8
    assert float(metrics["train/accept"]) == 0.0
    assert_trees_close(new.g.params, state.g.params, atol=1e-8)  # theta_1 = theta (zero fidelity gradient)
    assert int(new.g.opt_state.count) == 1  # the fidelity step was taken
    if moments == "revert":  # the temporary adversarial step left no trace
        assert int(new.g_adv_opt_state.count) == 0
        assert trees_equal(new.g_adv_opt_state.mu, state.g_adv_opt_state.mu)
    else:  # its Adam moments advanced all the same: those of one update on the adversarial gradient
        g2 = jgrad(lambda p: adversarial_loss_at(method, state, p, batch["degraded"]))(state.g.params)
        tx = adam(config)
        _, adv_state = first_update(tx, g2, state.g.params)
        assert int(new.g_adv_opt_state.count) == 1
        assert_trees_close(new.g_adv_opt_state.mu, adv_state[0].mu, atol=1e-6)
        assert_trees_close(new.g_adv_opt_state.nu, adv_state[0].nu, atol=1e-8)
    # And the adversarial step was real: the discriminator's gradient at G's output is nonzero.
    logits_grad = jgrad(lambda x: adversarial.generator_adversarial_loss(
        method.discriminator.apply({"params": state.d.params, "batch_stats": state.d.batch_stats}, x,
                                   train=True, mutable=["batch_stats"])[0]))(batch["target"])
    assert float(jnp.abs(logits_grad).max()) > 0


def reference_candidates(tx, fid, adv, theta):
    """Eqs. (9)-(10) with optax: theta_1 by a fresh Adam step on ``fid``, theta_2 by a fresh Adam
    step on ``adv`` from theta_1; returns (theta_1, theta_2, the adversarial Adam state, l1_G at
    theta_1, at theta_2) after checking that eq. (11)'s comparison is a clear one."""
    upd, _ = first_update(tx, jgrad(fid)(theta), theta)
    theta1 = optax.apply_updates(theta, upd)
    upd, adv_state = first_update(tx, jgrad(adv)(theta1), theta1)
    theta2 = optax.apply_updates(theta1, upd)
    fid1, fid2 = float(fid(theta1)), float(fid(theta2))
    assert abs(fid2 - fid1) > 1e-3 * fid1  # a clear decision, not float noise
    return theta1, theta2, adv_state, fid1, fid2


def test_constrained_step_with_vgg_fidelity_and_a_moving_d(make_config):
    """cSRGAN-VGG: D takes a real step, theta_1 is an Adam step on the VGG loss (eq. 3), theta_2 an
    adversarial Adam step through the updated D, eq. (11) on the VGG loss; recomputed with optax."""
    from jaxrestore.losses.perceptual import vgg_feature_loss

    d_lr = 0.05
    config = make_config("csrgan", **{"loss.fidelity": "vgg", "loss.vgg_random_init": True,
                                      "optimizer.g_lr": 1e-3, "optimizer.d_lr": d_lr, "optimizer.eps": 1.0,
                                      **D_SETUP})
    method = build_method(config)
    batch = batch_for(config)
    state = method.init(jax.random.key(0), batch)
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, jax.random.key(1))
    b1, b2 = config.optimizer.b1, config.optimizer.b2

    fake = g_apply(method, state, state.g.params, batch["degraded"])

    def d_loss(params):
        real, mut = method.discriminator.apply({"params": params, "batch_stats": state.d.batch_stats},
                                               batch["target"], train=True, mutable=["batch_stats"])
        fk, _ = method.discriminator.apply({"params": params, "batch_stats": mut["batch_stats"]}, fake,
                                           train=True, mutable=["batch_stats"])
        return -jnp.mean(jnp.log(jax.nn.sigmoid(real))) - jnp.mean(jnp.log(1 - jax.nn.sigmoid(fk)))

    tx_d = optax.adam(d_lr, b1, b2, 1.0)
    upd, _ = first_update(tx_d, jgrad(d_loss)(state.d.params), state.d.params)
    d_params = optax.apply_updates(state.d.params, upd)
    assert_trees_close(new.d.params, d_params, atol=1e-5)

    def fid(p):
        return vgg_feature_loss(method.frozen["vgg"], g_apply(method, state, p, batch["degraded"]),
                                batch["target"])

    def adv(p):
        out = g_apply(method, state, p, batch["degraded"])
        logits, _ = method.discriminator.apply({"params": new.d.params, "batch_stats": new.d.batch_stats},
                                               out, train=True, mutable=["batch_stats"])
        return jnp.mean(jax.nn.softplus(-logits))  # -log D(G(y)), eq. (4)

    theta1, theta2, adv_state, fid1, fid2 = reference_candidates(adam(config), fid, adv, state.g.params)
    accept = fid2 < fid1
    assert float(metrics["train/accept"]) == float(accept)
    assert float(metrics["train/fidelity_loss_theta1"]) == pytest.approx(fid1, rel=1e-4)
    assert float(metrics["train/fidelity_loss_theta2"]) == pytest.approx(fid2, rel=1e-4)
    assert_trees_close(new.g.params, theta2 if accept else theta1, atol=2e-6)
    # keep: advanced either way (mu is up to ~0.5 here; atol 1e-6 is float32 noise at that scale)
    assert_trees_close(new.g_adv_opt_state.mu, adv_state[0].mu, atol=1e-6)
