"""train.compute_dtype=bfloat16 stays near the float32 step; model.remat changes memory, not numbers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrestore.benchmarks.training import random_batch
from jaxrestore.errors import ConfigError
from jaxrestore.training.methods import build_method


def one_step(config):
    method = build_method(config)
    batch = random_batch(config, jax.random.key(1))
    state = method.init(jax.random.key(0), batch)
    new, metrics = jax.jit(method.train_step)(method.frozen, state, batch, jax.random.key(2))
    return state, new, {k: float(v) for k, v in metrics.items()}


def update(before, after) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(a) - np.asarray(b))
                           for a, b in zip(jax.tree.leaves(after.g.params), jax.tree.leaves(before.g.params))])


# The stated tolerance of a bfloat16 step (8-bit mantissa, relative rounding 2^-9 per operation,
# accumulated through the networks at initialisation): every loss within 10 % (+1e-3) of the
# float32 step's, and for steps led by their fidelity loss G's update (Adam's first step, the
# sign of the gradient) pointing the same way, cosine >= 0.8 (measured: SRResNet 0.99, LSRGAN 0.90).
LOSS_RTOL, LOSS_ATOL, MIN_COSINE = 0.10, 1e-3, 0.8


@pytest.mark.parametrize("name,overrides,check_direction", [
    ("srresnet", {}, True),
    ("srgan", {"loss.fidelity": "vgg", "loss.vgg_random_init": True}, False),  # led by D's random start
    ("lsrgan", {"loss.perceptual": "vgg", "loss.vgg_random_init": True, "data.patch_size": 32}, True),
])
def test_a_bfloat16_step_stays_within_the_stated_tolerance_of_float32(make_config, name, overrides,
                                                                      check_direction):
    results = {}
    for dtype in ("float32", "bfloat16"):
        config = make_config(name, **overrides, **{"train.compute_dtype": dtype, "model.features": 16,
                                                    "model.num_blocks": 2})
        results[dtype] = one_step(config)
    (start, f32, m32), (_, b16, m16) = results["float32"], results["bfloat16"]
    losses = [k for k in m32 if k.endswith("_loss")]
    assert losses
    for k in losses:
        assert abs(m16[k] - m32[k]) <= LOSS_RTOL * abs(m32[k]) + LOSS_ATOL, (k, m32[k], m16[k])
    assert m16["train/g_loss"] != m32["train/g_loss"]  # bfloat16 did run
    # Parameters and optimizer state stay float32.
    assert {x.dtype for x in jax.tree.leaves((b16.g, b16.d)) if jnp.issubdtype(x.dtype, jnp.floating)} == {
        jnp.dtype(jnp.float32)}
    if check_direction:
        a, b = update(start, f32), update(start, b16)
        assert a @ b / np.linalg.norm(a) / np.linalg.norm(b) >= MIN_COSINE


def test_an_unknown_compute_dtype_is_refused(make_config):
    with pytest.raises(ConfigError, match=r"train.compute_dtype='float16' is not one of float32, bfloat16"):
        build_method(make_config("srresnet", **{"train.compute_dtype": "float16"}))


@pytest.mark.parametrize("name,overrides", [
    ("srresnet", {}),  # residual blocks with BatchNorm (the train flag is a static argument)
    ("argan", {}),
    ("rrdbnet_psnr", {"model.encoder": ""}),
])
def test_remat_keeps_parameter_names_and_the_step(make_config, name, overrides):
    plain = one_step(make_config(name, **overrides, **{"model.num_blocks": 2}))
    remat = one_step(make_config(name, **overrides, **{"model.num_blocks": 2, "model.remat": True}))
    (s0, s1, m), (r0, r1, mr) = plain, remat
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(s1.g)]
    assert paths == [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(r1.g)]
    for x, y in zip(jax.tree.leaves(s0.g), jax.tree.leaves(r0.g), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))  # same initialisation
    for x, y in zip(jax.tree.leaves(s1.g), jax.tree.leaves(r1.g), strict=True):  # recomputed, same numbers
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)
    assert m["train/g_loss"] == pytest.approx(mr["train/g_loss"], rel=1e-6)


@pytest.mark.parametrize("num_blocks", [2, 3])
def test_remat_recomputes_each_rrdb_in_the_backward_pass(num_blocks):
    # The program JAX hands to XLA: with remat, the backward pass recomputes each RRDB's forward
    # convolutions but the last (conv5 of its third dense block, whose output the gradient does not
    # need): 3 x 5 - 1 = 14 more convolutions per block. (XLA:CPU then removes the recomputation
    # again -- common-subexpression elimination across the optimisation barriers -- so on a CPU
    # remat changes neither time nor memory; GPU and TPU keep it. See the README.)
    from jaxrestore.models.rrdbnet import RRDBNet

    counts = {}
    x = jnp.zeros((2, 8, 8, 3))
    for remat in (False, True):
        g = RRDBNet(num_blocks=num_blocks, features=8, growth=4, remat=remat)
        params = g.init(jax.random.key(0), x)["params"]
        lowered = jax.jit(jax.grad(lambda p: jnp.sum(g.apply({"params": p}, x) ** 2))).lower(params)
        counts[remat] = lowered.as_text().count("stablehlo.convolution")
    assert counts[True] - counts[False] == 14 * num_blocks, counts
