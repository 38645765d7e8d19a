"""The 003_* benchmarks end to end at tiny sizes: CSGM/IAGAN batched against one image at a
time (same results, finite figures), and CG on a Gaussian A A^T (our counting loop is JAX's
cg; iterations and condition numbers grow with m/n). Figures only, no timing assertions."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrestore.errors import ConfigError
from jaxrestore.benchmarks.latent import (benchmark_adaptive, benchmark_cg, build_operator, cg_count, marchenko_pastur_condition, print_adaptive_benchmark, print_cg_benchmark)
from jaxrestore.inverse.operators.sensing import GaussianCS


@pytest.mark.parametrize("operator", ["fourier", "gaussian"])
def test_csgm_and_iagan_batched_equal_one_image_at_a_time(operator, capsys):
    r = benchmark_adaptive(images=3, csgm_iterations=3, iagan_iterations=2, restarts=2, features=4, size=16,
                           operator=operator, ratio=0.5, gaussian_matrix="generated", loop_images=2)
    assert r["loop_images"] == 2
    for name in ("csgm", "iagan"):
        assert r[f"{name}_finite"]
        assert r[f"{name}_max_abs_diff"] < 1e-4
        for what in ("compile_s", "loop_compile_s", "batched_s_per_image", "loop_s_per_image"):
            assert math.isfinite(r[f"{name}_{what}"]) and r[f"{name}_{what}"] > 0
    # BEGAN's layout at n = 4, 16x16: linear 64 -> 8x8x4, two blocks of two 3x3 convolutions, out to 3.
    assert r["generator_params"] == (64 * 256 + 256) + 4 * (9 * 4 * 4 + 4) + (9 * 4 * 3 + 3)
    print_adaptive_benchmark(r)
    out = capsys.readouterr().out
    assert "extrapolated" in out and "at 1600 iterations" in out and "at 600 iterations" in out
    assert ("Gaussian" if operator == "gaussian" else "subsampled Fourier") in out


def test_the_gaussian_matrix_is_stored_only_where_asked_or_small():
    key = jax.random.key(0)
    dense, text = build_operator(key, (8, 8, 3), operator="gaussian", ratio=0.5, gaussian_matrix="auto")
    assert dense.matrix is not None and "stored dense" in text
    generated, text = build_operator(key, (8, 8, 3), operator="gaussian", ratio=0.5, gaussian_matrix="generated")
    assert generated.matrix is None and "regenerated" in text
    np.testing.assert_array_equal(generated.dense_matrix(), dense.matrix)
    with pytest.raises(ConfigError, match="unknown operator"):
        build_operator(key, (8, 8, 3), operator="radon")


def test_the_counting_cg_is_jax_cg():
    op = GaussianCS.create(jax.random.key(0), (8, 8, 3), 0.7, dense=True)
    y = op.A(jax.random.normal(jax.random.key(1), (8, 8, 3)))
    normal = lambda u: op.A(op.AT(u))  # noqa: E731
    for maxiter in (3, 1000):
        u, k = cg_count(normal, y, tol=1e-6, maxiter=maxiter)
        expected, _ = jax.scipy.sparse.linalg.cg(normal, y, tol=1e-6, maxiter=maxiter)
        np.testing.assert_allclose(u, expected, rtol=1e-5, atol=1e-6)
        assert int(k) <= maxiter
    assert 3 < int(k) < 1000  # converged before the cap
    assert float(jnp.linalg.norm(normal(u) - y) / jnp.linalg.norm(y)) < 1e-4


def test_cg_iterations_and_condition_numbers_grow_with_the_ratio(capsys):
    r = benchmark_cg(sizes=(8,), ratios=(0.1, 0.5, 0.9, 1.0))
    rows = r["rows"]
    assert [row["m"] for row in rows] == [19, 96, 173, 192]
    iterations = [row["iterations"] for row in rows]
    conditions = [row["condition"] for row in rows]
    assert iterations == sorted(iterations) and iterations[0] < iterations[-1]
    assert conditions == sorted(conditions) and all(c >= 1 for c in conditions)
    assert all(row["iterations"] < row["maxiter"] for row in rows[:3])
    assert all(row["true_residual"] < 1e-4 for row in rows[:3])
    # Below the ratio 1 the measured condition number is of the Marchenko-Pastur limit's order.
    for row in rows[:3]:
        assert 0.2 < row["condition"] / row["mp_condition"] < 5
    assert marchenko_pastur_condition(1.0) == math.inf
    print_cg_benchmark(r)
    assert "Marchenko-Pastur" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="image sides"):
        benchmark_cg(sizes=("big",))
