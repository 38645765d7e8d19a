"""The ESRGAN-family step (001_*): D, then G on eq. (10), then L on eq. (9), checked against
independent transcriptions; stage 1; one device against four; init_from / EMA flows.

Adam runs with eps = 1 for the reason given in tests/test_methods.py (a first Adam step is
lr * g / (|g| + eps); eps = 1 keeps it a smooth function of the gradient).
"""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from conftest import REPO, checkpoint_state
from jaxrestore.errors import CheckpointError, ConfigError
from jaxrestore.training.methods import build_method
from test_methods import first_update, jgrad

TINY = {"model.num_blocks": 1, "model.features": 8, "model.growth": 4, "model.d_features": 4,
        "model.encoder_features": 8, "data.patch_size": 128, "train.batch_size": 4,
        "optimizer.eps": 1.0}


def tiny(make_config, name, **overrides):
    return make_config(name, **{**TINY, **overrides})


def batch_for(config, seed=0, n=4):
    rng = np.random.default_rng(seed)
    p, s = config.data.patch_size, config.task.scale
    return {"degraded": jnp.asarray(rng.uniform(size=(n, p // s, p // s, 3)), jnp.float32),
            "target": jnp.asarray(rng.uniform(size=(n, p, p, 3)), jnp.float32)}


def adam_from_scratch(params, grads, lr, eps=1.0):
    tx = optax.adam(lr, 0.9, 0.999, eps)
    updates, _ = first_update(tx, grads, params)
    return optax.apply_updates(params, updates)


def assert_trees_close(a, b, atol=1e-6, rtol=1e-5):
    la, lb = jax.tree_util.tree_leaves_with_path(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for (path, x), y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=rtol,
                                   err_msg=jax.tree_util.keystr(path))


def max_gap(a, b):
    return max(float(np.abs(np.asarray(x) - np.asarray(y)).max()) for x, y in zip(jax.tree.leaves(a),
                                                                                  jax.tree.leaves(b)))


def bce_logits(logits, target: float):
    """Binary cross-entropy on logits, written out (PyTorch's BCEWithLogitsLoss, mean)."""
    p = jax.nn.sigmoid(logits)
    return -jnp.mean(target * jnp.log(p) + (1 - target) * jnp.log(1 - p))


def d_forward(method, d_params, d_stats, images):
    """D in training mode outside the device map (one device: BatchNorm over the local batch)."""
    logits, mut = method.discriminator.clone(axis_name=None).apply({"params": d_params, "batch_stats": d_stats}, images,
                                             train=True, mutable=["batch_stats"])
    return logits, mut["batch_stats"]


def test_lsrgan_step_updates_d_then_g_then_l(make_config):
    lam, eta, mu = 0.5, 0.3, 3.0  # a large mu makes the LSR term visible in a first step
    config = tiny(make_config, "lsrgan", **{"loss.adversarial_weight": lam, "loss.l1_weight": eta,
                                            "loss.lsr_weight": mu, "loss.perceptual": "none",
                                            "optimizer.d_lr": 0.3, "train.ema_decay": 0.9})
    method = build_method(config)
    batch = batch_for(config)
    hr, lr_images = batch["target"], batch["degraded"]
    state = method.init(jax.random.key(0), batch)
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, jax.random.key(1))

    g = lambda p, x: method.generator.apply({"params": p}, x, train=True)  # noqa: E731
    enc = lambda p, x: method.encoder.apply({"params": p}, x, train=True)  # noqa: E731
    fake = g(state.g.params, lr_images)

    # D: ESRGAN's relativistic average loss, real and fake as separate BatchNorm batches.
    def d_loss(params):
        real, stats = d_forward(method, params, state.d.batch_stats, hr)
        fk, _ = d_forward(method, params, stats, fake)
        return 0.5 * (bce_logits(real - jnp.mean(fk), 1.0) + bce_logits(fk - jnp.mean(real), 0.0))

    d_params = adam_from_scratch(state.d.params, jgrad(d_loss)(state.d.params), config.optimizer.d_lr)
    real_logits, stats = d_forward(method, state.d.params, state.d.batch_stats, hr)
    fake_logits, _ = d_forward(method, state.d.params, stats, fake)
    assert float(metrics["train/d_real_logit"]) == pytest.approx(float(jnp.mean(real_logits)), abs=1e-5)
    assert float(metrics["train/d_fake_logit"]) == pytest.approx(float(jnp.mean(fake_logits)), abs=1e-5)
    assert_trees_close(new.d.params, d_params, atol=1e-5)

    # G: eq. (10) through the updated D, with L fixed; the LSR term enters with a minus sign.
    def g_loss(params, mu_value):
        out = g(params, lr_images)
        real, _ = d_forward(method, new.d.params, new.d.batch_stats, hr)
        real = jax.lax.stop_gradient(real)
        fk, _ = d_forward(method, new.d.params, new.d.batch_stats, out)
        adv = 0.5 * (bce_logits(real - jnp.mean(fk), 0.0) + bce_logits(fk - jnp.mean(real), 1.0))
        l1 = jnp.mean(jnp.abs(out - hr))
        lsr = jnp.mean(jnp.abs(enc(state.l.params, hr) - enc(state.l.params, out)))
        return lam * adv + eta * l1 - mu_value * lsr

    g_expected = adam_from_scratch(state.g.params, jgrad(g_loss)(state.g.params, mu), config.optimizer.g_lr)
    assert_trees_close(new.g.params, g_expected, atol=2e-6)
    g_plus = adam_from_scratch(state.g.params, jgrad(g_loss)(state.g.params, -mu), config.optimizer.g_lr)
    assert max_gap(new.g.params, g_plus) > 1e-5  # the sign of the LSR term is visible in the step

    # L: eq. (9) on G's output of this iteration; both L(y) and L(G(z)) carry L's gradient.
    def l_loss(params):
        return jnp.mean(jnp.abs(enc(params, hr) - enc(params, fake)))

    l_expected = adam_from_scratch(state.l.params, jgrad(l_loss)(state.l.params), config.optimizer.l_lr)
    assert_trees_close(new.l.params, l_expected, atol=2e-6)
    assert float(metrics["train/l_loss"]) == pytest.approx(float(l_loss(state.l.params)), rel=1e-5)

    # EMA of G's weights, decay 0.9, started from G's initial weights.
    assert_trees_close(new.ema, jax.tree.map(lambda e, p: 0.9 * e + 0.1 * p, state.g.params, new.g.params))
    assert int(new.step) == 1


def test_only_eq9_moves_l_and_the_lsr_weight_moves_only_g(make_config):
    """L's update is the same whatever mu is (G's LSR term never reaches L), while G's changes."""
    steps = {}
    for mu in (0.0, 0.5):
        config = tiny(make_config, "lsrgan", **{"loss.lsr_weight": mu, "loss.perceptual": "none",
                                                "loss.adversarial_weight": 0.1})
        method = build_method(config)
        batch = batch_for(config)
        state = method.init(jax.random.key(0), batch)
        steps[mu] = (state, jax.jit(method.train_step)(method.frozen, state, batch, jax.random.key(1))[0])
    (s0, n0), (_, n5) = steps[0.0], steps[0.5]
    assert_trees_close(n0.l.params, n5.l.params, atol=0, rtol=0)
    assert_trees_close(n0.d.params, n5.d.params, atol=0, rtol=0)
    assert max_gap(n0.g.params, n5.g.params) > 1e-6
    assert max_gap(n0.l.params, s0.l.params) > 1e-6


@pytest.mark.parametrize("name,has_l,percep", [("esrgan", False, "none"), ("cesrgan", False, "contextual"),
                                               ("lsrgan", True, "none"), ("clsrgan", True, "contextual")])
def test_one_step_of_each_config(make_config, name, has_l, percep):
    config = tiny(make_config, name)
    assert config.loss.perceptual == percep  # the quick presets' perceptual term (no VGG weights offline)
    method = build_method(config)
    batch = batch_for(config)
    state = method.init(jax.random.key(0), batch)
    assert (state.l is not None) == has_l
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, jax.random.key(1))
    assert max_gap(new.g.params, state.g.params) > 0
    assert max_gap(new.d.params, state.d.params) > 0
    if has_l:
        assert max_gap(new.l.params, state.l.params) > 0
        assert float(metrics["train/lsr_loss"]) > 0
    assert all(np.isfinite(float(v)) for v in metrics.values())
    if percep == "contextual":
        from jaxrestore.losses.contextual import vgg_contextual_loss

        out = method.generator.apply({"params": state.g.params}, batch["degraded"], train=True)
        expected = vgg_contextual_loss(method.frozen["vgg"], out, batch["target"], layer="conv3_4",
                                       bandwidth=config.loss.contextual_bandwidth)
        assert float(metrics["train/perceptual_loss"]) == pytest.approx(float(expected), rel=1e-4)


def test_stage1_pretrains_g_and_l_on_l1(make_config):
    config = tiny(make_config, "rrdbnet_psnr")
    method = build_method(config)
    assert method.discriminator is None and config.loss.adversarial_weight == 0
    batch = batch_for(config)
    state = method.init(jax.random.key(0), batch)
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, jax.random.key(1))
    g_loss = lambda p: jnp.mean(jnp.abs(method.generator.apply({"params": p}, batch["degraded"])  # noqa: E731
                                        - batch["target"]))
    l_loss = lambda p: jnp.mean(jnp.abs(method.encoder.apply({"params": p}, batch["target"])  # noqa: E731
                                        - batch["degraded"]))
    assert_trees_close(new.g.params, adam_from_scratch(state.g.params, jgrad(g_loss)(state.g.params),
                                                       config.optimizer.g_lr), atol=2e-6)
    assert_trees_close(new.l.params, adam_from_scratch(state.l.params, jgrad(l_loss)(state.l.params),
                                                       config.optimizer.l_lr), atol=2e-6)
    assert float(metrics["train/l_loss"]) == pytest.approx(float(l_loss(state.l.params)), rel=1e-5)


DEVICES_SCRIPT = """
import sys, jax, numpy as np
sys.path.insert(0, "tests")
from conftest import tiny_config
from test_esrgan_method import TINY, batch_for
from jaxrestore.training.methods import build_method
assert jax.device_count() == 4, jax.devices()
config = tiny_config("clsrgan", **{**TINY, **OVERRIDES})
method = build_method(config)
batch = batch_for(config)
state = method.init(jax.random.key(0), batch)
key = jax.random.key(1)
shard_new, shard_metrics = jax.jit(method.train_step)(method.frozen, state, batch, key)
# The same per-device step under jax.pmap: state replicated, batch split over a leading axis.
split = jax.tree.map(lambda x: x.reshape(4, x.shape[0] // 4, *x.shape[1:]), batch)
pmapped = jax.pmap(method._device_step, axis_name="data", in_axes=(None, 0, 0, None))
replicated = jax.tree.map(lambda x: np.stack([np.asarray(x)] * 4), state)
pmap_new, pmap_metrics = pmapped(method.frozen, replicated, split, key)
pmap_new = jax.tree.map(lambda x: x[0], pmap_new)
out = {}
for prefix, tree in (("shard", (shard_new, shard_metrics)), ("pmap", (pmap_new, jax.tree.map(lambda x: x[0], pmap_metrics)))):
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        if np.issubdtype(np.asarray(leaf).dtype, np.floating):
            out[prefix + jax.tree_util.keystr(path)] = np.asarray(leaf)
np.savez(sys.argv[1], **out)
"""

# D takes a real step (lr 0.3), and G's step goes through the moved D. How well that comparison
# is conditioned depends on the tiny random networks: measured on one device, scaling the targets
# by 1 + 1e-6 moved G's Adam moments by ~5e-5 (relative) at d_lr 0.3 but by ~1e-2 at d_lr 0.01
# (a LeakyReLU kink of the 4-feature D sat next to a pre-activation there), so the test checks
# its own conditioning before comparing summation orders.
DEVICE_OVERRIDES = {"loss.adversarial_weight": 0.5, "loss.lsr_weight": 0.2, "optimizer.d_lr": 0.3}
COMPARE_RTOL = 2e-4


def float_leaves(tree) -> dict:
    return {jax.tree_util.keystr(p): np.asarray(v) for p, v in jax.tree_util.tree_leaves_with_path(tree)
            if np.issubdtype(np.asarray(v).dtype, np.floating)}


def group_scales(leaves: dict) -> dict:
    """Per leaf, the largest magnitude in its group (one network's params, mu or nu, ...), the scale
    an absolute tolerance is taken relative to (a leaf of exactly-zero gradient holds only noise)."""
    groups = {}
    for name, value in leaves.items():
        group = name.split("['")[0]
        groups[group] = max(groups.get(group, 0.0), float(np.abs(value).max()))
    return {name: groups[name.split("['")[0]] for name in leaves}


def test_step_on_four_devices_equals_one_device(make_config, tmp_path):
    """The D/G/L step of CLSRGAN (contextual loss, L, D's BatchNorm, relativistic means over the
    batch, a D that moves) on 4 forced host devices, mapped by shard_map and by jax.pmap, equals
    1 device."""
    assert jax.device_count() == 1
    config = tiny(make_config, "clsrgan", **DEVICE_OVERRIDES)
    method = build_method(config)
    batch = batch_for(config)
    state = method.init(jax.random.key(0), batch)
    step = jax.jit(method.train_step)
    new, metrics = step(method.frozen, state, batch, jax.random.key(1))
    one = float_leaves((new, metrics))
    scales = group_scales(one)

    # Conditioning: neither a 1e-6 relative change of the input nor another summation order (the
    # same step on the batch in reverse order, mathematically identical) moves any leaf by more
    # than a fifth of the tolerance.
    nudged = {**batch, "target": batch["target"] * (1 + 1e-6)}
    reverse = jax.tree.map(lambda x: x[::-1], batch)
    for other in (nudged, reverse):
        moved = float_leaves(step(method.frozen, state, other, jax.random.key(1)))
        worst = max(float(np.abs(moved[k] - v).max()) / (scales[k] + 1e-30) for k, v in one.items())
        assert worst < COMPARE_RTOL / 5, worst

    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": f"--xla_force_host_platform_device_count=4 {os.environ['XLA_FLAGS']}"}
    script = DEVICES_SCRIPT.replace("OVERRIDES", repr(DEVICE_OVERRIDES))
    out = tmp_path / "four.npz"
    proc = subprocess.run([sys.executable, "-c", script, str(out)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    four = np.load(out)
    for prefix in ("shard", "pmap"):
        assert {k[len(prefix):] for k in four.files if k.startswith(prefix)} == set(one)
        for name, value in one.items():
            np.testing.assert_allclose(four[prefix + name], value, rtol=COMPARE_RTOL,
                                       atol=COMPARE_RTOL * scales[name], err_msg=prefix + name)
    assert max_gap(new.d.batch_stats, state.d.batch_stats) > 0  # BN statistics were exercised
    assert max_gap(new.d.params, state.d.params) > 1e-2  # and D moved before G's step


def test_init_from_stage1_then_lsrgan_and_ema_evaluation(make_config, tmp_path):
    from jaxrestore.training.runs import load_restorer
    from jaxrestore.train import train_and_evaluate

    small = {**TINY, "train.batch_size": 2, "train.num_steps": 2, "train.checkpoint_every": 2,
             "eval.data": "", "optimizer.eps": 1e-8,
             "data.train": "procedural:deadleaves:count=8:size=128:seed=0"}
    stage1 = tmp_path / "stage1"
    train_and_evaluate(tiny(make_config, "rrdbnet_psnr", **small, **{"train.ema_decay": 0.0}), str(stage1))

    # ESRGAN starts from the stage-1 run (whose encoder it ignores).
    esr = tmp_path / "esr"
    train_and_evaluate(tiny(make_config, "esrgan", **small, init_from=str(stage1)), str(esr))

    # LSRGAN from a generator-only source needs a source for L (or pre-training in the run).
    with pytest.raises(ConfigError, match="init_encoder_from"):
        train_and_evaluate(tiny(make_config, "lsrgan", **small, init_from=str(esr)), str(tmp_path / "x"))

    # The paper's flow: G from ESRGAN, L from stage 1 (learning rates 0: the run keeps its start).
    lsr = tmp_path / "lsr"
    config = tiny(make_config, "lsrgan", **small, init_from=str(esr), init_encoder_from=str(stage1),
                  **{"optimizer.g_lr": 0.0, "optimizer.l_lr": 0.0})
    train_and_evaluate(config, str(lsr))
    from jaxrestore.runtime.checkpoints import load_generator_variables

    stage1_vars, _, _ = load_generator_variables(stage1, which="latest")
    esr_vars, _, _ = load_generator_variables(esr, which="latest")
    after, _, _ = load_generator_variables(lsr, which="latest")
    assert set(after) == {"params", "ema", "encoder"} and set(esr_vars) == {"params", "ema"}
    assert_trees_close(after["encoder"], stage1_vars["encoder"], atol=0, rtol=0)
    assert_trees_close(after["params"], esr_vars["params"], atol=0, rtol=0)
    assert max_gap(esr_vars["params"], stage1_vars["params"]) > 1e-4  # the two sources differ

    # EMA weights are chosen explicitly at evaluation.
    assert max_gap(esr_vars["ema"], esr_vars["params"]) > 0
    x = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    raw, ema = load_restorer(esr, which="latest"), load_restorer(esr, which="latest", ema=True)
    assert raw(x).shape == (32, 32, 3) and not np.array_equal(raw(x), ema(x))
    with pytest.raises(CheckpointError, match="no EMA"):
        load_restorer(stage1, ema=True)


def test_init_from_a_converted_model_of_another_scale_is_refused(make_config, tmp_path):
    import ml_collections

    from jaxrestore.runtime.checkpoints import write_generator_run
    from jaxrestore.models.rrdbnet import RRDBNet
    from jaxrestore.train import train_and_evaluate

    net = RRDBNet(scale=2, features=8, num_blocks=1, growth=4)
    params = net.init(jax.random.key(0), jnp.zeros((1, 8, 8, 3)))["params"]
    converted = ml_collections.ConfigDict({
        "task": {"name": "sr", "scale": 2},
        "model": {"generator": "rrdbnet", "num_blocks": 1, "features": 8, "growth": 4}})
    write_generator_run(tmp_path / "x2", converted, {"params": params})
    config = tiny(make_config, "esrgan", init_from=str(tmp_path / "x2"))
    with pytest.raises(CheckpointError, match="task.scale is 2 there but 4 here"):
        train_and_evaluate(config, str(tmp_path / "run"))
    assert not (tmp_path / "run" / "checkpoints").exists() or not any((tmp_path / "run" / "checkpoints").iterdir())


def test_esrgan_step_with_the_vgg_perceptual_loss(make_config):
    """ESRGAN's eq. (1) with L_percep = the L1 distance of VGG19 conv5_4 features (before the
    ReLU, weight 1): the logged term and G's Adam step, recomputed from the VGG module."""
    from jaxrestore.models.vgg import VGG19

    lam, eta = 0.5, 0.3
    config = tiny(make_config, "esrgan", **{"loss.perceptual": "vgg", "loss.vgg_random_init": True,
                                            "loss.adversarial_weight": lam, "loss.l1_weight": eta,
                                            "data.patch_size": 64, "train.batch_size": 2,
                                            "optimizer.d_lr": 0.3})
    assert config.loss.vgg_layer == "conv5_4" and config.loss.vgg_feature_scale == 1.0
    method = build_method(config)
    batch = batch_for(config, n=2)
    hr, lr_images = batch["target"], batch["degraded"]
    state = method.init(jax.random.key(0), batch)
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, jax.random.key(1))

    def conv5_4(images):
        return VGG19().apply({"params": method.frozen["vgg"]}, images, layers=("conv5_4",))["conv5_4"]

    g = lambda p: method.generator.apply({"params": p}, lr_images, train=True)  # noqa: E731
    target_features = conv5_4(hr)
    percep0 = jnp.mean(jnp.abs(conv5_4(g(state.g.params)) - target_features))
    assert float(metrics["train/perceptual_loss"]) == pytest.approx(float(percep0), rel=1e-4)
    assert float(percep0) > 0

    def g_loss(params):
        out = g(params)
        real, _ = d_forward(method, new.d.params, new.d.batch_stats, hr)
        real = jax.lax.stop_gradient(real)
        fk, _ = d_forward(method, new.d.params, new.d.batch_stats, out)
        adv = 0.5 * (bce_logits(real - jnp.mean(fk), 0.0) + bce_logits(fk - jnp.mean(real), 1.0))
        return jnp.mean(jnp.abs(conv5_4(out) - target_features)) + lam * adv + eta * jnp.mean(jnp.abs(out - hr))

    expected = adam_from_scratch(state.g.params, jgrad(g_loss)(state.g.params), config.optimizer.g_lr)
    assert_trees_close(new.g.params, expected, atol=2e-6)
    # The perceptual term is in the step: without it, G's step differs.
    no_percep = adam_from_scratch(state.g.params, jgrad(lambda p: g_loss(p) - jnp.mean(jnp.abs(
        conv5_4(g(p)) - target_features)))(state.g.params), config.optimizer.g_lr)
    assert max_gap(new.g.params, no_percep) > 1e-5


def test_esrgan_family_run_resumes_exactly(make_config, tmp_path):
    """LSRGAN with stage 1 inside the run, EMA, L and D's BatchNorm statistics: killed after the
    step-2 checkpoint and resumed, it ends where the uninterrupted run ends, leaf for leaf."""
    from jaxrestore.train import train_and_evaluate

    config = tiny(make_config, "lsrgan", **{"train.pretrain_steps": 1, "train.num_steps": 4,
                                            "train.checkpoint_every": 2, "train.ema_decay": 0.9,
                                            "train.batch_size": 2, "data.patch_size": 64, "eval.data": "",
                                            "loss.perceptual": "none",
                                            "data.train": "procedural:deadleaves:count=8:size=64:seed=0"})
    train_and_evaluate(config, str(tmp_path / "straight"))
    config.train.num_steps = 2
    train_and_evaluate(config, str(tmp_path / "resumed"))
    config.train.num_steps = 4
    train_and_evaluate(config, str(tmp_path / "resumed"))
    a, b = checkpoint_state(tmp_path / "straight", 4), checkpoint_state(tmp_path / "resumed", 4)
    assert set(a) >= {"g", "d", "l", "ema"} and a["ema"] is not None and a["l"] is not None
    la, lb = jax.tree_util.tree_leaves_with_path(a), jax.tree_util.tree_leaves_with_path(b)
    assert [k for k, _ in la] == [k for k, _ in lb]
    for (path, x), (_, y) in zip(la, lb):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=jax.tree_util.keystr(path))
    mid = checkpoint_state(tmp_path / "resumed", 2)
    for part in ("ema", ("d", "batch_stats"), ("l", "params")):  # each of them moved after step 2
        x, y = (mid[part], a[part]) if isinstance(part, str) else (mid[part[0]][part[1]], a[part[0]][part[1]])
        assert max_gap(x, y) > 0, part
