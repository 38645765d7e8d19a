"""The inverse half's PyTorch comparison (``jaxrestore.benchmark --solver=... --compare=torch``)
times the same work on both sides: the PyTorch networks compute what the JAX ones do on the
same weights, and each PyTorch solver, started where the JAX solver starts, passes through the
same objectives step after step. Uses the real DCGAN32 and faces of ``../shared``."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from jaxrestore.benchmarks import inverse_compare as ic
from jaxrestore.benchmarks import inverse_torch as tref
from jaxrestore.inverse import operators as ops
from jaxrestore.inverse.baselines import dip as dip_module
from jaxrestore.inverse.solvers import CSGMOptions, IAGANOptions, MAPOptions, csgm, iagan, map_search


@pytest.fixture(scope="module")
def prior():
    g_torch, d_torch = tref.load_dcgan32(ic.WEIGHTS)
    g_vars, d_vars = ic.dcgan32_variables(g_torch, d_torch)
    return g_torch, d_torch, g_vars, d_vars


@pytest.fixture(scope="module")
def faces():
    return ic.held_out_faces(2, ic.SIZE)


def test_the_jax_dcgan32_computes_what_the_pytorch_modules_do(prior):
    g_torch, d_torch, g_vars, d_vars = prior
    z = np.random.default_rng(0).uniform(-1, 1, (6, 100)).astype(np.float32)
    with torch.no_grad():
        images = g_torch(torch.from_numpy(z))
        logits = d_torch(images).numpy()
    images = ic.nhwc(images)
    assert images.min() < -0.5 and images.max() > 0.5  # real faces' range, not a constant
    np.testing.assert_allclose(np.asarray(ic.dcgan32_generator(g_vars, jnp.asarray(z))), images, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ic.dcgan32_discriminator(d_vars, jnp.asarray(images))), logits,
                               rtol=1e-4, atol=1e-4)


def test_the_pytorch_twin_of_the_projects_dcgan_computes_what_it_does():
    from jaxrestore.models.dcgan import DCGANDiscriminator, DCGANGenerator

    g, d = DCGANGenerator(features=8), DCGANDiscriminator(features=8)
    g_vars = g.init(jax.random.key(0), jnp.zeros((1, 100)))
    d_vars = d.init(jax.random.key(1), jnp.zeros((1, 64, 64, 3)))
    # weights far from N(0, 0.02) and BatchNorm statistics far from (0, 1), so every layer shows in the output
    rng = np.random.default_rng(2)

    def spread(tree, scale):
        return jax.tree.map(lambda a: jnp.asarray(rng.normal(0.0, scale, a.shape), jnp.float32), tree)

    g_vars = {"params": spread(g_vars["params"], 0.3),
              "batch_stats": jax.tree.map(lambda a: jnp.asarray(rng.uniform(0.5, 2.0, a.shape), jnp.float32),
                                          g_vars["batch_stats"])}
    d_vars = {"params": spread(d_vars["params"], 0.3),
              "batch_stats": jax.tree.map(lambda a: jnp.asarray(rng.uniform(0.5, 2.0, a.shape), jnp.float32),
                                          d_vars["batch_stats"])}
    g_torch, d_torch = tref.dcgan_from_flax(g_vars, d_vars, features=8)
    z = rng.normal(size=(3, 100)).astype(np.float32)
    expected = np.asarray(g.apply(g_vars, jnp.asarray(z), train=False))
    assert expected.std() > 0.3  # not saturated at 0 or at +-1 everywhere
    with torch.no_grad():
        np.testing.assert_allclose(ic.nhwc(g_torch(torch.from_numpy(z))), expected, atol=1e-4)
        x = rng.uniform(-1, 1, (3, 64, 64, 3)).astype(np.float32)
        logits = d_torch(ic.nchw(x)).numpy()
    expected = np.asarray(d.apply(d_vars, jnp.asarray(x), train=False))
    assert np.ptp(expected) > 0.1  # the images give different logits
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4)


def test_the_operators_twins_match(faces):
    for op in (ops.bicubic_downsample((32, 32, 3), 4),
               ops.Mask.create(ops.weighted_mask(ops.centre_hole_mask(32, 32, 16), 7), (32, 32, 3))):
        expected = np.asarray(op.A(jnp.asarray(faces)))
        np.testing.assert_allclose(ic.nhwc(ic.torch_operator(op)(ic.nchw(faces))), expected, atol=1e-5)


def test_csgm_in_pytorch_passes_through_the_objectives_of_the_jax_solver(prior, faces):
    g_torch, _, g_vars, _ = prior
    options = CSGMOptions(z_dim=100, iterations=8, lr=0.1, restarts=3, init="uniform")
    op = ops.bicubic_downsample((32, 32, 3), 4)
    y = op.A(jnp.asarray(faces))
    keys = jax.random.split(jax.random.key(3), 2)
    result = csgm(ic.dcgan32_generator, g_vars, op, y, keys, options)
    starts = torch.from_numpy(ic.csgm_starts(keys, options).copy())
    for i in range(2):
        z, value, history = tref.csgm(g_torch, ic.torch_operator(op), ic.nchw(y)[i:i + 1], starts[i],
                                      iterations=options.iterations, lr=options.lr)
        # the chosen restart's objectives fall (the search moves) and agree step by step
        assert history[-1] < 0.5 * history[0]
        np.testing.assert_allclose(history, np.asarray(result.history[i]), rtol=2e-3)
        np.testing.assert_allclose(value, float(result.objective[i]), rtol=2e-3)
        np.testing.assert_allclose(z.numpy(), np.asarray(result.z[i]), atol=2e-3)


def test_iagan_in_pytorch_passes_through_the_objectives_of_the_jax_solver(prior, faces):
    g_torch, _, g_vars, _ = prior
    options = IAGANOptions(iterations=6, lr_z=1e-3, lr_theta=1e-3)
    op = ops.bicubic_downsample((32, 32, 3), 4)
    y = op.A(jnp.asarray(faces))
    z_hat = jax.random.uniform(jax.random.key(4), (2, 100), minval=-1, maxval=1)
    result = iagan(ic.dcgan32_generator, g_vars, op, y, z_hat, options)
    before = [p.detach().clone() for p in g_torch.parameters()]
    for i in range(2):
        image, value, history = tref.iagan(g_torch, ic.torch_operator(op), ic.nchw(y)[i:i + 1],
                                           torch.from_numpy(np.asarray(z_hat[i])), iterations=options.iterations,
                                           lr_z=options.lr_z, lr_theta=options.lr_theta)
        assert history[-1] < 0.7 * history[0]
        np.testing.assert_allclose(history, np.asarray(result.history[i]), rtol=2e-3)
        np.testing.assert_allclose(ic.nhwc(image), np.asarray(result.image[i]), atol=2e-3)
    # the caller's generator is not adapted
    assert all(torch.equal(a, b) for a, b in zip(before, g_torch.parameters()))


def test_map_in_pytorch_passes_through_the_objectives_of_the_jax_solver(prior, faces):
    g_torch, d_torch, g_vars, d_vars = prior
    options = MAPOptions(z_dim=100, iterations=10, lr=3e-3, prior_weight=0.2, init="uniform")
    op = ops.Mask.create(ops.weighted_mask(ops.centre_hole_mask(32, 32, 16), 7), (32, 32, 3))
    y = op.A(jnp.asarray(faces))
    keys = jax.random.split(jax.random.key(5), 2)
    result = map_search(ic.dcgan32_generator, g_vars, ic.dcgan32_discriminator, d_vars, op, y, keys, options)
    starts = ic.csgm_starts(keys, CSGMOptions(z_dim=100, restarts=1, init="uniform"))
    for i in range(2):
        z, value, history = tref.map_search(g_torch, d_torch, ic.torch_operator(op), ic.nchw(y)[i:i + 1],
                                            torch.from_numpy(starts[i, 0].copy()), iterations=options.iterations,
                                            lr=options.lr, momentum=options.momentum,
                                            prior_weight=options.prior_weight)
        assert history[-1] < history[0]
        np.testing.assert_allclose(history, np.asarray(result.history[i]), rtol=1e-3)
        np.testing.assert_allclose(z.numpy(), np.asarray(result.z[i]), atol=1e-3)
        assert np.abs(z.numpy()).max() <= 1.0  # the released clip


def test_dip_in_pytorch_is_the_same_network_and_the_same_steps():
    options = dip_module.DIPOptions(iterations=4, channels=8, skip=2, scales=5, reg_noise_std=0.0)
    truth = (ic.held_out_faces(1, ic.DIP_SIZE) + 1.0) / 2.0
    op = ops.bicubic_downsample((ic.DIP_SIZE, ic.DIP_SIZE, 3), 4)
    y = op.A(jnp.asarray(truth))[0]
    key = jax.random.key(6)
    net = dip_module.dip_network(options, 3)
    params, z, _ = dip_module.init_image(net, options.input_channels, options.input_scale, key,
                                         (ic.DIP_SIZE, ic.DIP_SIZE), jnp.float32)
    model = tref.skipnet_from_flax(params, scales=5, channels=8, skip=2, inputs=options.input_channels)
    with torch.no_grad():
        np.testing.assert_allclose(ic.nhwc(model.train()(ic.nchw(z))), np.asarray(net.apply({"params": params}, z)),
                                   atol=1e-5)
    result = dip_module.dip_restore(op, y, key, options)
    image, losses = tref.dip(model, ic.torch_operator(op), ic.nchw(y[None]), ic.nchw(z),
                             iterations=options.iterations, lr=options.lr, reg_noise_std=0.0)
    assert losses[-1] < losses[0]
    # In float32 the loss after the first step agrees to rounding. Adam's first step moves every weight by
    # about lr in the direction of its gradient's sign, and the gradients that BatchNorm cancels in exact
    # arithmetic (conv biases in front of it) are rounding noise of either sign on the two sides
    # (jaxrestore/inverse/baselines/dip.py), so later float32 steps drift apart (0.6 % by step 3 here);
    # they are compared in float64 below.
    np.testing.assert_allclose(losses[:2], np.asarray(result.loss[:2]), rtol=1e-4)
    assert image.shape == (3, ic.DIP_SIZE, ic.DIP_SIZE)


def test_dip_in_pytorch_takes_the_same_steps_in_float64():
    with jax.enable_x64(True):
        options = dip_module.DIPOptions(iterations=6, channels=8, skip=2, scales=5, reg_noise_std=0.0)
        truth = (ic.held_out_faces(1, ic.DIP_SIZE).astype(np.float64) + 1.0) / 2.0
        op = ops.bicubic_downsample((ic.DIP_SIZE, ic.DIP_SIZE, 3), 4)
        y = op.A(jnp.asarray(truth))[0]
        key = jax.random.key(6)
        net = dip_module.dip_network(options, 3, dtype=jnp.float64)
        params, z, _ = dip_module.init_image(net, options.input_channels, options.input_scale, key,
                                             (ic.DIP_SIZE, ic.DIP_SIZE), jnp.float64)
        result = dip_module.dip_restore(op, y, key, options)
        assert result.loss.dtype == jnp.float64
    model = tref.skipnet_from_flax(params, scales=5, channels=8, skip=2, inputs=options.input_channels).double()
    rows, cols = (torch.from_numpy(m) for m in op.matrices())  # float64 matrices

    def nchw64(a):
        return torch.from_numpy(np.ascontiguousarray(np.asarray(a, np.float64).transpose(0, 3, 1, 2)))

    image, losses = tref.dip(model, lambda x: torch.einsum("ih,nchw,jw->ncij", rows, x, cols), nchw64(y[None]),
                             nchw64(z), iterations=options.iterations, lr=options.lr, reg_noise_std=0.0)
    assert losses[-1] < 0.7 * losses[0]
    # measured: 1e-4 relative by step 6 (the same amplification as in float32, from 1e-16 instead of 1e-7)
    np.testing.assert_allclose(losses, np.asarray(result.loss), rtol=1e-3)
    np.testing.assert_allclose(image.numpy().transpose(1, 2, 0), np.asarray(result.image), atol=2e-2)


def test_the_command_prints_the_side_by_side_table():
    proc = subprocess.run([sys.executable, "-m", "jaxrestore.benchmark", "--solver=iagan,map", "--compare=torch",
                           "--images=1", "--iteration_scale=0.003"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    # iagan needs csgm's latents, so csgm runs too: a header, then one row per phase
    assert table[0].startswith("| phase |")
    assert [row.split(":")[0] for row in table[1:]] == ["| csgm", "| iagan", "| map"]
    for row in table[1:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        jax_psnr, torch_psnr = (float(v) for v in cells[-1].split("/"))
        assert abs(jax_psnr - torch_psnr) < 0.05  # the same work, so the same result


@pytest.mark.parametrize("args, message", [
    (["--solver=csgm,tv", "--compare=torch"], "--compare=torch times the solvers csgm, iagan, map, dip; got 'tv'."),
    (["--solver=map,cg"], "without --compare=torch give one of map, iagan, cg, baselines"),
])
def test_wrong_solver_lists_are_one_line(args, message):
    proc = subprocess.run([sys.executable, "-m", "jaxrestore.benchmark", *args], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0 and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_settings_are_the_papers_counts():
    s = ic.settings()
    assert (s["csgm"].iterations, s["csgm"].restarts, s["iagan"].iterations, s["map"].iterations,
            s["dip"].iterations) == (1600, 5, 500, 3000, 2000)
    assert dataclasses.replace(s["dip"], iterations=1).reg_noise_std == 0.03
    assert ic.settings(0.01)["csgm"].iterations == 16
