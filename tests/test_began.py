"""The BEGAN prior of 003_* (carpedm20's BEGAN-tensorflow layout): parameter counts from the
layer list, the networks against TensorFlow ops, one step against an independent optax
computation (losses, k_t, simultaneous D/G updates), and the prior trained, resumed and
sampled by the one training loop."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from conftest import checkpoint_state, tiny_config
from jaxrestore.errors import ConfigError
from jaxrestore.training.methods import build_method
from jaxrestore.models.began import BEGANDiscriminator, BEGANGenerator
from test_methods import first_update, jgrad
from test_models import conv_params, count


def decoder_count(code, n, blocks):
    """linear code -> 8x8xn, ``blocks`` x two 3x3 n -> n convolutions, a 3x3 n -> 3 convolution."""
    return code * 8 * 8 * n + 8 * 8 * n + blocks * 2 * conv_params(3, n, n) + conv_params(3, n, 3)


def encoder_count(n, blocks, code):
    """3x3 3 -> n, then per block i two 3x3 convolutions to (i+1)n and (but the last) a
    stride-2 3x3 (i+1)n -> (i+1)n; the 8x8 map of the last block -> a linear code."""
    total, prev = conv_params(3, 3, n), n
    for i in range(blocks):
        width = n * (i + 1)
        total += conv_params(3, prev, width) + conv_params(3, width, width)
        if i < blocks - 1:
            total += conv_params(3, width, width)
        prev = width
    return total + 8 * 8 * prev * code + code


def test_128x128_networks_have_the_reference_layout_and_parameter_counts():
    g, d = BEGANGenerator(z_dim=64, features=128, size=128), BEGANDiscriminator(features=128, size=128, code_dim=64)
    g_vars = jax.eval_shape(g.init, jax.random.key(0), jnp.zeros((1, 64)))
    d_vars = jax.eval_shape(d.init, jax.random.key(0), jnp.zeros((1, 128, 128, 3)))
    assert count(g_vars) == decoder_count(64, 128, 5) == 2_011_779
    assert count(d_vars) == encoder_count(128, 5, 64) + decoder_count(64, 128, 5) == 23_221_443
    assert jax.eval_shape(g.apply, g_vars, jnp.zeros((2, 64))).shape == (2, 128, 128, 3)
    assert jax.eval_shape(d.apply, d_vars, jnp.zeros((2, 128, 128, 3))).shape == (2, 128, 128, 3)
    assert d_vars["params"]["encoder"]["code"]["kernel"].shape == (8 * 8 * 640, 64)  # 5n at 8x8
    g64 = jax.eval_shape(BEGANGenerator(size=64).init, jax.random.key(0), jnp.zeros((1, 64)))
    assert count(g64) == decoder_count(64, 128, 4) == 1_716_611  # 4 blocks at 64x64


def test_networks_equal_tensorflow_ops_on_the_same_weights():
    """ELU, nearest x2 upsampling, TF's SAME stride-2 padding and the reshape order, against
    tf.nn on a 16x16 model (2 blocks) with random weights."""
    import tensorflow as tf

    g, d = BEGANGenerator(z_dim=5, features=4, size=16), BEGANDiscriminator(features=4, size=16, code_dim=6)
    rng = np.random.default_rng(0)

    def randomised(tree):
        return jax.tree.map(lambda x: jnp.asarray(rng.normal(0, 0.3, x.shape), jnp.float32), tree)

    gp = randomised(g.init(jax.random.key(0), jnp.zeros((1, 5)))["params"])
    dp = randomised(d.init(jax.random.key(0), jnp.zeros((1, 16, 16, 3)))["params"])

    def conv(x, p, stride=1):
        return tf.nn.conv2d(x, np.asarray(p["kernel"]), stride, "SAME") + np.asarray(p["bias"])

    def tf_decoder(p, code, n):
        x = tf.reshape(code @ np.asarray(p["project"]["kernel"]) + np.asarray(p["project"]["bias"]), (-1, 8, 8, n))
        for i in range(2):
            x = tf.nn.elu(conv(tf.nn.elu(conv(x, p[f"block{i}_conv0"])), p[f"block{i}_conv1"]))
            if i == 0:
                x = tf.compat.v1.image.resize_nearest_neighbor(x, (16, 16))  # the reference op
        return conv(x, p["out"])

    z = rng.uniform(-1, 1, (3, 5)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(g.apply({"params": gp}, z)), tf_decoder(gp["decoder"], z, 4).numpy(),
                               rtol=1e-4, atol=1e-4)
    x = rng.uniform(-1, 1, (3, 16, 16, 3)).astype(np.float32)
    e = dp["encoder"]
    h = tf.nn.elu(conv(x, e["in"]))
    h = tf.nn.elu(conv(tf.nn.elu(conv(h, e["block0_conv0"])), e["block0_conv1"]))
    h = tf.nn.elu(conv(h, e["block0_down"], stride=2))
    h = tf.nn.elu(conv(tf.nn.elu(conv(h, e["block1_conv0"])), e["block1_conv1"]))
    code = tf.reshape(h, (3, -1)) @ np.asarray(e["code"]["kernel"]) + np.asarray(e["code"]["bias"])
    np.testing.assert_allclose(np.asarray(d.apply({"params": dp}, x)), tf_decoder(dp["decoder"], code, 4).numpy(),
                               rtol=1e-4, atol=1e-4)


def prior_config(**overrides):
    return tiny_config("began", **{"model.features": 8, "model.d_features": 8, "model.z_dim": 16,
                                   "model.code_dim": 8, "data.patch_size": 16, "train.batch_size": 4,
                                   "optimizer.eps": 1.0, "eval.data": "", "train.grid_images": 2,
                                   "data.train": "procedural:faces:count=16:size=16:seed=0", **overrides})


def l1(a, b):
    return jnp.mean(jnp.abs(a - b))


def test_one_step_losses_k_update_and_simultaneous_updates_equal_an_independent_computation():
    lr = {"optimizer.d_lr": 0.01, "optimizer.g_lr": 0.02, "loss.lambda_k": 0.05}
    method = build_method(prior_config(**lr))
    rng = np.random.default_rng(0)
    batch = {"target": jnp.asarray(rng.uniform(size=(4, 16, 16, 3)), jnp.float32)}
    k0 = 0.3  # a k_t inside (0, 1), so the fake term of L_D counts
    state = method.init(jax.random.key(0), batch).replace(k=jnp.float32(k0))
    key = jax.random.key(1)
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, key)

    z = jax.random.uniform(key, (4, 16), minval=-1, maxval=1)  # the step's latents
    real = batch["target"] * 2 - 1
    G = lambda p: method.generator.apply({"params": p}, z)  # noqa: E731
    D = lambda p, x: method.discriminator.apply({"params": p}, x)  # noqa: E731
    fake = G(state.g.params)
    loss_real, loss_fake = float(l1(D(state.d.params, real), real)), float(l1(D(state.d.params, fake), fake))
    assert float(metrics["train/d_loss_real"]) == pytest.approx(loss_real, rel=1e-5)
    assert float(metrics["train/g_loss"]) == float(metrics["train/d_loss_fake"]) == pytest.approx(loss_fake, rel=1e-5)
    assert float(metrics["train/d_loss"]) == pytest.approx(loss_real - k0 * loss_fake, rel=1e-5)
    assert float(metrics["train/measure"]) == pytest.approx(loss_real + abs(0.5 * loss_real - loss_fake), rel=1e-5)
    # k_{t+1} in NumPy from the step's reported L(x) and L(G(z)).
    lx, lg = np.float32(metrics["train/d_loss_real"]), np.float32(metrics["train/g_loss"])
    assert float(new.k) == pytest.approx(float(np.clip(k0 + 0.05 * (0.5 * lx - lg), 0, 1)), abs=1e-7)
    assert float(new.k) != k0

    # D on L(x) - k_t L(G(z)) with G's images fixed; G on L(G(z)) through the step's (old) D.
    d_grads = jgrad(lambda p: l1(D(p, real), real) - k0 * l1(D(p, fake), fake))(state.d.params)
    g_grads = jgrad(lambda p, d: l1(D(d, G(p)), G(p)))(state.g.params, state.d.params)
    b1, b2 = method.config.optimizer.b1, method.config.optimizer.b2
    for ours, grads, params, rate in ((new.d.params, d_grads, state.d.params, 0.01),
                                      (new.g.params, g_grads, state.g.params, 0.02)):
        upd, _ = first_update(optax.adam(rate, b1, b2, 1.0), grads, params)
        for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(optax.apply_updates(params, upd))):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6, rtol=1e-5)
    # Through the updated D, G's step would differ: the reference's update is simultaneous.
    upd, _ = first_update(optax.adam(0.02, b1, b2, 1.0), jgrad(lambda p, d: l1(D(d, G(p)), G(p)))(
        state.g.params, new.d.params), state.g.params)
    sequential = optax.apply_updates(state.g.params, upd)
    assert max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
               for a, b in zip(jax.tree.leaves(new.g.params), jax.tree.leaves(sequential))) > 1e-5

    # G's step leaves D's weights alone and D's step G's: with one learning rate at 0 that
    # network stays exactly where it was, and the other moves exactly as above.
    for frozen_net, moving in (("d", "g"), ("g", "d")):
        m = build_method(prior_config(**{**lr, f"optimizer.{frozen_net}_lr": 0.0}))
        out, _ = jax.jit(m.train_step)(m.frozen, state, batch, key)
        for a, b in zip(jax.tree.leaves(getattr(out, frozen_net).params),
                        jax.tree.leaves(getattr(state, frozen_net).params)):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        for a, b in zip(jax.tree.leaves(getattr(out, moving).params), jax.tree.leaves(getattr(new, moving).params)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-7)


def test_k_is_clipped_to_0_1_and_the_reference_schedule_halves_lr_to_its_floor():
    from configs.began import get_config
    from jaxrestore.training.methods.began import k_update
    from jaxrestore.training.methods.gan import lr_schedule

    assert float(k_update(jnp.float32(0.9995), 1.0, 0.0, gamma=0.5, lambda_k=0.001)) == 1.0
    assert float(k_update(jnp.float32(0.0), 0.1, 0.5, gamma=0.5, lambda_k=0.001)) == 0.0
    config = get_config()
    schedule = lr_schedule(config.optimizer, config.optimizer.g_lr)
    for step in (0, 99_999, 100_000, 199_999, 200_000, 350_000, 499_999):
        # carpedm20: lr = max(lr * 0.5, 2e-5) after every 100,000 steps, from 8e-5.
        expected = max(8e-5 * 0.5 ** (step // 100_000), 2e-5)
        assert float(schedule(step)) == pytest.approx(expected, rel=1e-6), step
    celeba = get_config("celeba")
    assert (celeba.data.patch_size, celeba.data.crop_box, celeba.data.train) == (128, (50, 25, 128, 128),
                                                                                 "tfds:celeb_a:train")


def test_config_errors_are_one_sentence():
    with pytest.raises(ConfigError, match="power of two"):
        build_method(prior_config(**{"data.patch_size": 48}))
    with pytest.raises(ConfigError, match="'began'"):
        build_method(prior_config(**{"model.generator": "dcgan"}))
    with pytest.raises(ConfigError, match="loss.gamma"):
        build_method(prior_config(**{"loss.gamma": 2.0}))


def test_quick_config_trains_resumes_exactly_and_samples_through_the_loop(tmp_path):
    from jaxrestore.runtime.checkpoints import load_generator_variables, network_variables
    from jaxrestore.imaging.io import read_image
    from jaxrestore.train import train_and_evaluate

    config = prior_config(**{"train.num_steps": 4, "train.checkpoint_every": 2, "train.eval_every": 4,
                             "loss.lambda_k": 0.05})
    assert config.method == "began" and config.task.name == "generate"
    assert train_and_evaluate(config, str(tmp_path / "straight")) == {}  # a prior has no held-out PSNR
    config.train.num_steps = 2
    train_and_evaluate(config, str(tmp_path / "resumed"))  # "killed" after the step-2 checkpoint
    config.train.num_steps = 4
    train_and_evaluate(config, str(tmp_path / "resumed"))

    a, b = checkpoint_state(tmp_path / "straight", 4), checkpoint_state(tmp_path / "resumed", 4)
    la, lb = jax.tree_util.tree_leaves_with_path(a), jax.tree_util.tree_leaves_with_path(b)
    assert [k for k, _ in la] == [k for k, _ in lb] and any("'k'" in jax.tree_util.keystr(k) for k, _ in la)
    for (path, x), (_, y) in zip(la, lb):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=jax.tree_util.keystr(path))
    mid = checkpoint_state(tmp_path / "resumed", 2)
    assert 0 < float(mid["k"]) < float(a["k"]) < 1  # k_t moved on after the checkpoint
    out_kernel = lambda state: state["g"]["params"]["decoder"]["out"]["kernel"]  # noqa: E731
    assert not np.array_equal(out_kernel(mid), out_kernel(a))

    # The step-4 sample grid is G's images from the fixed latents (seed + 7), 2x2 of 16x16.
    variables, step, _ = load_generator_variables(tmp_path / "straight", which="latest")
    assert step == 4
    z = jax.random.uniform(jax.random.key(config.seed + 7), (4, 16), minval=-1.0, maxval=1.0)
    images = np.asarray(build_method(config).generator.apply(network_variables(variables), z), np.float64)
    images = np.round(np.clip((images + 1.0) * 127.5, 0, 255)).astype(np.uint8)
    grid = read_image(tmp_path / "straight" / "samples" / "grid_00000004.png")
    assert grid.shape == (32, 32, 3)
    np.testing.assert_array_equal(grid, images.reshape(2, 2, 16, 16, 3).transpose(0, 2, 1, 3, 4).reshape(32, 32, 3))
