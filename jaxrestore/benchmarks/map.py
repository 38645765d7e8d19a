"""Speed of MAP latent search (``python -m jaxrestore.benchmark --solver=map``).

Inpainting of 64x64 images (a centre 32x32 hole, Yeh et al.'s weighted mask, the
``released`` prior) with a randomly initialised DCGAN prior: the speed of the search
does not depend on the weights. Two ways of doing the same work are timed in one run:

- ``batched``: :func:`jaxrestore.inverse.solvers.map_search`, all images and all
  iterations in one compiled program (``vmap`` over images, ``lax.scan`` over
  iterations);
- ``loop``: the released code's way, one image at a time and one compiled
  gradient step per Python iteration.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp

from jaxrestore.inverse import operators as ops
from jaxrestore.inverse.solvers import MAPOptions, clipped_step, latent_optimizer, map_search, objective_fn
from jaxrestore.models.dcgan import DCGANDiscriminator, DCGANGenerator


def benchmark_map(*, images: int = 64, iterations: int = 100, features: int = 64, loop_images: int | None = None) -> dict:
    g, d = DCGANGenerator(features=features), DCGANDiscriminator(features=features)
    key = jax.random.key(0)
    g_vars = g.init(key, jnp.zeros((1, 100)))
    d_vars = d.init(key, jnp.zeros((1, 64, 64, 3)))
    generator_fn = lambda p, z: g.apply(p, z, train=False)  # noqa: E731
    discriminator_fn = lambda p, x: d.apply(p, x, train=False)  # noqa: E731
    op = ops.Mask.create(ops.weighted_mask(ops.centre_hole_mask(64, 64, 32), 15))
    y = jax.random.uniform(jax.random.key(1), (images, 64, 64, 3), minval=-1, maxval=1) * op.weights
    options = MAPOptions(iterations=iterations, lr=3e-4, prior_weight=0.2)

    solve = jax.jit(lambda yy, k: map_search(generator_fn, g_vars, discriminator_fn, d_vars, op, yy, k, options))
    t0 = time.perf_counter()
    compiled = solve.lower(y, key).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = compiled(y, key)
    jax.block_until_ready(result)
    batched_s = time.perf_counter() - t0

    # The released way: per image, per iteration, one compiled step called from Python.
    tx = latent_optimizer(options)

    @jax.jit
    def step(z, opt_state, yy):
        objective = objective_fn(generator_fn, g_vars, discriminator_fn, d_vars, op, yy, options)
        value, grad = jax.value_and_grad(objective)(z)
        z, opt_state = clipped_step(tx, z, opt_state, grad)
        return z, opt_state, value

    n_loop = images if loop_images is None else min(loop_images, images)
    z = jax.random.normal(key, (options.z_dim,))
    t0 = time.perf_counter()
    jax.block_until_ready(step(z, tx.init(z), y[0]))
    loop_compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(n_loop):
        z = jax.random.normal(jax.random.fold_in(key, i), (options.z_dim,))
        opt_state = tx.init(z)
        for _ in range(iterations):
            z, opt_state, value = step(z, opt_state, y[i])
        jax.block_until_ready(z)
    loop_s = time.perf_counter() - t0
    device = jax.devices()[0]
    return {
        "device": f"{device.platform}:{device.device_kind}",
        "images": images, "iterations": iterations, "features": features, "loop_images": n_loop,
        "compile_s": compile_s, "batched_images_per_s": images / batched_s,
        "loop_compile_s": loop_compile_s, "loop_images_per_s": n_loop / loop_s,
        "finite": bool(jnp.all(jnp.isfinite(result.objective))),
    }


def print_map_benchmark(r: dict) -> None:
    print(f"device              {r['device']}")
    print(f"MAP inpainting      {r['images']} images 64x64, {r['iterations']} iterations, "
          f"DCGAN width {r['features']}")
    print(f"batched: compile    {r['compile_s']:.1f} s")
    print(f"batched: images/s   {r['batched_images_per_s']:.2f}")
    print(f"loop: compile       {r['loop_compile_s']:.1f} s (one gradient step)")
    print(f"loop: images/s      {r['loop_images_per_s']:.2f} (over {r['loop_images']} images)")
    print(f"speed-up            {r['batched_images_per_s'] / r['loop_images_per_s']:.1f}x batched over loop")
    print(f"finite objectives   {r['finite']}")
