"""CSGM, IAGAN and back-projection (003_*): the joint gradient against finite differences,
the two Adam optimisers' first step, best-iterate tracking, batched equals per-image, and
back-projection's two properties (consistency with y, the null-space part kept), and the solvers
in segments equal to one scan."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrestore.errors import ConfigError
from jaxrestore.inverse import operators as ops
from jaxrestore.inverse.solvers import (CSGMOptions, IAGANOptions, MAPOptions, back_project, csgm, csgm_segments,
                                        data_term, iagan, iagan_optimizer, iagan_segments, map_search, map_segments,
                                        segment_lengths)
from jaxrestore.inverse.operators.sensing import GaussianCS, SubsampledFourier, fourier_mask
from jaxrestore.inverse.solvers.skeleton import image_arguments

Z, H = 8, 16


def toy_prior(key):
    """A two-layer generator z (N, 8) -> 16x16x3 in [-1, 1], variables in a 'params'
    collection plus a fixed 'stats' collection that IAGAN must leave alone."""
    k1, k2 = jax.random.split(key)
    variables = {"params": {"w1": jax.random.normal(k1, (Z, 64)) / np.sqrt(Z) * 2.0,
                            "w2": jax.random.normal(k2, (64, H * H * 3)) / np.sqrt(64) * 1.5},
                 "stats": {"shift": jnp.full((H * H * 3,), 0.05)}}

    def g(v, z):
        p = v["params"]
        return jnp.tanh(jax.nn.relu(z @ p["w1"]) @ p["w2"] + v["stats"]["shift"]).reshape(z.shape[0], H, H, 3)

    return g, variables


def _targets(key, n):
    """Images *outside* the range of the toy G: smooth random fields in [-0.9, 0.9]."""
    coarse = jax.random.uniform(key, (n, 4, 4, 3), minval=-0.9, maxval=0.9)
    return jax.image.resize(coarse, (n, H, H, 3), "linear")


def test_joint_gradient_in_z_and_theta_equals_finite_differences():
    with jax.enable_x64(True):
        g, variables = toy_prior(jax.random.key(0))
        variables = jax.tree.map(lambda a: a.astype(jnp.float64), variables)
        op = GaussianCS.create(jax.random.key(1), (H, H, 3), 0.3, dense=True)
        y = op.A(_targets(jax.random.key(2), 1)[0].astype(jnp.float64))
        term = data_term(g, op, y)

        def f(p):
            return term({"stats": variables["stats"], "params": p["theta"]}, p["z"])

        p = {"z": jnp.linspace(-0.5, 0.5, Z), "theta": variables["params"]}
        grad = jax.grad(f)(p)
        for seed in range(3):
            leaves, treedef = jax.tree.flatten(p)
            keys = jax.random.split(jax.random.key(10 + seed), len(leaves))
            direction = treedef.unflatten([jax.random.normal(k, x.shape, x.dtype) for k, x in zip(keys, leaves)])
            eps = 1e-6
            plus = jax.tree.map(lambda a, d: a + eps * d, p, direction)
            minus = jax.tree.map(lambda a, d: a - eps * d, p, direction)
            numeric = (float(f(plus)) - float(f(minus))) / (2 * eps)
            analytic = sum(float(jnp.vdot(a, d)) for a, d in zip(jax.tree.leaves(grad), jax.tree.leaves(direction)))
            assert analytic == pytest.approx(numeric, rel=1e-6)
        assert float(jnp.abs(grad["z"]).max()) > 0 and float(jnp.abs(grad["theta"]["w1"]).max()) > 0


def test_first_step_is_adam_with_two_learning_rates_and_frozen_leaves_stay():
    theta = {"conv": {"kernel": jnp.ones((3, 3)), "scale": jnp.ones(())}}
    tx = iagan_optimizer(IAGANOptions(lr_z=1e-2, lr_theta=1e-3, freeze=("scale",)), theta)
    p = {"z": jnp.zeros(4), "theta": theta}
    grad = {"z": jnp.asarray([1.0, -2.0, 0.5, 3.0]),
            "theta": {"conv": {"kernel": jnp.full((3, 3), -4.0), "scale": jnp.asarray(5.0)}}}
    updates, _ = tx.update(grad, tx.init(p), p)
    # Adam's first step is -lr * g / (|g| + eps) = -lr * sign(g) (bias-corrected moments); the
    # float32 bias correction 1 - 0.999 = 0.00100005 moves it by ~1e-5 relative.
    np.testing.assert_allclose(np.asarray(updates["z"]), -1e-2 * np.sign(np.asarray(grad["z"])), rtol=1e-4)
    np.testing.assert_allclose(np.asarray(updates["theta"]["conv"]["kernel"]), np.full((3, 3), 1e-3), rtol=1e-4)
    assert float(updates["theta"]["conv"]["scale"]) == 0.0


def test_best_iterate_is_the_minimum_of_the_recorded_objective_and_last_iterate_is_the_last():
    g, variables = toy_prior(jax.random.key(3))
    op = ops.Identity(shape=(H, H, 3))
    y = _targets(jax.random.key(4), 2)
    # a large lr makes the objective oscillate, so best and last differ
    best = csgm(g, variables, op, y, jax.random.key(5), CSGMOptions(z_dim=Z, iterations=40, lr=0.5, restarts=1))
    last = csgm(g, variables, op, y, jax.random.key(5),
                CSGMOptions(z_dim=Z, iterations=40, lr=0.5, restarts=1, keep_best_iterate=False))
    for i in range(2):
        history = np.asarray(best.history[i])
        final = float(jnp.sum((y[i] - last.image[i]) ** 2))
        assert float(last.objective[i]) == pytest.approx(final, rel=1e-5)
        assert float(best.objective[i]) == pytest.approx(min(history.min(), final), rel=1e-6)
        assert float(best.objective[i]) == pytest.approx(float(jnp.sum((y[i] - best.image[i]) ** 2)), rel=1e-5)
    assert float(jnp.max(last.objective - best.objective)) > 0  # tracking mattered here


def test_batched_csgm_and_iagan_equal_per_image_runs():
    g, variables = toy_prior(jax.random.key(6))
    op = SubsampledFourier.create((H, H, 3), fourier_mask(H, H, 0.4, seed=2))
    x = _targets(jax.random.key(7), 3)
    y = op.A(x)
    copt = CSGMOptions(z_dim=Z, iterations=30, restarts=2)
    iopt = IAGANOptions(iterations=20, lr_z=1e-3, lr_theta=1e-3)
    key = jax.random.key(8)
    run = jax.jit(lambda yy, k: csgm(g, variables, op, yy, k, copt))
    batched = run(y, key)
    adapted = jax.jit(lambda yy, zz: iagan(g, variables, op, yy, zz, iopt))(y, batched.z)
    keys = jax.random.split(key, 3)
    for i in range(3):
        single = run(y[i:i + 1], keys[i:i + 1])
        np.testing.assert_allclose(np.asarray(single.z[0]), np.asarray(batched.z[i]), rtol=1e-5, atol=1e-6)
        one = jax.jit(lambda yy, zz: iagan(g, variables, op, yy, zz, iopt))(y[i:i + 1], batched.z[i:i + 1])
        np.testing.assert_allclose(np.asarray(one.image[0]), np.asarray(adapted.image[i]), rtol=1e-5, atol=1e-5)


def test_iagan_fits_an_image_outside_the_range_better_than_csgm():
    g, variables = toy_prior(jax.random.key(9))
    op = GaussianCS.create(jax.random.key(10), (H, H, 3), 0.5)
    x = _targets(jax.random.key(11), 2)
    y = op.A(x)
    found = csgm(g, variables, op, y, jax.random.key(12), CSGMOptions(z_dim=Z, iterations=200, restarts=3))
    adapted = iagan(g, variables, op, y, found.z, IAGANOptions(iterations=200, lr_z=1e-3, lr_theta=1e-3))
    for i in range(2):
        assert float(adapted.objective[i]) < 0.5 * float(found.objective[i])
        assert float(jnp.mean((adapted.image[i] - x[i]) ** 2)) < float(jnp.mean((found.image[i] - x[i]) ** 2))
        np.testing.assert_allclose(np.asarray(adapted.history[i, 0]), np.asarray(found.objective[i]), rtol=1e-4)


@pytest.mark.parametrize("name", ["fourier", "gaussian", "bicubic"])
def test_back_projection_is_consistent_with_y_and_keeps_the_null_space_part(name):
    with jax.enable_x64(True):
        shape = (16, 16, 3)
        op = {"fourier": lambda: SubsampledFourier.create(shape, fourier_mask(16, 16, 0.3, seed=3)),
              "gaussian": lambda: GaussianCS.create(jax.random.key(13), shape, 0.3, dense=True),
              "bicubic": lambda: ops.bicubic_downsample(shape, 4)}[name]()
        rng = np.random.default_rng(14)
        x, x_hat = (jnp.asarray(rng.uniform(-1, 1, size=(2,) + shape)) for _ in range(2))
        y = op.A(x)
        x_bp, residual = back_project(op, x_hat, y, tol=1e-12, maxiter=2000)
        gap = jnp.linalg.norm((op.A(x_bp) - y).reshape(2, -1), axis=1) / jnp.linalg.norm(y.reshape(2, -1), axis=1)
        assert float(gap.max()) < 1e-9 and float(residual.max()) < 1e-9
        # The null-space component, (I - A^+ A) x, by NumPy's dense pseudo-inverse.
        dense = np.stack([np.asarray(op.A(jnp.asarray(e.reshape(shape)))).ravel() for e in np.eye(768)], 1)
        projector = np.eye(768) - np.linalg.pinv(dense, rcond=1e-10) @ dense  # rank-deficient rows
        flat = lambda a: np.asarray(a).reshape(2, -1)  # noqa: E731
        np.testing.assert_allclose(flat(x_bp) @ projector.T, flat(x_hat) @ projector.T, atol=1e-8)
        np.testing.assert_allclose(flat(x_bp) - flat(x_bp) @ projector.T, flat(x) - flat(x) @ projector.T, atol=1e-8)


@pytest.mark.parametrize("options,words", [(CSGMOptions(iterations=0), "csgm.iterations"),
                                           (CSGMOptions(lr=-1.0), "csgm.lr"),
                                           (CSGMOptions(init="zeros"), "unknown z initialisation"),
                                           (IAGANOptions(lr_theta=0.0), "iagan.lr_theta"),
                                           (IAGANOptions(collections=()), "no generator weight")])
def test_bad_options_are_one_clear_error(options, words):
    with pytest.raises(ConfigError, match=words):
        options.check()


def _in_segments(solver, args, lengths):
    """``solver`` (a Segmented) over ``lengths`` of iterations, each part compiled."""
    carry = jax.jit(solver.start)(*args)
    for length in lengths:
        carry = jax.jit(functools.partial(solver.steps, length=length))(*args, carry)
    return jax.jit(solver.end)(*args, carry)


@pytest.mark.parametrize("iterations,target,expected", [
    (1600, 25, [25] * 64), (600, 25, [25] * 24), (1000, 25, [25] * 40), (601, 25, [25] * 24 + [1]),
    (60, 25, [20] * 3), (10, 25, [10]), (1, 25, [1]),
])
def test_segment_lengths_add_up_and_stay_within_the_target(iterations, target, expected):
    lengths = segment_lengths(iterations, target)
    assert lengths == expected and sum(lengths) == iterations and max(lengths) <= target


def test_the_solvers_in_segments_equal_one_scan():
    g, variables = toy_prior(jax.random.key(20))
    op = GaussianCS.create(jax.random.key(21), (H, H, 3), 0.4)
    y = jax.vmap(op.A)(_targets(jax.random.key(22), 3))
    keys = jax.random.split(jax.random.key(23), 3)
    # CSGM, restarts and a clip: segments of any lengths equal one segment bit for bit (the same
    # step, compiled apart), and csgm()'s one program to float32 rounding (equal bit for bit here)
    options = CSGMOptions(z_dim=Z, iterations=60, lr=0.05, restarts=3, clip=1.0)
    one = jax.jit(lambda yy, kk: csgm(g, variables, op, yy, kk, options))(y, keys)
    whole = _in_segments(csgm_segments(g, options), (variables, op, y, keys), [60])
    for lengths in ([20, 20, 20], [25, 25, 10]):
        for a, b in zip(_in_segments(csgm_segments(g, options), (variables, op, y, keys), lengths), whole):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, b in zip(whole, (one.z, one.image, one.objective)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
    # IAGAN from CSGM's z: segments equal one segment bit for bit, and iagan() to float32 rounding
    # (its one program fuses the last step with the output, measured 9e-8 on the images)
    i_options = IAGANOptions(iterations=40, lr_z=1e-3, lr_theta=1e-3)
    whole = _in_segments(iagan_segments(g, variables, i_options), (variables, op, y, one.z), [40])
    split = _in_segments(iagan_segments(g, variables, i_options), (variables, op, y, one.z), [10, 10, 10, 10])
    for a, b in zip(whole, split):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    direct = jax.jit(lambda vv, yy, zz: iagan(g, vv, op, yy, zz, i_options))(variables, y, one.z)
    np.testing.assert_allclose(np.asarray(split[1]), np.asarray(direct.image), rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(split[2]), np.asarray(direct.objective), rtol=1e-6)
    # MAP with the discriminator term and the best iterate kept
    d_params = jax.random.normal(jax.random.key(24), (H * H * 3,)) * 0.01
    d = lambda p, images: jnp.tanh(images.reshape(images.shape[0], -1) @ p)  # noqa: E731
    m_options = MAPOptions(z_dim=Z, iterations=50, lr=3e-4, prior_weight=0.2, restarts=2, keep_best_iterate=True)
    identity = ops.Identity(shape=(H, H, 3))
    y_map = jax.vmap(identity.A)(_targets(jax.random.key(25), 3))
    one_map = jax.jit(lambda yy, kk: map_search(g, variables, d, d_params, identity, yy, kk, m_options))(y_map, keys)
    args = (variables, d_params, identity, y_map, keys)
    split = _in_segments(map_segments(g, d, m_options), args, segment_lengths(50, 20))
    for a, b in zip(split, _in_segments(map_segments(g, d, m_options), args, [50])):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, b in zip(split, (one_map.z, one_map.image, one_map.objective)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)


def conv_prior(key):
    """A small convolutional generator z (N, 8) -> 8x8x3: with per-image weights its convolution is
    where vmap and map differ (a grouped convolution against one per image)."""
    k1, k2 = jax.random.split(key)
    variables = {"params": {"w": jax.random.normal(k1, (Z, 4 * 4 * 6)) / np.sqrt(Z),
                            "k": jax.random.normal(k2, (3, 3, 6, 3)) / np.sqrt(54) * 2.0}}

    def g(v, z):
        x = jax.nn.relu(z @ v["params"]["w"]).reshape(z.shape[0], 4, 4, 6)
        x = jax.lax.conv_general_dilated(x, v["params"]["k"], (1, 1), [(1, 2), (1, 2)], lhs_dilation=(2, 2),
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return jnp.tanh(x)

    return g, variables


def _primitives(jaxpr) -> set[str]:
    """The names of every primitive in a jaxpr, sub-programs included."""
    found = set()
    for eqn in jaxpr.eqns:
        found.add(eqn.primitive.name)
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    found |= _primitives(inner)
    return found


def _conv_groups(jaxpr) -> list[int]:
    """The feature-group counts of every convolution in a jaxpr, sub-programs (scan, map, jit) included."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "conv_general_dilated":
            found.append(eqn.params["feature_group_count"] * eqn.params["batch_group_count"])
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    found += _conv_groups(inner)
    return found


@pytest.mark.parametrize("per_image_operator", [False, True])
def test_iagan_image_batching_strategies_agree(per_image_operator):
    g, variables = conv_prior(jax.random.key(30))
    n = 3
    clean = g(variables, jax.random.uniform(jax.random.key(31), (n, Z), minval=-1, maxval=1)) * 0.8
    if per_image_operator:  # a mask per image: the operator is mapped with its image
        masks = (jax.random.uniform(jax.random.key(32), (n, 8, 8, 1)) > 0.3).astype(jnp.float32)
        op = jax.vmap(ops.Mask.create)(masks)
        y = jax.vmap(lambda o, x: o.A(x))(op, clean)
    else:
        op = ops.bicubic_downsample((8, 8, 3), 2)
        y = jax.vmap(op.A)(clean)
    z0 = jax.random.uniform(jax.random.key(33), (n, Z), minval=-1, maxval=1)
    results = {}
    for batching in ("vmap", "map", "loop"):
        options = IAGANOptions(iterations=30, lr_z=1e-2, lr_theta=1e-2, batching=batching)
        solve = lambda yy, zz, o=options: iagan(g, variables, op, yy, zz, o,  # noqa: E731
                                                per_image_operator=per_image_operator)
        # loop runs from the host, so not under jit (where it runs as map)
        results[batching] = solve(y, z0) if batching == "loop" else jax.jit(solve)(y, z0)
    a = results["vmap"]
    for b in (results["map"], results["loop"]):
        np.testing.assert_allclose(np.asarray(b.image), np.asarray(a.image), rtol=0, atol=1e-5)
        np.testing.assert_allclose(np.asarray(b.z), np.asarray(a.z), rtol=0, atol=1e-5)
        np.testing.assert_allclose(np.asarray(b.objective), np.asarray(a.objective), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(np.asarray(b.history), np.asarray(a.history), rtol=1e-5, atol=1e-7)
    # IAGAN moved the images (30 steps at lr 1e-2): the agreement is not that of two unchanged starts
    start = g(variables, z0)
    assert float(jnp.max(jnp.abs(a.image - start))) > 1e-2


def test_iagan_in_segments_uses_the_chosen_image_batching_and_agrees():
    g, variables = conv_prior(jax.random.key(40))
    n = 2
    op = ops.bicubic_downsample((8, 8, 3), 2)
    y = jax.vmap(op.A)(g(variables, jax.random.uniform(jax.random.key(41), (n, Z), minval=-1, maxval=1)) * 0.8)
    z0 = jax.random.uniform(jax.random.key(42), (n, Z), minval=-1, maxval=1)
    outs, groups = {}, {}
    for batching in ("vmap", "map"):
        solver = iagan_segments(g, variables, IAGANOptions(iterations=20, lr_z=1e-2, lr_theta=1e-2, batching=batching))
        assert solver.image_step is None
        carry = solver.start(variables, op, y, z0)
        jaxpr = jax.make_jaxpr(lambda c: solver.steps(variables, op, y, z0, c, length=2))(carry)
        groups[batching] = _conv_groups(jaxpr.jaxpr)
        outs[batching] = _in_segments(solver, (variables, op, y, z0), [5, 15])
    # vmap over per-image weights makes grouped convolutions (one group per image); map keeps plain ones
    assert groups["vmap"] and max(groups["vmap"]) == n
    assert groups["map"] and set(groups["map"]) == {1}
    for a, b in zip(outs["vmap"], outs["map"]):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-5)
    # loop: the experiments' segment runner calls one image's step, which holds plain convolutions and
    # no loop (no scan, map or while), from the host
    from jaxrestore.inverse.experiments.chunks import _Segments
    solver = iagan_segments(g, variables, IAGANOptions(iterations=20, lr_z=1e-2, lr_theta=1e-2, batching="loop"))
    args = (variables, op, y, z0)
    image_args = image_arguments(args, solver.in_axes, 0)
    image_carry = jax.tree.map(lambda leaf: leaf[0], solver.start(*args))
    step_jaxpr = jax.make_jaxpr(solver.image_step)(*image_args, image_carry)
    assert set(_conv_groups(step_jaxpr.jaxpr)) == {1}
    assert not {"scan", "while"} & _primitives(step_jaxpr.jaxpr)
    program = _Segments(solver, args)
    assert not hasattr(program.steps[program.lengths[0]], "lower")  # a host function, not one compiled program
    carry = program.start(*args)
    for length in program.lengths:
        carry = program.steps[length](*args, carry)
    for a, b in zip(outs["vmap"], program.end(*args, carry)):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-5)
    # on a CPU "auto" is loop, and the experiments' default is auto
    from configs import iagan as iagan_config
    from jaxrestore.inverse.solvers.iagan import image_batching
    assert jax.default_backend() == "cpu" and image_batching("auto") == "loop"
    assert iagan_config.get_config("task=sr").iagan.batching == "auto"
    with pytest.raises(ConfigError, match="iagan.batching must be one of auto, vmap, map, loop, got 'pmap'"):
        IAGANOptions(batching="pmap").check()
