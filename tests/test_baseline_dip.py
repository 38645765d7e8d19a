"""Deep Image Prior (issue 12's DIP baseline): the skip network's size by formula, its
reflection padding, bilinear upsampling and per-image BatchNorm against independent
references, Adam steps against a hand computation, batch equals per-image runs, a short fit
of a Set5 crop, and the one-line errors. Small networks (channels 8-16) keep it quick."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from conftest import SHARED_DATA

import jax
import jax.numpy as jnp

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.baselines.dip import (
    DIPOptions, data_loss, default_options, dip_restore, dip_state, sr_options)
from jaxrestore.inverse.operators import Identity, Mask
from jaxrestore.metrics.psnr import psnr
from jaxrestore.models.dip import BatchNormTrain, ReflectConv, skip_net, upsample_bilinear2x

SMALL = DIPOptions(channels=8, skip=2, input_channels=8, scales=3)  # 16x16 images: 2x2 at the deepest scale


def skip_net_parameters(inputs, outputs, down, up, skip, k_down=3, k_up=3, k_skip=1):
    """Parameters of the official skip() net (need1x1_up, biases, BN scale + offset), counted
    scale by scale from the layer list of models/skip.py."""
    total, depth = 0, inputs
    for i in range(len(down)):
        deeper_out = up[i + 1] if i + 1 < len(down) else down[i]
        if skip[i]:
            total += depth * skip[i] * k_skip ** 2 + skip[i] + 2 * skip[i]  # conv + BN
        total += depth * down[i] * k_down ** 2 + down[i] + 2 * down[i]  # stride-2 conv + BN
        total += down[i] * down[i] * k_down ** 2 + down[i] + 2 * down[i]  # conv + BN
        total += 2 * (skip[i] + deeper_out)  # BN after the concatenation
        total += (skip[i] + deeper_out) * up[i] * k_up ** 2 + up[i] + 2 * up[i]  # conv + BN
        total += up[i] * up[i] + up[i] + 2 * up[i]  # 1x1 conv + BN
        depth = down[i]
    return total + up[0] * outputs + outputs  # final 1x1 conv


def count(params):
    return sum(int(np.prod(a.shape)) for a in jax.tree.leaves(params))


@pytest.mark.parametrize("outputs,channels,skip", [(3, 128, 4), (1, 16, 0), (3, 8, 2)])
def test_parameter_count_matches_the_formula(outputs, channels, skip):
    net = skip_net(outputs, channels=channels, skip=skip)
    params = jax.eval_shape(lambda: net.init(jax.random.PRNGKey(0), jnp.zeros((1, 64, 32, 32))))["params"]
    expected = skip_net_parameters(32, outputs, (channels,) * 5, (channels,) * 5, (skip,) * 5)
    assert count(params) == expected
    if channels == 128:
        assert expected == 2_217_831  # "about 2.2M" for the super-resolution notebook's net


def test_output_shape_and_sigmoid_range():
    net, params, z = dip_state(Identity((64, 32, 3)), jax.random.PRNGKey(0), SMALL)
    assert z.shape == (1, 64, 32, 8)
    assert float(z.min()) >= 0 and float(z.max()) <= 0.1 and float(z.max()) > 0.09  # U(0, 1) * 0.1
    out = net.apply({"params": params}, z * 300.0)  # a large input drives the sigmoid hard
    assert out.shape == (1, 64, 32, 3)
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    assert float(out.max()) - float(out.min()) > 0.1


def test_feature_maps_halve_at_each_of_the_five_scales():
    """The official net at 64x96 (5 scales of 128 channels, 4 skip channels): scale i's skip
    branch and its up-path output are (64, 96) / 2**i, its down-path is half that again."""
    net = skip_net(3)
    z = jnp.zeros((1, 64, 96, 32))
    params = net.init(jax.random.PRNGKey(0), z)
    out, state = net.apply(params, z, capture_intermediates=True)
    shapes = {name: v["__call__"][0].shape for name, v in state["intermediates"].items() if "__call__" in v}
    for i in range(5):
        h, w = 64 // 2 ** i, 96 // 2 ** i
        assert shapes[f"skip{i}_conv"] == (1, h, w, 4)
        assert shapes[f"down{i}a_conv"] == (1, h // 2, w // 2, 128)
        assert shapes[f"down{i}b_conv"] == (1, h // 2, w // 2, 128)
        assert shapes[f"up{i}_1x1_conv"] == (1, h, w, 128)
    assert shapes["down4b_conv"] == (1, 2, 3, 128)  # the deepest scale
    assert out.shape == (1, 64, 96, 3)


def numpy_conv(x, kernel, bias, stride):
    """VALID correlation of an already padded HxWxC image with an kxkxCxF kernel."""
    k = kernel.shape[0]
    h, w = (x.shape[0] - k) // stride + 1, (x.shape[1] - k) // stride + 1
    out = np.zeros((h, w, kernel.shape[3]))
    for i in range(h):
        for j in range(w):
            patch = x[i * stride:i * stride + k, j * stride:j * stride + k]
            out[i, j] = np.tensordot(patch, kernel, axes=([0, 1, 2], [0, 1, 2])) + bias
    return out


@pytest.mark.parametrize("stride", [1, 2])
def test_convolutions_pad_by_reflection(stride):
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (1, 6, 8, 3)), np.float64)
    conv = ReflectConv(features=2, kernel=3, stride=stride)
    params = conv.init(jax.random.PRNGKey(2), jnp.asarray(x, jnp.float32))
    got = np.asarray(conv.apply(params, jnp.asarray(x, jnp.float32)))[0]
    kernel = np.asarray(params["params"]["conv"]["kernel"], np.float64)
    bias = np.asarray(params["params"]["conv"]["bias"], np.float64)
    assert np.abs(kernel).max() <= 1 / np.sqrt(27) and np.abs(bias).max() <= 1 / np.sqrt(27)  # PyTorch's init
    references = {mode: numpy_conv(np.pad(x[0], ((1, 1), (1, 1), (0, 0)), mode=mode), kernel, bias, stride)
                  for mode in ("reflect", "edge", "constant")}
    assert got.shape == (6 // stride, 8 // stride, 2)
    np.testing.assert_allclose(got, references["reflect"], atol=1e-5)
    for mode in ("edge", "constant"):  # the border would tell them apart
        assert np.abs(got - references[mode]).max() > 1e-2


def test_upsampling_matches_torch_bilinear():
    x = np.array(jax.random.normal(jax.random.PRNGKey(3), (2, 5, 7, 3)), np.float32)
    ours = np.asarray(upsample_bilinear2x(jnp.asarray(x)))
    theirs = torch.nn.Upsample(scale_factor=2, mode="bilinear")(torch.from_numpy(x).permute(0, 3, 1, 2))
    np.testing.assert_allclose(ours, theirs.permute(0, 2, 3, 1).numpy(), atol=1e-6)
    pad = torch.nn.ReflectionPad2d(2)(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect"), pad)


def test_batch_norm_uses_each_images_own_statistics_under_vmap():
    images = np.array(jax.random.normal(jax.random.PRNGKey(4), (3, 1, 4, 5, 6)), np.float32)
    images *= np.array([1.0, 3.0, 0.2], np.float32)[:, None, None, None, None]
    images += np.array([0.0, 2.0, -1.0], np.float32)[:, None, None, None, None]
    bn = BatchNormTrain()
    params = bn.init(jax.random.PRNGKey(0), jnp.asarray(images[0]))
    mapped = np.asarray(jax.vmap(lambda x: bn.apply(params, x))(jnp.asarray(images)))
    reference = torch.nn.BatchNorm2d(6).train()
    for i in range(3):
        expected = reference(torch.from_numpy(images[i]).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).detach().numpy()
        np.testing.assert_allclose(mapped[i], expected, atol=1e-5)


def _keys(key):
    return jax.random.split(key, 3)  # init, input, perturbations (the module's layout)


def test_two_adam_steps_equal_a_hand_computation():
    # In float64: Adam divides by sqrt(v), so a gradient entry near zero (or exactly zero, as the
    # conv biases in front of a BatchNorm have) turns float32 rounding into lr-sized steps.
    with jax.enable_x64(True):
        op = Identity((16, 16, 3))
        y = jax.random.uniform(jax.random.PRNGKey(5), op.output_shape, jnp.float64)
        key = jax.random.PRNGKey(6)
        options = dataclasses.replace(SMALL, iterations=2, lr=0.01, reg_noise_std=0.05)
        result = dip_restore(op, y, key, options)
        net, params, z = dip_state(op, key, options, jnp.float64)
        start = net.apply({"params": params}, z)[0]
        noise_key = _keys(key)[2]
        b1, b2, eps, lr = 0.9, 0.999, 1e-8, options.lr
        m = jax.tree.map(jnp.zeros_like, params)
        v = jax.tree.map(jnp.zeros_like, params)
        losses = []
        value_and_grad = jax.jit(jax.value_and_grad(
            lambda p, noise: jnp.mean((net.apply({"params": p}, z + noise)[0] - y) ** 2)))
        for t in range(2):
            noise = options.reg_noise_std * jax.random.normal(jax.random.fold_in(noise_key, t), z.shape, z.dtype)
            loss, g = value_and_grad(params, noise)
            losses.append(float(loss))
            m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
            v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
            params = jax.tree.map(lambda p, m, v: p - lr * (m / (1 - b1 ** (t + 1)))
                                  / (jnp.sqrt(v / (1 - b2 ** (t + 1))) + eps), params, m, v)
        image = net.apply({"params": params}, z)[0]
        assert result.image.dtype == jnp.float64
        np.testing.assert_allclose(np.asarray(result.loss), losses, rtol=1e-10)
        np.testing.assert_allclose(np.asarray(result.image), np.asarray(image), atol=1e-8)
        assert float(data_loss(op, result.image, y)) < losses[0]
        # The steps did something measurable: the image moved by far more than the tolerance.
        assert float(jnp.abs(image - start).max()) > 1e-2


def _batch_and_singles(options, steps, dtype, scale=1.0, batching="vmap"):
    shape, n = (16, 16, 3), 3
    key_x, key_m = jax.random.split(jax.random.PRNGKey(7))
    images = jax.random.uniform(key_x, (n,) + shape, dtype)
    weights = (jax.random.uniform(key_m, (n, 16, 16, 1)) > 0.3).astype(dtype)
    ops = Mask(weights=weights, shape=shape)
    ys = ops.A(images) * scale
    options = dataclasses.replace(options, iterations=steps)
    key = jax.random.PRNGKey(8)
    batch = dip_restore(ops, ys, key, options, per_image_operator=True, batching=batching)
    singles = [dip_restore(Mask(weights=weights[i], shape=shape), ys[i], k, options)
               for i, k in enumerate(jax.random.split(key, n))]
    return batch, singles


def test_batch_looped_image_by_image_equals_per_image_runs_exactly():
    batch, singles = _batch_and_singles(SMALL, 3, jnp.float32, batching="loop")
    for i, s in enumerate(singles):
        np.testing.assert_array_equal(np.asarray(batch.image[i]), np.asarray(s.image))
        np.testing.assert_array_equal(np.asarray(batch.loss[i]), np.asarray(s.loss))


def test_the_options_choose_the_batching_and_auto_loops_on_a_cpu():
    from jaxrestore.inverse.baselines.dip import dip_batching
    from jaxrestore.inverse.experiments import baselines

    looped, _ = _batch_and_singles(SMALL, 3, jnp.float32, batching="loop")
    for chosen in ("loop", "auto"):  # through the options, not the argument; auto is loop on a CPU
        batch, _ = _batch_and_singles(dataclasses.replace(SMALL, batching=chosen), 3, jnp.float32, batching=None)
        np.testing.assert_array_equal(np.asarray(batch.image), np.asarray(looped.image))
    assert jax.default_backend() == "cpu" and dip_batching("auto") == "loop" and dip_batching("vmap") == "vmap"
    # the experiments' field baselines.dip.batching reaches the options and results.json's record
    section = baselines.config_section("sr").dip
    section.batching = "vmap"
    options = baselines.dip_options(section, (64, 64, 3), scale=4, noisy=False)
    assert options.batching == "vmap"
    assert baselines.REGISTRY["dip"].summary(np.zeros(2), options)["batching_used"] == "vmap"
    with pytest.raises(ConfigError, match="DIP batching must be one of auto, vmap, loop, got 'map'"):
        DIPOptions(batching="map").check()


def test_vmapped_batch_equals_per_image_runs():
    for steps in (1, 5):
        batch, singles = _batch_and_singles(SMALL, steps, jnp.float32)
        # Conditioning: how far the single runs move when y moves by 1e-6 relative (float32 rounding).
        _, moved = _batch_and_singles(SMALL, steps, jnp.float32, scale=1.0 + 1e-6)
        sensitivity = max(float(jnp.abs(a.image - b.image).max()) for a, b in zip(singles, moved))
        difference = max(float(jnp.abs(batch.image[i] - s.image).max()) for i, s in enumerate(singles))
        spread = max(float(jnp.abs(batch.image[i] - singles[0].image).max()) for i in (1, 2))
        loss_sensitivity = max(float(jnp.abs(a.loss - b.loss).max()) for a, b in zip(singles, moved))
        loss_difference = max(float(jnp.abs(batch.loss[i] - s.loss).max()) for i, s in enumerate(singles))
        print(f"{steps} steps: batch vs single {difference:.1e} (loss {loss_difference:.1e}), y * (1 + 1e-6) "
              f"moves {sensitivity:.1e} (loss {loss_sensitivity:.1e}), images differ by {spread:.1e}")
        # Measured: 2e-5 (1 step) and 1.4e-3 (5 steps), with sensitivities 1e-5 and 1.4e-3; a batch
        # sharing BatchNorm statistics or keys across images would differ by the spread (0.4-0.5).
        assert spread > 0.05  # each image its own network, input and fit
        assert difference <= max(10 * sensitivity, 1e-5)
        assert loss_difference <= max(10 * loss_sensitivity, 1e-6)


def test_vmapped_batch_equals_per_image_runs_in_float64():
    with jax.enable_x64(True):
        batch, singles = _batch_and_singles(SMALL, 5, jnp.float64)
        assert batch.image.dtype == jnp.float64
        difference = max(float(jnp.abs(batch.image[i] - s.image).max()) for i, s in enumerate(singles))
    print(f"float64, 5 steps: batch vs single {difference:.1e}")
    assert difference < 1e-9  # measured 2e-11: the float32 differences are rounding, amplified


def test_fits_a_set5_crop_with_missing_pixels():
    from PIL import Image

    with Image.open(SHARED_DATA / "Set5" / "butterfly.png") as img:
        clean = np.asarray(img, np.float32)[96:128, 96:128] / 255.0  # 32x32x3 in [0, 1]
    weights = (np.random.default_rng(0).random((32, 32)) > 0.5).astype(np.float32)
    op = Mask.create(weights, clean.shape)
    y = op.A(jnp.asarray(clean))
    options = DIPOptions(channels=16, skip=4, scales=4, iterations=200)
    result = dip_restore(op, y, jax.random.PRNGKey(0), options)
    before, after = psnr(clean, np.asarray(y), data_range=1.0), psnr(clean, np.asarray(result.image), data_range=1.0)
    first, last = float(result.loss[0]), float(data_loss(op, result.image, y))
    print(f"inpainting 50 %: input {before:.2f} dB, DIP {after:.2f} dB; data loss {first:.2e} -> {last:.2e}")
    assert result.loss.shape == (200,)
    assert last < 0.1 * first  # measured 4.3e-2 -> 9.6e-5
    assert after > before + 5.0  # measured 6.2 dB (zero-filled) -> 30.2 dB


def test_options_for_the_papers_settings():
    assert (sr_options(4).iterations, sr_options(4).reg_noise_std) == (2000, 0.03)
    assert (sr_options(8).iterations, sr_options(8).reg_noise_std) == (4000, 0.05)
    assert sr_options(8, noisy=True).iterations == 1000 and sr_options(4, noisy=True).iterations == 500
    assert default_options(noisy=True) == sr_options(4, noisy=True)
    assert DIPOptions() == sr_options(4)
    assert (DIPOptions().lr, DIPOptions().input_channels, DIPOptions().input_scale) == (0.01, 32, 0.1)
    with pytest.raises(ConfigError, match="factors 4 and 8 only, got 2"):
        sr_options(2)


def test_errors_are_one_clear_sentence():
    with pytest.raises(ConfigError, match=r"multiples of 32, got 60x64; crop or pad the height to 32 or 64 "
                                          r"and the width to 64") as err:
        dip_restore(Identity((60, 64, 3)), jnp.zeros((60, 64, 3)), jax.random.PRNGKey(0), DIPOptions())
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=r"multiples of 8, got 20x16; crop or pad the height to 16 or 24"):
        DIPOptions(scales=3).check((20, 16, 3))
    with pytest.raises(ConfigError, match=r"32x32 image leaves one pixel at the deepest of 5 scales"):
        DIPOptions().check((32, 32, 3))
    DIPOptions().check((32, 64, 3))  # 1x2 at the deepest scale
    DIPOptions(scales=4).check((32, 32, 3))
    with pytest.raises(ConfigError, match="iterations must be a positive integer, got 0"):
        DIPOptions(iterations=0).check()
    with pytest.raises(ConfigError, match="lr must be a finite number > 0, got -0.01"):
        DIPOptions(lr=-0.01).check()
    with pytest.raises(ConfigError, match="lr must be a finite number > 0, got 0"):
        DIPOptions(lr=0).check()
    with pytest.raises(ConfigError, match=r"expects an observation of shape 32x32x3 \(HxWxC\) but got 32x32x1"):
        dip_restore(Identity((32, 32, 3)), jnp.zeros((32, 32, 1)), jax.random.PRNGKey(0), SMALL)
    with pytest.raises(ConfigError, match="one per operator"):
        dip_restore(Identity((32, 32, 3)), jnp.zeros((32, 32, 3)), jax.random.PRNGKey(0), SMALL,
                    per_image_operator=True)
