"""Speed of CSGM and IAGAN (003_*), and conjugate gradients on a Gaussian ``A A^T``.

    python -m jaxrestore.benchmark --solver=iagan [--images=2 --csgm_iterations=4 --iagan_iterations=2]
    python -m jaxrestore.benchmark --solver=iagan --csgm_iterations=1600 --iagan_iterations=600  # the paper's
    python -m jaxrestore.benchmark --solver=cg [--cg_sizes=32]  # 32,64: eigvalsh at m = 12288 is slow

``--solver=iagan``: compressed sensing of B 128x128x3 images at ratio 0.5 (subsampled
Fourier by default, ``--operator=gaussian`` for the Gaussian matrix) with a randomly
initialised BEGAN generator of the 003_* prior's layout (:mod:`jaxrestore.models.began`,
n = 128: the speed of the search does not depend on the weights). CSGM (with its restarts)
and then IAGAN from CSGM's ``z_hat``, each done two ways in one run:

- ``batched``: all B images in one compiled program (``vmap`` over images, ``lax.scan``
  over iterations), the way :mod:`jaxrestore.inverse.solvers` is meant to be called;
- ``loop``: the same solver compiled for one image and called once per image, as the
  official code solves one image at a time.

Both start from the same per-image keys (and IAGAN from the same ``z_hat``), so their
results agree up to floating point. Times per image are extrapolated linearly in the
iteration count to the paper's 1600 (CSGM) and 600 (IAGAN) and printed beside 003_*'s
own figures (~30 s CSGM, ~35 s IAGAN per image, ratio 0.5, RTX 2080 Ti).

On XLA:CPU the scanned solvers run far below the model's speed (jax issue #12868): IAGAN's
joint step is many times slower inside ``lax.scan`` than outside a loop, CSGM's z-only step
less so. In the optimised HLO the backward convolutions inside the loop body keep
non-canonical dimension orders (``f01b_i01o->01bf`` for kernel gradients) that they lose
outside it, the likely cause. Measured figures: docs/papers/003-iagan.md.

``--solver=cg``: for ``A`` the m x n Gaussian matrix of
:class:`~jaxrestore.inverse.operators.sensing.GaussianCS` (n = 3 s^2), the conjugate-gradient
iterations on ``A A^T u = y`` to a relative residual ``tol`` (the stopping rule of
``jax.scipy.sparse.linalg.cg``, which the operator's ``pinv`` calls, in float32 as it
does) as ``m/n -> 1``, beside the Marchenko-Pastur condition number
``((1 + sqrt(r)) / (1 - sqrt(r)))^2`` and the one measured by NumPy's ``eigvalsh``.
"""

from __future__ import annotations

import math
import os
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.operators.sensing import GaussianCS, SubsampledFourier, fourier_mask
from jaxrestore.inverse.solvers import CSGMOptions, IAGANOptions, csgm, iagan
from jaxrestore.models.began import BEGANGenerator

# 003_*, "Inference run-time": CelebA (BEGAN, 128x128), compression ratio 0.5, RTX 2080 Ti.
PAPER = {"csgm_iterations": 1600, "iagan_iterations": 600, "csgm_s": 30.0, "iagan_s": 35.0}
OPERATORS = ("fourier", "gaussian")
GAUSSIAN_MATRIX = ("auto", "dense", "generated")
CG_RATIOS = (0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 1.0)


def _memory_bytes() -> int:
    """The device's memory (GPU/TPU), or the machine's RAM on CPU."""
    stats = jax.devices()[0].memory_stats() or {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"])
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def build_operator(key, shape, *, operator: str = "fourier", ratio: float = 0.5,
                   gaussian_matrix: str = "auto"):
    """``(operator, description)``. ``gaussian_matrix="auto"`` stores the Gaussian matrix
    when it takes at most a quarter of the memory (:func:`_memory_bytes`), else
    regenerates it block by block in every application."""
    if operator == "fourier":
        op = SubsampledFourier.create(shape, fourier_mask(shape[0], shape[1], ratio))
        return op, f"subsampled Fourier, ratio {op.ratio:.3f} ({op.output_shape[0]} frequencies x {shape[2]} channels)"
    if operator != "gaussian":
        raise ConfigError(f"unknown operator {operator!r}; choose one of {', '.join(OPERATORS)}.")
    if gaussian_matrix not in GAUSSIAN_MATRIX:
        raise ConfigError(f"unknown gaussian_matrix {gaussian_matrix!r}; choose one of {', '.join(GAUSSIAN_MATRIX)}.")
    op = GaussianCS.create(key, shape, ratio)
    n = math.prod(shape)
    matrix_bytes = 4 * op.measurements * n
    memory = _memory_bytes()
    dense = gaussian_matrix == "dense" or (gaussian_matrix == "auto" and matrix_bytes <= memory // 4)
    if dense:
        op = op.replace(matrix=op.dense_matrix())
    how = ("stored dense" if dense else f"regenerated in {op._blocks} blocks of {op.block_rows} rows per application")
    return op, (f"Gaussian m x n = {op.measurements} x {n} (ratio {op.ratio:.3f}), {matrix_bytes / 2**30:.2f} GiB "
                f"dense against {memory / 2**30:.0f} GiB memory: {how}")


def _targets(key, count: int, size: int):
    """Smooth random images on the generator's [-1, 1] scale (the speed does not depend on them)."""
    coarse = jax.random.uniform(key, (count, 8, 8, 3), minval=-0.9, maxval=0.9)
    return jax.image.resize(coarse, (count, size, size, 3), "linear")


def _compile(fn, *args):
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - t0


def _timed(compiled, *args):
    t0 = time.perf_counter()
    out = jax.block_until_ready(compiled(*args))
    return out, time.perf_counter() - t0


def _loop(compiled, images: int, args_of):
    """The per-image program called once per image; returns (stacked results, seconds)."""
    outs = []
    t0 = time.perf_counter()
    for i in range(images):
        outs.append(jax.block_until_ready(compiled(*args_of(i))))
    seconds = time.perf_counter() - t0
    return jax.tree.map(lambda *a: jnp.concatenate(a), *outs), seconds


def _xla_memory(compiled) -> dict | None:
    analysis = compiled.memory_analysis()
    if analysis is None:
        return None
    return {"argument": analysis.argument_size_in_bytes, "output": analysis.output_size_in_bytes,
            "temp": analysis.temp_size_in_bytes}


def benchmark_adaptive(*, images: int = 2, csgm_iterations: int = 4, iagan_iterations: int = 2, restarts: int = 5,
                       features: int = 128, size: int = 128, operator: str = "fourier", ratio: float = 0.5,
                       gaussian_matrix: str = "auto", loop_images: int | None = None) -> dict:
    """CSGM then IAGAN on ``images`` observations, batched and one image at a time (module docstring)."""
    if images < 1:
        raise ConfigError(f"--images must be at least 1, got {images}.")
    generator = BEGANGenerator(z_dim=64, features=features, size=size)
    key = jax.random.key(0)
    g_vars = generator.init(key, jnp.zeros((1, 64)))
    generator_fn = lambda v, z: generator.apply(v, z)  # noqa: E731
    shape = (size, size, 3)
    op, op_text = build_operator(jax.random.key(1), shape, operator=operator, ratio=ratio,
                                 gaussian_matrix=gaussian_matrix)
    y = op.A(_targets(jax.random.key(2), images, size))
    keys = jax.random.split(jax.random.key(3), images)  # one per image: batched and loop start alike
    csgm_options = CSGMOptions(z_dim=64, iterations=csgm_iterations, restarts=restarts, init="uniform").check()
    iagan_options = IAGANOptions(iterations=iagan_iterations).check()
    n_loop = images if loop_images is None else max(1, min(loop_images, images))

    def solve_csgm(v, o, yy, kk):
        return csgm(generator_fn, v, o, yy, kk, csgm_options)

    def solve_iagan(v, o, yy, zz):
        return iagan(generator_fn, v, o, yy, zz, iagan_options)

    r = {"images": images, "loop_images": n_loop, "restarts": restarts, "features": features, "size": size,
         "csgm_iterations": csgm_iterations, "iagan_iterations": iagan_iterations, "operator": op_text,
         "generator_params": sum(int(a.size) for a in jax.tree.leaves(g_vars["params"]))}

    def both_ways(name, solve, inputs):
        """``solve(g_vars, op, y, inputs)`` on all images at once, then compiled for one image
        and looped over the first ``n_loop``; records the figures under ``name``."""
        batched, r[f"{name}_compile_s"] = _compile(solve, g_vars, op, y, inputs)
        result, seconds = _timed(batched, g_vars, op, y, inputs)
        single, r[f"{name}_loop_compile_s"] = _compile(solve, g_vars, op, y[:1], inputs[:1])
        looped, loop_seconds = _loop(single, n_loop, lambda i: (g_vars, op, y[i:i + 1], inputs[i:i + 1]))
        r[f"{name}_batched_s_per_image"] = seconds / images
        r[f"{name}_loop_s_per_image"] = loop_seconds / n_loop
        r[f"{name}_max_abs_diff"] = float(jnp.max(jnp.abs(result.image[:n_loop] - looped.image)))
        r[f"{name}_finite"] = bool(jnp.all(jnp.isfinite(result.objective)) and jnp.all(jnp.isfinite(looped.objective)))
        r[f"{name}_memory"], r[f"{name}_loop_memory"] = _xla_memory(batched), _xla_memory(single)
        return result

    z_hat = both_ways("csgm", solve_csgm, keys).z
    both_ways("iagan", solve_iagan, z_hat)  # IAGAN starts from batched CSGM's z_hat, both ways
    r["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    device = jax.devices()[0]
    r["device"] = f"{device.platform}:{device.device_kind}"
    return r


def _mib(n) -> str:
    return "n/a" if n is None else f"{n / 2**20:.1f} MiB"


def print_adaptive_benchmark(r: dict) -> None:
    b, bl = r["images"], r["loop_images"]
    print(f"device              {r['device']}")
    print(f"generator           BEGAN layout, random weights, n = {r['features']}, {r['size']}x{r['size']}x3, "
          f"z of 64 ~ U(-1, 1), {r['generator_params']:,} parameters")
    print(f"operator            {r['operator']}")
    print(f"run                 {b} images batched, {bl} one at a time; CSGM {r['csgm_iterations']} iterations x "
          f"{r['restarts']} restarts (Adam 0.1), IAGAN {r['iagan_iterations']} iterations (Adam 1e-4 on z and theta)")
    for name, paper_iterations in (("csgm", PAPER["csgm_iterations"]), ("iagan", PAPER["iagan_iterations"])):
        label = "CSGM" if name == "csgm" else "IAGAN"
        scale = paper_iterations / r[f"{name}_iterations"]
        batched, loop = r[f"{name}_batched_s_per_image"], r[f"{name}_loop_s_per_image"]
        print(f"{label + ': compile':<20}{r[f'{name}_compile_s']:.1f} s batched, "
              f"{r[f'{name}_loop_compile_s']:.1f} s per-image program")
        print(f"{label + ': s/image':<20}{batched:.2f} batched, {loop:.2f} loop (speed-up {loop / batched:.2f}x "
              "batched over loop)")
        print(f"{label + ': extrapolated':<20}{batched * scale:.0f} s/image batched, {loop * scale:.0f} loop at "
              f"{paper_iterations} iterations (x{scale:g}, linear in iterations)")
        print(f"{label + ': agreement':<20}max |batched - loop| = {r[f'{name}_max_abs_diff']:.2e} on G's [-1, 1] "
              f"scale, objectives finite {r[f'{name}_finite']}")
        mem, one = r[f"{name}_memory"], r[f"{name}_loop_memory"]
        if mem is not None and one is not None:
            per_image = (mem["temp"] - one["temp"]) / (b - 1) if b > 1 else None
            print(f"{label + ': XLA memory':<20}temporaries {_mib(mem['temp'])} batched, {_mib(one['temp'])} one image"
                  + ("" if per_image is None else f"; {_mib(per_image)} per added image")
                  + f"; arguments {_mib(mem['argument'])}")
    total = (r["csgm_batched_s_per_image"] * PAPER["csgm_iterations"] / r["csgm_iterations"]
             + r["iagan_batched_s_per_image"] * PAPER["iagan_iterations"] / r["iagan_iterations"])
    print(f"CSGM + IAGAN        {total:.0f} s/image batched, extrapolated (IAGAN starts from CSGM's z_hat)")
    theta = 4 * r["generator_params"]
    print(f"IAGAN theta         {_mib(theta)} per copy (float32); each image carries 4 copies in the scan "
          f"(current, best, Adam's two moments) = {_mib(4 * theta)}, plus a gradient")
    print(f"003_* reference     ~{PAPER['csgm_s']:.0f} s CSGM, ~{PAPER['iagan_s']:.0f} s IAGAN per 128x128 image "
          "(RTX 2080 Ti, ratio 0.5; the IAGAN figure reads as CSGM + the IA phase)")
    print(f"peak process RSS    {_mib(r['peak_rss_bytes'])}")


# --- conjugate gradients on A A^T --------------------------------------------------------


def cg_count(normal, b, *, tol: float, maxiter: int):
    """``(u, iterations)``: ``jax.scipy.sparse.linalg.cg``'s iteration (no preconditioner,
    x0 = 0, stop when |r|^2 <= tol^2 |b|^2 or after ``maxiter``) on ``normal(u) = b``,
    with the count of iterations, which JAX's ``cg`` does not return."""
    threshold = tol ** 2 * jnp.vdot(b, b)

    def cond(state):
        _, _, gamma, _, k = state
        return (gamma > threshold) & (k < maxiter)

    def body(state):
        u, r, gamma, p, k = state
        ap = normal(p)
        alpha = gamma / jnp.vdot(p, ap)
        u, r = u + alpha * p, r - alpha * ap
        gamma_next = jnp.vdot(r, r)
        return u, r, gamma_next, r + (gamma_next / gamma) * p, k + 1

    u, _, _, _, k = jax.lax.while_loop(cond, body, (jnp.zeros_like(b), b, jnp.vdot(b, b), b, jnp.asarray(0)))
    return u, k


def marchenko_pastur_condition(ratio: float) -> float:
    """``((1 + sqrt(r)) / (1 - sqrt(r)))^2``: the limit of cond(A A^T) for an m x n
    Gaussian ``A`` as m, n grow with m/n = r (infinite at r = 1)."""
    s = math.sqrt(ratio)
    return math.inf if s >= 1 else ((1 + s) / (1 - s)) ** 2


def cg_bound(condition: float, tol: float) -> float:  # an int, or inf
    """Iterations after which CG's residual bound ``2 sqrt(k) ((sqrt(k) - 1) / (sqrt(k) + 1))^i``
    (k the condition number) falls to ``tol``."""
    if not math.isfinite(condition):
        return math.inf
    s = math.sqrt(condition)
    return math.ceil(math.log(2 * s / tol) / math.log((s + 1) / (s - 1))) if s > 1 else 1


def benchmark_cg(*, sizes=(32,), ratios=CG_RATIOS, tol: float = 1e-6, maxiter: int | None = None) -> dict:
    """CG iterations on ``A A^T u = y`` (``y = A x`` for a random image ``x``) per size and
    ratio; ``maxiter`` defaults to 10 m (SciPy's and JAX's default)."""
    try:
        sizes = [int(s) for s in sizes]
    except ValueError:
        raise ConfigError(f"CG sizes are image sides in pixels, e.g. 32,64; got {','.join(map(str, sizes))}.") from None
    if any(s < 1 for s in sizes):
        raise ConfigError(f"CG sizes must be positive image sides, got {sizes}.")
    rows = []
    solve = jax.jit(lambda o, yy, cap: cg_count(lambda u: o._apply(o._adjoint(u)), yy, tol=tol, maxiter=cap))
    for s in sizes:
        shape = (s, s, 3)
        x = jax.random.normal(jax.random.key(1), shape)
        for ratio in ratios:
            op = GaussianCS.create(jax.random.key(0), shape, ratio, dense=True)  # the matrix pinv regenerates
            m = op.measurements
            t0 = time.perf_counter()
            matrix = np.asarray(op.matrix, np.float64)
            gram = matrix @ matrix.T
            eigenvalues = np.linalg.eigvalsh(gram)
            eig_s = time.perf_counter() - t0
            condition = eigenvalues[-1] / eigenvalues[0] if eigenvalues[0] > 0 else math.inf
            y = op.A(x)
            cap = 10 * m if maxiter is None else int(maxiter)
            t0 = time.perf_counter()
            u, k = jax.block_until_ready(solve(op, y, cap))
            cg_s = time.perf_counter() - t0
            y64 = np.asarray(y, np.float64)
            true_residual = np.linalg.norm(y64 - gram @ np.asarray(u, np.float64)) / np.linalg.norm(y64)
            rows.append({"n": math.prod(shape), "m": m, "ratio": op.ratio,
                         "mp_condition": marchenko_pastur_condition(op.ratio), "condition": float(condition),
                         "iterations": int(k), "maxiter": cap,
                         "bound": cg_bound(float(condition), tol), "true_residual": float(true_residual),
                         "eig_s": eig_s, "cg_s": cg_s})
    device = jax.devices()[0]
    return {"device": f"{device.platform}:{device.device_kind}", "tol": tol, "rows": rows}


def _number(v: float) -> str:
    return "inf" if not math.isfinite(v) else f"{v:.3g}" if v < 1e5 else f"{v:.2e}"


def print_cg_benchmark(r: dict) -> None:
    print(f"device              {r['device']}")
    print(f"CG on A A^T u = y   Gaussian A (m x n, N(0, 1/m)), float32, y = A x, stop at |r| <= {r['tol']:g} |y| "
          "(jax.scipy.sparse.linalg.cg's rule, counted by a copy of its loop)")
    print(f"{'n':>6} {'m/n':>5} {'m':>6} {'MP cond':>9} {'cond(AAT)':>10} {'CG its':>7} {'bound':>7} "
          f"{'true resid':>10} {'eig s':>6} {'CG s':>6}")
    for row in r["rows"]:
        its = f"{row['iterations']}" + ("+" if row["iterations"] >= row["maxiter"] else "")
        print(f"{row['n']:>6} {row['ratio']:>5.2f} {row['m']:>6} {_number(row['mp_condition']):>9} "
              f"{_number(row['condition']):>10} {its:>7} {_number(row['bound']):>7} "
              f"{row['true_residual']:>10.1e} {row['eig_s']:>6.1f} {row['cg_s']:>6.1f}")
    print("MP cond     Marchenko-Pastur limit ((1 + sqrt r) / (1 - sqrt r))^2")
    print("cond(AAT)   NumPy eigvalsh of A A^T in float64, largest over smallest eigenvalue")
    print("bound       iterations at which CG's residual bound 2 sqrt(c) ((sqrt(c) - 1) / (sqrt(c) + 1))^i, "
          "c = cond(AAT), reaches the tolerance")
    print("true resid  |y - A A^T u| / |y| in float64 (float32 CG's own residual can fall below the tolerance "
          "while the true one stalls)")
    print("CG its      '+': stopped at maxiter = 10 m; Operator.pinv (back-projection) stops at maxiter = 500 "
          "by default")
