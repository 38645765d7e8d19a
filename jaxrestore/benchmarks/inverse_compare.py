"""The inverse half against PyTorch: ``python -m jaxrestore.benchmark --solver=csgm,iagan,map,dip --compare=torch``.

The same restorations three ways, in one process, phase by phase, on held-out real faces
(``CelebA64[18000:18000+images]`` of ``../shared/data``) with the real 32x32 CelebA DCGAN
of ``../shared/weights/dcgan32_celeba`` as the prior:

- ``jax batched``: the public solvers (:mod:`jaxrestore.inverse.solvers`,
  :func:`~jaxrestore.inverse.baselines.dip.dip_restore`) on all images in one call, compiled
  once (the compile is timed apart from the run);
- ``jax per image``: the same solver compiled for one image and called once per image;
- ``torch``: the official codes' way in plain PyTorch (:mod:`.inverse_torch`): one image at
  a time, restarts in turn, a Python loop of ``backward()`` / ``optimizer.step()``, on the
  same weights, the same observations and the same starting latents (DIP: the same initial
  network and input).

Phases and their settings (``--iteration_scale`` multiplies every count, for a quick check):

- ``csgm``: SR x4 (32x32 -> 8x8, MATLAB's bicubic as a matrix on both sides), 5 restarts x
  1600 Adam steps at lr 0.1, z ~ U(-1, 1) (003_*);
- ``iagan``: from each side's own CSGM result, 500 joint steps at lr 1e-4 / 1e-4 (003_*, SR);
- ``map``: inpainting of a centre 16x16 hole (Yeh et al.'s weighted mask), 3000 Nesterov
  steps at lr 3e-4, lambda 0.2, the released ``-log D`` prior (002_*, as notebook 004 runs it);
- ``dip``: SR x4 of the 64x64 faces, the official skip network (5 scales of 128 channels),
  2000 Adam steps at lr 0.01 with input noise 0.03 (the DIP notebook's x4 settings).

Each row prints seconds per image (compile apart), the test-set figure the issue asks for
(compile + 32 images, divided by 32), the ratio against PyTorch and each side's mean PSNR
(equal work gives equal quality up to the divergence of rounding over thousands of steps).
Measured figures: docs/speed.md.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from PIL import Image

from jaxrestore.benchmarks import inverse_torch as tref
from jaxrestore.benchmarks.torch_steps import require_torch, torch
from jaxrestore.errors import ConfigError
from jaxrestore.imaging.resize import imresize
from jaxrestore.inverse import operators as ops
from jaxrestore.inverse.baselines import dip as dip_module
from jaxrestore.inverse.solvers import (CSGMOptions, IAGANOptions, LatentResult, MAPOptions, csgm, iagan,
                                        iagan_segments, map_search)
from jaxrestore.inverse.solvers.iagan import image_batching
from jaxrestore.inverse.solvers.skeleton import compile_image_step, host_steps, initial_latents
from jaxrestore.metrics.psnr import psnr
from jaxrestore.models.dcgan import DCGANDiscriminator, DCGANGenerator, transposed_conv2x

PHASES = ("csgm", "iagan", "map", "dip")
WEIGHTS = Path("../shared/weights/dcgan32_celeba")
FACES = Path("../shared/data/CelebA64")
FIRST_FACE = 18000  # the held-out end of the folder's sorted files, as notebook 004
TEST_SET = 32  # images over which a compile is shared in the "test set" column
Z_DIM, SIZE, DIP_SIZE = 100, 32, 64
PRECISION = lax.Precision.HIGHEST
NHWC = ("NHWC", "HWIO", "NHWC")


def settings(scale: float = 1.0) -> dict:
    """The phases' options at ``scale`` times the papers' iteration counts (at least 1 step)."""
    count = lambda n: max(1, int(round(n * scale)))  # noqa: E731
    return {
        "csgm": CSGMOptions(z_dim=Z_DIM, iterations=count(1600), lr=0.1, restarts=5, init="uniform"),
        "iagan": IAGANOptions(iterations=count(500), lr_z=1e-4, lr_theta=1e-4),
        "map": MAPOptions(z_dim=Z_DIM, iterations=count(3000), lr=3e-4, prior_weight=0.2, prior="released",
                          init="uniform"),
        "dip": dip_module.sr_options(4, iterations=count(2000)),
    }


# ----- the DCGAN32 prior in JAX (the layout of ../shared/weights/dcgan32_celeba/MANIFEST.md)


def _conv(x, kernel, stride, padding):
    return lax.conv_general_dilated(x, kernel, (stride, stride), [(padding, padding)] * 2, dimension_numbers=NHWC,
                                    precision=PRECISION)


def _bn(x, p):
    return (x - p["mean"]) * lax.rsqrt(p["var"] + 1e-5) * p["scale"] + p["bias"]


def _lrelu(x):
    return jnp.where(x >= 0, x, 0.2 * x)


def dcgan32_generator(v, z):
    """``(N, 100)`` latents -> ``(N, 32, 32, 3)`` in [-1, 1]; ``v`` from :func:`dcgan32_variables`."""
    p, s = v["params"], v["batch_stats"]
    bn = lambda x, i: _bn(x, {**p[f"bn{i}"], **s[f"bn{i}"]})  # noqa: E731
    # ConvTranspose2d(k 4, stride 1, padding 0) of a 1x1 input is a matrix product
    x = bn(jnp.einsum("ni,iohw->nhwo", z, p["conv0"], precision=PRECISION), 0)
    x = _lrelu(bn(_conv(x, p["conv1"], 1, 1), 1))
    # ConvTranspose2d(k 4, stride 2, padding 1) is tf.nn.conv2d_transpose(SAME): the DCGAN model's own
    # layer, by output phase, without the multiplications by the zeros of a dilated input
    x = _lrelu(bn(transposed_conv2x(x, p["conv2"]), 2))
    x = _lrelu(bn(transposed_conv2x(x, p["conv3"]), 3))
    return jnp.tanh(transposed_conv2x(x, p["conv4"]) + p["bias4"])


def dcgan32_discriminator(v, x):
    """``(N, 32, 32, 3)`` in [-1, 1] -> ``(N,)`` logits."""
    p, s = v["params"], v["batch_stats"]
    x = _lrelu(_conv(x, p["conv0"], 2, 1) + p["bias0"])
    for i in (1, 2, 3):
        x = _lrelu(_bn(_conv(x, p[f"conv{i}"], 2, 1), {**p[f"bn{i}"], **s[f"bn{i}"]}))
    x = jnp.transpose(x, (0, 3, 1, 2)).reshape(x.shape[0], -1)  # PyTorch's (C, H, W) flattening
    return (x @ p["dense"] + p["dense_bias"])[:, 0]


def dcgan32_variables(g_module, d_module) -> tuple[dict, dict]:
    """The JAX variables of the PyTorch DCGAN32 modules (:func:`.inverse_torch.load_dcgan32`):
    ``params`` (what IAGAN adapts) and ``batch_stats`` (running statistics, fixed)."""
    g = {k: v.detach().numpy() for k, v in g_module.state_dict().items()}
    d = {k: v.detach().numpy() for k, v in d_module.state_dict().items()}

    def bn(state, prefix):
        get = lambda name: jnp.asarray(state[prefix + name])  # noqa: E731
        return ({"scale": get("weight"), "bias": get("bias")}, {"mean": get("running_mean"), "var": get("running_var")})

    conv = lambda w: jnp.asarray(w.transpose(2, 3, 1, 0))  # noqa: E731  (out, in, kh, kw) -> HWIO
    deconv = lambda w: jnp.asarray(w.transpose(2, 3, 0, 1))  # noqa: E731  (in, out, kh, kw) -> kh, kw, in, out
    gp, gs = {"conv0": jnp.asarray(g["generator_deconv.0.0.weight"])}, {}  # (in, out, kh, kw)
    for i in range(1, 5):
        w = g[f"generator_deconv.{i}.0.weight"]
        gp[f"conv{i}"] = conv(w) if i == 1 else deconv(w)
    for i in range(4):
        gp[f"bn{i}"], gs[f"bn{i}"] = bn(g, f"generator_deconv.{i}.1.")
    gp["bias4"] = jnp.asarray(g["generator_deconv.4.0.bias"])
    dp, ds = {"conv0": conv(d["discriminator.0.0.weight"]), "bias0": jnp.asarray(d["discriminator.0.0.bias"])}, {}
    for i in (1, 2, 3):
        dp[f"conv{i}"] = conv(d[f"discriminator.{i}.0.weight"])
        dp[f"bn{i}"], ds[f"bn{i}"] = bn(d, f"discriminator.{i}.1.")
    dp["dense"], dp["dense_bias"] = jnp.asarray(d["discriminator.5.weight"].T), jnp.asarray(d["discriminator.5.bias"])
    return {"params": gp, "batch_stats": gs}, {"params": dp, "batch_stats": ds}


# ----- data, operators and their PyTorch twins


def held_out_faces(count: int, size: int, folder: Path = FACES) -> np.ndarray:
    """``count`` faces from the held-out end of CelebA64, resized to ``size`` (MATLAB's bicubic),
    in [-1, 1], NHWC float32."""
    files = sorted(Path(folder).glob("*.jpg"))
    if len(files) < FIRST_FACE + count:
        raise ConfigError(f"{folder} holds {len(files)} faces, fewer than the {FIRST_FACE + count} this benchmark "
                          "reads; put the shared folder beside the repository (../shared/data/CelebA64).")
    faces = []
    for f in files[FIRST_FACE:FIRST_FACE + count]:
        image = np.asarray(Image.open(f).convert("RGB"))
        faces.append(image if size == image.shape[0] else imresize(image, output_shape=(size, size)))
    return np.stack(faces).astype(np.float32) / 127.5 - 1.0


def torch_operator(op):
    """The PyTorch twin of a :class:`~jaxrestore.inverse.operators.SeparableResize` or a
    :class:`~jaxrestore.inverse.operators.Mask`, on NCHW tensors."""
    if isinstance(op, ops.SeparableResize):
        rows, cols = (torch.from_numpy(m.astype(np.float32)) for m in op.matrices())
        return lambda x: torch.einsum("ih,nchw,jw->ncij", rows, x, cols)
    if isinstance(op, ops.Mask):
        weights = torch.from_numpy(np.array(op.weights, np.float32)).permute(2, 0, 1)[None]
        return lambda x: x * weights
    raise ConfigError(f"no PyTorch twin for the operator {type(op).__name__}.")


def nchw(x):
    return torch.from_numpy(np.ascontiguousarray(np.asarray(x, np.float32).transpose(0, 3, 1, 2)))


def nhwc(t) -> np.ndarray:
    return t.detach().numpy().transpose(0, 2, 3, 1) if t.ndim == 4 else t.detach().numpy().transpose(1, 2, 0)


def psnr_db(images, truth, scale: float = 2.0) -> float:
    """Mean PSNR (dB, :func:`jaxrestore.metrics.psnr`) of ``images``, clipped to the range of
    ``truth``, against ``truth``; ``scale`` is the data range (2: [-1, 1], 1: [0, 1])."""
    images, truth = np.asarray(images, np.float64), np.asarray(truth, np.float64)
    low = truth.min()
    images = np.clip(images, low, truth.max())
    return float(np.mean([psnr(a - low, t - low, data_range=scale) for a, t in zip(images, truth)]))


def csgm_starts(keys, options: CSGMOptions) -> np.ndarray:
    """The starting latents ``(images, restarts, z_dim)`` :func:`~jaxrestore.inverse.solvers.csgm`
    draws from per-image typed keys (so the PyTorch side starts from the same ones)."""
    one = lambda k: jax.vmap(lambda kk: initial_latents(kk, (options.z_dim,), options.init))(  # noqa: E731
        jax.random.split(k, options.restarts))
    return np.asarray(jax.vmap(one)(keys))


# ----- timing


def _two_ways(build, run, batch_args, one_args_of, images: int, n: int):
    """A solver three ways of timing: ``build(args) -> programs`` (compiled ahead of time, timed) and
    ``run(programs, args) -> outputs`` on all ``images`` at once, then built for one image and run
    for each of the first ``n``: ``(batched outputs, row of times per image)``."""

    def timed(fn, *a):
        t0 = time.perf_counter()
        value = jax.block_until_ready(fn(*a))
        return value, time.perf_counter() - t0

    programs, compile_s = timed(build, batch_args)
    out, batched_s = timed(run, programs, batch_args)
    programs_one, compile_one_s = timed(build, one_args_of(0))
    loop_s = sum(timed(run, programs_one, one_args_of(i))[1] for i in range(n))
    return out, {"compile_s": compile_s, "batched_s": batched_s / images, "loop_compile_s": compile_one_s,
                 "loop_s": loop_s / n}


def _jax_two_ways(solve, batch_args, one_args_of, images: int, n: int):
    """:func:`_two_ways` of one jitted function ``solve``."""
    return _two_ways(lambda args: jax.jit(solve).lower(*args).compile(), lambda compiled, args: compiled(*args),
                     batch_args, one_args_of, images, n)


def _iagan_host_two_ways(o, g_fn, g_vars, op, y, z, images, n):
    """IAGAN with batching ``loop`` (one compiled step of one image, called from the host), as the
    experiments run it (:func:`~jaxrestore.inverse.solvers.iagan_segments`): :func:`_two_ways` of
    its three programs."""
    solver = iagan_segments(g_fn, g_vars, o)

    def build(args):
        carry = jax.eval_shape(solver.start, *args)
        return (jax.jit(solver.start).lower(*args).compile(), compile_image_step(solver, args, carry),
                jax.jit(solver.end).lower(*args, carry).compile())

    def run(programs, args):
        start, step, end = programs
        carry, _ = host_steps(step, args, solver.in_axes, start(*args), solver.iterations)
        return end(*args, carry)

    out, row = _two_ways(build, run, (g_vars, op, y, z), lambda i: (g_vars, op, y[i:i + 1], z[i:i + 1]), images, n)
    return LatentResult(z=out[0], image=out[1], objective=out[2], history=None), row


def compare(phases=PHASES, *, images: int = 4, loop_images: int | None = None, iteration_scale: float = 1.0,
            prior: str = "dcgan32", features: int = 16, weights: Path = WEIGHTS, faces: Path = FACES,
            progress=print) -> dict:
    """Runs the phases (in the order csgm, iagan, map, dip; iagan needs csgm) and returns their rows:
    the batched solvers on ``images`` faces, the per-image ways (JAX and PyTorch, and DIP) on the
    first ``loop_images`` of them (default: all), PSNR over those on both sides. The prior is
    :func:`load_prior`'s. XLA's persistent compilation cache is off meanwhile, so the compile
    times are those of a first run."""
    cache = jax.config.jax_enable_compilation_cache
    jax.config.update("jax_enable_compilation_cache", False)
    try:
        return _compare(phases, images, loop_images, iteration_scale, prior, features, weights, faces, progress)
    finally:
        jax.config.update("jax_enable_compilation_cache", cache)


class ComparedPrior(NamedTuple):
    """A prior on both sides: JAX functions and variables, the PyTorch twins, its image side and
    the inpainting hole (side, and the weighted mask's window)."""

    label: str
    generator: Callable
    g_vars: dict
    discriminator: Callable
    d_vars: dict
    g_torch: object
    d_torch: object
    size: int
    hole: tuple[int, int]


def load_prior(prior: str, *, features: int = 16, weights: Path = WEIGHTS) -> ComparedPrior:
    """``dcgan32``: the real 32x32 CelebA DCGAN of ``weights``; ``dcgan``: the project's 64x64
    DCGAN (:mod:`jaxrestore.models.dcgan`) at width ``features``, randomly initialised (the
    speed of a search does not depend on the weights)."""
    if prior == "dcgan32":
        if not (Path(weights) / "generator.pt").exists():
            raise ConfigError(f"{weights} holds no generator.pt: put the shared folder beside the repository "
                              "(../shared/weights/dcgan32_celeba).")
        g_torch, d_torch = tref.load_dcgan32(weights)
        g_vars, d_vars = dcgan32_variables(g_torch, d_torch)
        return ComparedPrior("the real DCGAN32", dcgan32_generator, g_vars, dcgan32_discriminator, d_vars, g_torch,
                             d_torch, SIZE, (16, 7))
    if prior != "dcgan":
        raise ConfigError(f"--prior must be dcgan32 (the real 32x32 CelebA DCGAN) or dcgan (the project's 64x64 "
                          f"DCGAN at width --features), got {prior!r}.")
    g, d = DCGANGenerator(features=features), DCGANDiscriminator(features=features)
    g_vars = g.init(jax.random.key(0), jnp.zeros((1, Z_DIM)))
    d_vars = d.init(jax.random.key(1), jnp.zeros((1, 64, 64, 3)))
    g_torch, d_torch = tref.dcgan_from_flax(g_vars, d_vars, features=features)
    return ComparedPrior(f"the project's DCGAN, width {features}, random weights",
                         lambda v, z: g.apply(v, z, train=False), g_vars, lambda v, x: d.apply(v, x, train=False),
                         d_vars, g_torch, d_torch, 64, (32, 15))


def _compare(phases, images, loop_images, iteration_scale, prior_name, features, weights, faces, progress) -> dict:
    require_torch()

    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        raise ConfigError(f"--compare=torch times the solvers {', '.join(PHASES)}; got {unknown[0]!r}.")
    phases = [p for p in PHASES if p in phases or (p == "csgm" and "iagan" in phases)]
    opts = settings(iteration_scale)
    prior = load_prior(prior_name, features=features, weights=weights)
    g_fn, g_vars, d_fn, d_vars = prior.generator, prior.g_vars, prior.discriminator, prior.d_vars
    g_torch, d_torch, size = prior.g_torch, prior.d_torch, prior.size
    truth = held_out_faces(images, size, faces)
    keys = jax.random.split(jax.random.key(0), images)
    n = images if loop_images is None else max(1, min(int(loop_images), images))
    rows, state = {}, {}
    device = jax.devices()[0]
    info = {"device": f"{device.platform}:{device.device_kind}", "torch_threads": torch.get_num_threads(),
            "images": images, "loop_images": n, "iteration_scale": iteration_scale, "rows": rows,
            "iagan_batching": image_batching(opts["iagan"].batching), "prior": prior.label}
    progress(f"{images} faces, {info['device']}, torch threads {info['torch_threads']}")

    sr = ops.bicubic_downsample((size, size, 3), 4)
    y_sr = sr.A(jnp.asarray(truth))
    sr_torch, y_sr_torch = torch_operator(sr), nchw(y_sr)
    if "csgm" in phases:
        o = opts["csgm"]
        solve = lambda y, k: csgm(g_fn, g_vars, sr, y, k, o)  # noqa: E731
        out, row = _jax_two_ways(solve, (y_sr, keys), lambda i: (y_sr[i:i + 1], keys[i:i + 1]), images, n)
        starts = torch.from_numpy(csgm_starts(keys, o).copy())
        t0, z_torch = time.perf_counter(), []
        for i in range(n):
            z_torch.append(tref.csgm(g_torch, sr_torch, y_sr_torch[i:i + 1], starts[i], iterations=o.iterations,
                                     lr=o.lr, keep_best=o.keep_best_iterate)[0])
        row["torch_s"] = (time.perf_counter() - t0) / n
        with torch.no_grad():
            torch_images = nhwc(g_torch(torch.stack(z_torch)))
        row.update(jax_psnr=psnr_db(out.image[:n], truth[:n]), torch_psnr=psnr_db(torch_images, truth[:n]),
                   what=f"SR x4 of {size}x{size}, {o.restarts} restarts x {o.iterations} steps",
                   latent_iterations=o.restarts * o.iterations)
        rows["csgm"], state["csgm"] = row, (out.z, torch.stack(z_torch))
        progress(format_row("csgm", row))
    if "iagan" in phases:
        o = opts["iagan"]
        z_jax, z_torch = state["csgm"]
        if info["iagan_batching"] == "loop":  # from the host: the experiments' way (iagan_segments)
            out, row = _iagan_host_two_ways(o, g_fn, g_vars, sr, y_sr, z_jax, images, n)
        else:
            solve = lambda y, z: iagan(g_fn, g_vars, sr, y, z, o)  # noqa: E731
            out, row = _jax_two_ways(solve, (y_sr, z_jax), lambda i: (y_sr[i:i + 1], z_jax[i:i + 1]), images, n)
        t0, torch_images = time.perf_counter(), []
        for i in range(n):
            torch_images.append(tref.iagan(g_torch, sr_torch, y_sr_torch[i:i + 1], z_torch[i], iterations=o.iterations,
                                           lr_z=o.lr_z, lr_theta=o.lr_theta, keep_best=o.keep_best_iterate)[0])
        row["torch_s"] = (time.perf_counter() - t0) / n
        row.update(jax_psnr=psnr_db(out.image[:n], truth[:n]),
                   torch_psnr=psnr_db(nhwc(torch.stack(torch_images)), truth[:n]),
                   what=f"from CSGM, {o.iterations} joint steps, images by {info['iagan_batching']}",
                   latent_iterations=o.iterations)
        rows["iagan"] = row
        progress(format_row("iagan", row))
    if "map" in phases:
        o = opts["map"]
        hole, window = prior.hole
        mask = ops.Mask.create(ops.weighted_mask(ops.centre_hole_mask(size, size, hole), window), (size, size, 3))
        y = mask.A(jnp.asarray(truth))
        def solve(yy, k):
            return map_search(g_fn, g_vars, d_fn, d_vars, mask, yy, k, o)

        out, row = _jax_two_ways(solve, (y, keys), lambda i: (y[i:i + 1], keys[i:i + 1]), images, n)
        starts = torch.from_numpy(csgm_starts(keys, CSGMOptions(z_dim=Z_DIM, restarts=1, init=o.init)).copy())
        mask_torch, y_torch = torch_operator(mask), nchw(y)
        t0, z_torch = time.perf_counter(), []
        for i in range(n):
            z_torch.append(tref.map_search(g_torch, d_torch, mask_torch, y_torch[i:i + 1], starts[i, 0],
                                           iterations=o.iterations, lr=o.lr, momentum=o.momentum,
                                           prior_weight=o.prior_weight)[0])
        row["torch_s"] = (time.perf_counter() - t0) / n
        with torch.no_grad():
            torch_images = nhwc(g_torch(torch.stack(z_torch)))
        row.update(jax_psnr=psnr_db(out.image[:n], truth[:n]), torch_psnr=psnr_db(torch_images, truth[:n]),
                   what=f"inpainting ({hole}x{hole} hole), {o.iterations} steps")
        rows["map"] = row
        progress(format_row("map", row))
    if "dip" in phases:
        rows["dip"] = _dip_row(opts["dip"], n, faces, keys[:n])
        progress(format_row("dip", rows["dip"]))
    return info


def _dip_row(o, images, faces, keys) -> dict:
    """DIP has one way in JAX on a CPU (a Python loop of a compiled step per image, the batching
    ``dip_restore`` picks there), so ``batched`` and ``per image`` are the same call."""
    truth = (held_out_faces(images, DIP_SIZE, faces) + 1.0) / 2.0  # DIP works on [0, 1]
    sr = ops.bicubic_downsample((DIP_SIZE, DIP_SIZE, 3), 4)
    y = sr.A(jnp.asarray(truth))
    t0 = time.perf_counter()
    jax.block_until_ready(dip_module.dip_restore(sr, y[0], keys[0], dataclasses.replace(o, iterations=1)).image)
    compile_s = time.perf_counter() - t0  # one step's program, its first run included
    t0 = time.perf_counter()
    out = jax.block_until_ready(dip_module.dip_restore(sr, y, keys, o).image)
    run_s = (time.perf_counter() - t0) / images
    net = dip_module.dip_network(o, 3)
    sr_torch, y_torch = torch_operator(sr), nchw(y)
    t0, torch_images = time.perf_counter(), []
    for i in range(images):
        params, z, _ = dip_module.init_image(net, o.input_channels, o.input_scale, keys[i], (DIP_SIZE, DIP_SIZE),
                                             jnp.float32)
        model = tref.skipnet_from_flax(params, scales=o.scales, channels=o.channels, skip=o.skip,
                                       inputs=o.input_channels)
        torch_images.append(tref.dip(model, sr_torch, y_torch[i:i + 1], nchw(z), iterations=o.iterations, lr=o.lr,
                                     reg_noise_std=o.reg_noise_std, seed=i)[0])
    torch_s = (time.perf_counter() - t0) / images
    return {"compile_s": compile_s, "batched_s": run_s, "loop_compile_s": compile_s, "loop_s": run_s,
            "torch_s": torch_s, "jax_psnr": psnr_db(out, truth, 1.0),
            "torch_psnr": psnr_db(nhwc(torch.stack(torch_images)), truth, 1.0),
            "what": f"SR x4 of 64x64, {o.iterations} steps, {o.channels} channels"}


def test_set_seconds(row: dict) -> float:
    """Seconds per image of a test set of :data:`TEST_SET` images in one batched call, compile included."""
    return (row["compile_s"] + TEST_SET * row["batched_s"]) / TEST_SET


def format_row(name: str, row: dict) -> str:
    return (f"{name:6s} {row['what']}: jax batched {row['batched_s']:.2f} s/image "
            f"(+ compile {row['compile_s']:.1f} s), "
            f"jax per image {row['loop_s']:.2f} s/image (+ compile {row['loop_compile_s']:.1f} s), "
            f"torch {row['torch_s']:.2f} s/image; PSNR jax {row['jax_psnr']:.2f} dB, torch {row['torch_psnr']:.2f} dB")


def print_comparison(info: dict) -> None:
    print(f"\nprior: {info['prior']}")
    print(f"device {info['device']}; torch threads {info['torch_threads']}; {info['images']} held-out faces batched, "
          f"the first {info['loop_images']} per image (JAX and PyTorch; PSNR over those); "
          f"iteration counts x{info['iteration_scale']:g} of the papers'; IAGAN images by {info['iagan_batching']}")
    print("| phase | jax batched s/image | compile s | test set of 32, s/image | jax per image s/image | "
          "torch s/image | torch / jax (test set) | torch / jax per image | PSNR jax / torch dB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in info["rows"].items():
        print(f"| {name}: {r['what']} | {r['batched_s']:.2f} | {r['compile_s']:.1f} | {test_set_seconds(r):.2f} | "
              f"{r['loop_s']:.2f} | {r['torch_s']:.2f} | {r['torch_s'] / test_set_seconds(r):.2f}x | "
              f"{r['torch_s'] / r['loop_s']:.2f}x | {r['jax_psnr']:.2f} / {r['torch_psnr']:.2f} |")
    if "csgm" in info["rows"] and "iagan" in info["rows"]:
        c, i = info["rows"]["csgm"], info["rows"]["iagan"]
        csgm_per_latent = c["batched_s"] / c["latent_iterations"]
        iagan_per_iteration = i["batched_s"] / i["latent_iterations"]
        print(f"IAGAN per image-iteration {1e3 * iagan_per_iteration:.2f} ms, CSGM per latent-iteration "
              f"{1e3 * csgm_per_latent:.2f} ms: {iagan_per_iteration / csgm_per_latent:.1f}x")

