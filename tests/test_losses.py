"""SRGAN losses (000 eqs. 2-5) against NumPy/SciPy and separately computed VGG features."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import expit, log_expit

from jaxrestore.losses import (
    discriminator_loss,
    generator_adversarial_loss,
    l1,
    mse,
    vgg_feature_loss,
)
from jaxrestore.models.vgg import VGG19
from jaxrestore.weights.vgg19 import random_vgg19_params


def images(seed, shape=(2, 32, 32, 3)):
    return np.random.default_rng(seed).uniform(0.0, 1.0, shape).astype(np.float32)


def test_pixel_losses():
    a, b = images(0), images(1)
    diff = a.astype(np.float64) - b
    np.testing.assert_allclose(mse(a, b), np.mean(diff**2), rtol=1e-6)
    np.testing.assert_allclose(l1(a, b), np.mean(np.abs(diff)), rtol=1e-6)
    assert float(mse(a, a)) == 0.0
    with pytest.raises(ValueError, match="differ in shape"):
        mse(a, b[:, :16])


MODERATE = np.array([-30.0, -5.0, -1.0, -0.1, 0.0, 0.3, 2.0, 7.5, 30.0])
LARGE = np.array([-1000.0, -200.0, 120.0, 1000.0])


def test_generator_loss_matches_naive_form_where_it_is_finite():
    logits = MODERATE.reshape(3, 3).astype(np.float32)  # any shape
    expected = np.mean(-np.log(expit(MODERATE)))
    np.testing.assert_allclose(generator_adversarial_loss(logits), expected, rtol=1e-6)


def test_generator_loss_is_stable_for_large_logits():
    with np.errstate(divide="ignore"):
        naive = -np.log(expit(LARGE))
    assert np.isinf(naive[0])  # the naive form overflows at -1000
    expected = -log_expit(LARGE)  # 1000, 200, ~0, 0
    for x, want in zip(LARGE, expected):
        got = float(generator_adversarial_loss(np.float32([x])))
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-30)
    grad = jax.grad(generator_adversarial_loss)(jnp.asarray(LARGE, jnp.float32))
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, -expit(-LARGE) / LARGE.size, atol=1e-7)


def test_discriminator_loss_matches_eq5():
    rng = np.random.default_rng(0)
    real = rng.normal(scale=3.0, size=(4, 1))
    fake = rng.normal(scale=3.0, size=(4, 1))
    expected = np.mean(-(np.log(expit(real)) + np.log(1.0 - expit(fake))))
    np.testing.assert_allclose(
        discriminator_loss(real.astype(np.float32), fake.astype(np.float32)), expected, rtol=1e-6
    )
    # PatchGAN-style logits of shape (N, H, W, 1) work the same way.
    real_map, fake_map = rng.normal(size=(2, 4, 4, 1)), rng.normal(size=(2, 4, 4, 1))
    expected = np.mean(-(np.log(expit(real_map)) + np.log(1.0 - expit(fake_map))))
    np.testing.assert_allclose(
        discriminator_loss(real_map.astype(np.float32), fake_map.astype(np.float32)), expected, rtol=1e-6
    )


def test_discriminator_loss_is_stable_for_large_logits():
    real, fake = -LARGE, LARGE  # a discriminator that is confidently wrong
    with np.errstate(divide="ignore"):
        naive = -(np.log(expit(real)) + np.log(1.0 - expit(fake)))
    assert np.isinf(naive).any()
    expected = np.mean(-(log_expit(real) + log_expit(-fake)))  # log(1 - sigmoid(f)) = log_expit(-f)
    got = discriminator_loss(real.astype(np.float32), fake.astype(np.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    grads = jax.grad(discriminator_loss, argnums=(0, 1))(jnp.float32(real), jnp.float32(fake))
    assert all(np.all(np.isfinite(g)) for g in grads)
    # A confidently right discriminator has (almost) zero loss, not NaN.
    assert float(discriminator_loss(np.float32(LARGE[-1:]), np.float32(-LARGE[-1:]))) == 0.0


@pytest.fixture(scope="module")
def vgg_params():
    return random_vgg19_params(jax.random.PRNGKey(0))


@pytest.mark.parametrize("layer,scale", [("relu5_4", 1 / 12.75), ("conv5_4", 1.0), ("relu2_2", 0.5)])
def test_vgg_feature_loss_against_separately_computed_features(vgg_params, layer, scale):
    restored, target = images(2), images(3)
    model = VGG19()
    f_restored = np.asarray(model.apply({"params": vgg_params}, restored, layers=(layer,))[layer], np.float64)
    f_target = np.asarray(model.apply({"params": vgg_params}, target, layers=(layer,))[layer], np.float64)
    expected = np.mean((scale * f_restored - scale * f_target) ** 2)  # 000 eq. 3 on scaled features
    assert expected > 0
    got = vgg_feature_loss(vgg_params, restored, target, layer=layer, feature_scale=scale)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    if layer == "relu5_4":  # the default is SRGAN's: phi_5,4 after ReLU, rescaled by 1/12.75
        np.testing.assert_allclose(vgg_feature_loss(vgg_params, restored, target), expected, rtol=1e-5)


def test_vgg_feature_loss_gradients_and_jit(vgg_params):
    restored, target = jnp.asarray(images(4, (1, 16, 16, 3))), jnp.asarray(images(5, (1, 16, 16, 3)))
    layer, scale = "relu3_4", 1 / 12.75

    loss_fn = jax.jit(lambda p, r, t: vgg_feature_loss(p, r, t, layer=layer, feature_scale=scale))
    g_restored, g_target = jax.grad(loss_fn, argnums=(1, 2))(vgg_params, restored, target)
    assert float(jnp.abs(g_target).max()) == 0.0  # target features are under stop_gradient

    # Independent gradient: VJP of the feature map with cotangent d/df of the mean square.
    def features(r):
        return VGG19().apply({"params": vgg_params}, r, layers=(layer,))[layer]

    f_restored, vjp = jax.vjp(features, restored)
    f_target = features(target)
    cotangent = 2.0 * scale**2 * (f_restored - f_target) / f_restored.size
    (expected,) = vjp(cotangent)
    scale_g = float(jnp.abs(expected).max())
    assert scale_g > 0
    np.testing.assert_allclose(g_restored, expected, rtol=0, atol=1e-4 * scale_g)
    np.testing.assert_allclose(
        loss_fn(vgg_params, restored, target),
        vgg_feature_loss(vgg_params, restored, target, layer=layer, feature_scale=scale),
        rtol=1e-5,
    )
