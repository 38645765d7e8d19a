"""ESRGAN's relativistic average GAN losses and 001's cosine contextual loss (eq. 11)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from scipy.special import expit

from jaxrestore.losses import (
    contextual_loss,
    relativistic_discriminator_loss,
    relativistic_generator_loss,
    vgg_contextual_loss,
)
from jaxrestore.models.vgg import VGG19
from jaxrestore.weights.vgg19 import random_vgg19_params

# ---------------------------------------------------------------- relativistic average GAN


def logits(seed, shape=(8, 1), scale=2.0):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=scale, size=shape), rng.normal(loc=0.5, scale=scale, size=shape)


def ra_numpy(real, fake):
    """ESRGAN's D_Ra written out in float64, halved as in the ESRGAN code: (d_loss, g_loss)."""
    d_real = expit(real - fake.mean())  # D_Ra(xr, xf)
    d_fake = expit(fake - real.mean())  # D_Ra(xf, xr)
    d_loss = -np.mean(np.log(d_real)) - np.mean(np.log(1.0 - d_fake))
    g_loss = -np.mean(np.log(1.0 - d_real)) - np.mean(np.log(d_fake))
    return d_loss / 2, g_loss / 2


@pytest.mark.parametrize("shape", [(8, 1), (2, 4, 4, 1)])
def test_relativistic_losses_against_numpy(shape):
    real, fake = logits(0, shape)
    d_expected, g_expected = ra_numpy(real, fake)
    r32, f32 = real.astype(np.float32), fake.astype(np.float32)
    np.testing.assert_allclose(relativistic_discriminator_loss(r32, f32), d_expected, rtol=1e-5)
    np.testing.assert_allclose(relativistic_generator_loss(r32, f32), g_expected, rtol=1e-5)


def test_relativistic_losses_against_torch_as_esrgan_computes_them():
    # BasicSR esrgan_model.py: cri_gan is BCEWithLogitsLoss against all-ones / all-zeros targets.
    real, fake = logits(1, (16, 1))
    bce = torch.nn.BCEWithLogitsLoss()
    r, f = torch.tensor(real), torch.tensor(fake)
    ones, zeros = torch.ones_like(r), torch.zeros_like(r)
    l_d = (bce(r - torch.mean(f), ones) + bce(f - torch.mean(r), zeros)) / 2
    l_g = (bce(r - torch.mean(f), zeros) + bce(f - torch.mean(r), ones)) / 2
    r32, f32 = real.astype(np.float32), fake.astype(np.float32)
    np.testing.assert_allclose(relativistic_discriminator_loss(r32, f32), l_d.item(), rtol=1e-5)
    np.testing.assert_allclose(relativistic_generator_loss(r32, f32), l_g.item(), rtol=1e-5)


def test_relativistic_losses_are_stable_for_large_logits():
    real = np.array([[-300.0], [250.0], [-200.0], [100.0]], np.float32)
    fake = np.array([[300.0], [-250.0], [200.0], [90.0]], np.float32)
    for loss in (relativistic_discriminator_loss, relativistic_generator_loss):
        value = loss(real, fake)
        grads = jax.grad(loss, argnums=(0, 1))(jnp.asarray(real), jnp.asarray(fake))
        assert np.isfinite(value) and float(value) > 10.0
        assert all(np.all(np.isfinite(g)) for g in grads)
    # log(sigmoid(s)) = -logaddexp(0, -s): the exact value without overflow.
    r, f = real.astype(np.float64), fake.astype(np.float64)
    d_expected = (np.mean(np.logaddexp(0, -(r - f.mean()))) + np.mean(np.logaddexp(0, f - r.mean()))) / 2
    np.testing.assert_allclose(relativistic_discriminator_loss(real, fake), d_expected, rtol=1e-5)


DEVICES = 4


def split(x):
    return jnp.asarray(x, jnp.float32).reshape(DEVICES, -1, *x.shape[1:])


@pytest.mark.parametrize("loss", [relativistic_discriminator_loss, relativistic_generator_loss])
def test_relativistic_losses_over_a_named_axis_equal_the_unsplit_batch(loss):
    real, fake = logits(2, (8, 1))
    whole = loss(real.astype(np.float32), fake.astype(np.float32))
    per_device = jax.vmap(lambda r, f: loss(r, f, axis_name="d"), axis_name="d")(split(real), split(fake))
    np.testing.assert_allclose(per_device, np.full(DEVICES, whole), rtol=1e-6)
    # Without the axis each device would see only its own slice: a different loss.
    local = jax.vmap(loss)(split(real), split(fake))
    assert np.abs(np.asarray(local) - float(whole)).max() > 1e-3

    # Gradient w.r.t. the logits: every device's loss is the global loss, so their mean,
    # as a function of the whole batch, has the unsplit gradient.
    def split_loss(r, f):
        return jnp.mean(jax.vmap(lambda a, b: loss(a, b, axis_name="d"), axis_name="d")(split(r), split(f)))

    r32, f32 = jnp.asarray(real, jnp.float32), jnp.asarray(fake, jnp.float32)
    want = jax.grad(loss, argnums=(0, 1))(r32, f32)
    got = jax.grad(split_loss, argnums=(0, 1))(r32, f32)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("loss", [relativistic_discriminator_loss, relativistic_generator_loss])
def test_data_parallel_parameter_gradient_equals_single_device(loss):
    # A toy discriminator C(x) = x @ w, replicated weights, batch split over the axis. Each
    # device differentiates its own copy of the loss; the pmean of those gradients (what a
    # data-parallel step applies) is the gradient of the loss of the unsplit batch.
    rng = np.random.default_rng(3)
    w = jnp.asarray(rng.normal(size=(5, 1)), jnp.float32)
    x_real = jnp.asarray(rng.normal(size=(8, 5)), jnp.float32)
    x_fake = jnp.asarray(rng.normal(loc=0.3, size=(8, 5)), jnp.float32)

    def device_step(w, xr, xf):
        g = jax.grad(lambda w: loss(xr @ w, xf @ w, axis_name="d"))(w)
        return jax.lax.pmean(g, "d")

    want = jax.grad(lambda w: loss(x_real @ w, x_fake @ w))(w)
    got = jax.vmap(device_step, in_axes=(None, 0, 0), axis_name="d")(w, split(x_real), split(x_fake))
    for g in got:
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- cosine contextual loss


def ccx_numpy(x, y, h=0.5, eps=1e-5):
    """001 eq. (11) with Mechrez's cosine distance, literally, in float64, per image then averaged."""
    losses = []
    for xb, yb in zip(np.asarray(x, np.float64), np.asarray(y, np.float64)):
        xs = xb.reshape(-1, xb.shape[-1])
        ys = yb.reshape(-1, yb.shape[-1])
        n = len(ys)
        r = ys.mean(axis=0)
        d = np.zeros((len(xs), n))
        for i in range(len(xs)):
            for j in range(n):
                u, v = xs[i] - r, ys[j] - r
                d[i, j] = 1.0 - u @ v / (np.linalg.norm(u) * np.linalg.norm(v))
        a = np.zeros_like(d)
        for i in range(len(xs)):
            d_rel = d[i] / (d[i].min() + eps)
            w = np.exp((1.0 - d_rel) / h)
            a[i] = w / w.sum()
        losses.append(-np.log(np.mean([a[:, j].max() for j in range(n)])))
    return np.mean(losses)


def features(seed, shape):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape).astype(np.float32)


@pytest.mark.parametrize("shape,h", [((2, 4, 5, 8), 0.5), ((1, 3, 3, 16), 0.1), ((3, 2, 6, 4), 1.0)])
def test_contextual_loss_against_numpy_transcription(shape, h):
    x, y = features(10, shape), features(11, shape)
    x = x + 0.5 * y  # partly related sets, so the loss is neither ~0 nor saturated
    expected = ccx_numpy(x, y, h=h)
    assert 0.05 < expected < np.log(shape[1] * shape[2])  # between "all matched" and "one match"
    np.testing.assert_allclose(contextual_loss(x, y, bandwidth=h), expected, rtol=1e-5)


def test_contextual_loss_is_zero_for_the_same_points_in_any_order():
    y = features(12, (2, 4, 4, 8))
    perm = np.random.default_rng(0).permutation(16)
    x = y.reshape(2, 16, 8)[:, perm].reshape(y.shape)  # same set of points, moved around
    assert float(contextual_loss(y, y)) < 1e-5  # A_ij -> 1 for the exact match: -log(1) = 0
    assert float(contextual_loss(x, y)) < 1e-5  # position-free, unlike the VGG feature loss
    assert float(contextual_loss(features(13, y.shape), y)) > 0.1
    grad = jax.grad(contextual_loss)(jnp.asarray(y), jnp.asarray(y))
    assert np.all(np.isfinite(grad))


def test_contextual_loss_when_every_restored_point_matches_one_target_point():
    # All x_i equal y_0: each row of A puts its weight on j = 0, so (1/N) sum_j max_i A_ij = 1/N.
    y = features(14, (1, 3, 3, 4))
    x = np.broadcast_to(y[:, :1, :1], y.shape)
    np.testing.assert_allclose(contextual_loss(x, y), np.log(9), rtol=1e-5)


def test_contextual_loss_rejects_mismatched_maps():
    with pytest.raises(ValueError, match="same shape"):
        contextual_loss(np.zeros((1, 4, 4, 8)), np.zeros((1, 4, 5, 8)))


@pytest.fixture(scope="module")
def vgg_params():
    return random_vgg19_params(jax.random.PRNGKey(0))


def test_vgg_contextual_loss_reads_conv3_4_and_stops_target_gradient(vgg_params):
    rng = np.random.default_rng(5)
    restored = jnp.asarray(rng.uniform(size=(1, 16, 16, 3)), jnp.float32)
    target = jnp.asarray(rng.uniform(size=(1, 16, 16, 3)), jnp.float32)
    out = VGG19().apply({"params": vgg_params}, jnp.concatenate([restored, target]), layers=("conv3_4",))
    f = np.asarray(out["conv3_4"])
    assert f.shape == (2, 4, 4, 256) and (f < 0).any()  # before the ReLU
    expected = ccx_numpy(f[:1], f[1:])
    loss_fn = jax.jit(vgg_contextual_loss)
    np.testing.assert_allclose(loss_fn(vgg_params, restored, target), expected, rtol=1e-4)
    g_restored, g_target = jax.grad(loss_fn, argnums=(1, 2))(vgg_params, restored, target)
    assert float(jnp.abs(g_target).max()) == 0.0
    assert np.all(np.isfinite(g_restored)) and float(jnp.abs(g_restored).max()) > 0.0
