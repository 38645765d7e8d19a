"""Deep Image Prior (Ulyanov, Vedaldi & Lempitsky, CVPR 2018) for any operator, as the
IAGAN paper (Abu Hussein, Tirer & Giryes, AAAI 2020) ran it as a baseline: the official
code's super-resolution recipe (DmitryUlyanov/deep-image-prior, ``super-resolution.ipynb``).

An untrained :class:`~jaxrestore.models.dip.SkipNet` ``f_theta`` (5 scales of 128 channels,
4 skip channels, reflection padding, bilinear upsampling, sigmoid output) maps a fixed
noise input ``z`` (32 channels, ``U(0, 1) * 0.1``: the official ``get_noise(32, "noise",
..., var=1/10)`` fills uniformly and multiplies by 1/10) to an image, and Adam (lr 0.01,
PyTorch's and optax's defaults otherwise) minimises the mean squared error

    mean( (A f_theta(z + n_t) - y)^2 ),   n_t ~ N(0, reg_noise_std^2) drawn afresh each step,

over the network's weights only. ``y = A x + noise`` on the [0, 1] scale of ``x``. DIP only
needs ``A`` (gradients come from autodiff), so any operator works, linear or not. The result
is the **last** iterate (the notebook returns the last; no early stopping, no averaging),
evaluated on the clean input ``z`` (the notebook's closure overwrites its global input with
the perturbed one, so its final image is computed from the last perturbed input; the two
differ by the network's response to one N(0, reg_noise_std) perturbation).

Iterations and ``reg_noise_std`` (:func:`sr_options`): x4 2000 / 0.03, x8 4000 / 0.05 (the
notebook); for noisy observations a quarter of the iterations (IAGAN: "for the examined
noisy scenarios we reduce the number of iterations by a factor of 4"). For other operators
(compressed sensing, deblurring, inpainting) :func:`default_options` takes the x4 setting,
2000 / 0.03 (500 with noise) — neither paper gives one, so this is our choice.

Every image gets its own network initialisation, its own input ``z``, its own Adam state and
its own perturbations, all from its own key: a batch of N observations uses
``jax.random.split(key, N)[i]`` for image ``i`` and a single observation uses ``key``
itself, so image ``i`` of a batch sees exactly the random numbers of a single call with that
image's key. Looping image by image (the CPU default, below) then gives bit-identical
results. Vmapped (``batching="vmap"``), BatchNorm statistics stay per image (each mapped
call normalises over its own H, W), and what remains is floating-point rounding of
differently batched convolutions, which the optimisation amplifies: Adam divides each
gradient entry by its own RMS, so an entry near zero (and conv biases in front of a
BatchNorm have a gradient that is exactly zero in exact arithmetic) turns rounding noise
into a step of up to ``lr``. So a vmapped batch equals single runs only up to that amplified
rounding, about as much as a single run moves under a tiny change of ``y``.

Speed. Convolutions inside ``lax.scan``/``while_loop`` hit a slow path on XLA:CPU (jax issue
#12868), so the loop is a Python loop calling a jitted program of ``block`` steps (default
1: one step, no loop inside; ``block > 1`` unrolls a ``lax.scan``, which costs compile time
roughly in proportion, so it pays only on long runs on a quiet machine). And ``vmap`` over
images with per-image weights turns every convolution into a grouped one, another slow path
on XLA:CPU, so on the CPU a batch runs image after image through the single-image program
(``batching="auto"``). Progress is logged (absl ``logging.info``) every ~10 % with elapsed
time and ETA, and an optional ``progress(step, total, loss)`` callback sees the mean loss
after each block.

(measured figures: docs/baselines.md)
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from absl import logging

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.operators.base import Operator, check_shape
from jaxrestore.models.dip import SkipNet, check_image_size, skip_net
from jaxrestore.runtime.progress import duration


BATCHING = ("auto", "vmap", "loop")


def dip_batching(batching: str) -> str:
    """The strategy ``batching`` names: ``auto`` is ``loop`` on a CPU backend (vmapped per-image
    weights make grouped convolutions, a slow path of XLA:CPU) and ``vmap`` on a GPU or TPU."""
    if batching != "auto":
        return batching
    return "loop" if jax.default_backend() == "cpu" else "vmap"


@dataclasses.dataclass(frozen=True)
class DIPOptions:
    iterations: int = 2000
    lr: float = 0.01  # Adam
    input_channels: int = 32
    input_scale: float = 0.1  # z ~ U(0, 1) * input_scale
    reg_noise_std: float = 0.03  # each step perturbs z by N(0, reg_noise_std^2)
    channels: int = 128  # down and up channels at every scale
    skip: int = 4  # skip channels at every scale (0: no skips)
    scales: int = 5
    block: int = 1  # steps per compiled program called from the Python loop (unrolled when > 1)
    batching: str = "auto"  # how a batch of images runs: vmap, loop, or auto (loop on a CPU, vmap elsewhere)

    def check(self, shape=None) -> "DIPOptions":
        for name in ("iterations", "input_channels", "channels", "scales", "block"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ConfigError(f"DIP: {name} must be a positive integer, got {value}.")
        if int(self.skip) != self.skip or self.skip < 0:
            raise ConfigError(f"DIP: skip must be a non-negative integer (0 drops the skips), got {self.skip}.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"DIP: the Adam learning rate lr must be a finite number > 0, got {self.lr}.")
        if not (self.input_scale > 0 and math.isfinite(self.input_scale)):
            raise ConfigError(f"DIP: input_scale must be a finite number > 0, got {self.input_scale}.")
        if not (self.reg_noise_std >= 0 and math.isfinite(self.reg_noise_std)):
            raise ConfigError(f"DIP: reg_noise_std must be a finite number >= 0 (0 switches the input "
                              f"perturbation off), got {self.reg_noise_std}.")
        if self.batching not in BATCHING:
            raise ConfigError(f"DIP batching must be one of {', '.join(BATCHING)}, got {self.batching!r}.")
        if shape is not None:
            check_image_size(int(shape[0]), int(shape[1]), self.scales)
        return self


def sr_options(factor: int, noisy: bool = False, **overrides) -> DIPOptions:
    """The official super-resolution notebook's setting for x``factor`` (4 or 8), a quarter of
    the iterations for noisy observations (IAGAN)."""
    settings = {4: (2000, 0.03), 8: (4000, 0.05)}
    if factor not in settings:
        raise ConfigError(f"DIP has super-resolution settings for factors 4 and 8 only, got {factor}; "
                          "use default_options() or give DIPOptions explicitly.")
    iterations, reg = settings[factor]
    options = DIPOptions(iterations=iterations // 4 if noisy else iterations, reg_noise_std=reg)
    return dataclasses.replace(options, **overrides)


def default_options(noisy: bool = False, **overrides) -> DIPOptions:
    """Our setting for operators other than super-resolution (compressed sensing, deblurring,
    inpainting, denoising): the x4 one, 2000 iterations / reg_noise_std 0.03, 500 with noise."""
    return dataclasses.replace(sr_options(4, noisy), **overrides)


class DIPResult(NamedTuple):
    image: jax.Array  # (..., H, W, C) f_theta(z) after the last step, in (0, 1)
    loss: jax.Array  # (..., iterations) the data MSE at each step (perturbed input, before the update)


def dip_network(options: DIPOptions, output_channels: int, dtype=jnp.float32) -> SkipNet:
    return skip_net(output_channels, channels=options.channels, skip=options.skip, scales=options.scales,
                    param_dtype=dtype)


def data_loss(operator: Operator, image, y):
    """``mean((A image - y)^2)`` over the observation's elements."""
    residual = operator.A(image) - y
    return jnp.mean(residual * residual)


def image_keys(key):
    """The per-image keys: (network init, input z, input perturbations)."""
    return jax.random.split(key, 3)


def init_image(net: SkipNet, input_channels: int, input_scale, key, shape, dtype):
    """``(params, z, noise_key)`` of one image from its key; ``z`` is 1xHxWxC_in."""
    k_init, k_input, k_noise = image_keys(key)
    z = jax.random.uniform(k_input, (1, shape[0], shape[1], input_channels), dtype) * input_scale
    params = net.init(k_init, z)["params"]
    return params, z, k_noise


def _step(net, tx, reg_noise_std, operator, y, z, noise_key, state, t):
    """One Adam step of one image; ``t`` numbers the step (it draws the perturbation)."""
    params, opt_state = state
    noise = reg_noise_std * jax.random.normal(jax.random.fold_in(noise_key, t), z.shape, z.dtype)

    def loss_fn(p):
        return data_loss(operator, net.apply({"params": p}, z + noise)[0], y)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), loss


@functools.partial(jax.jit, static_argnames=("net", "lr", "steps", "per_image_operator", "unroll"))
def _block(net, lr, reg_noise_std, operator, ys, zs, noise_keys, state, start, *, steps, per_image_operator,
           unroll=True):
    """``steps`` steps of every image (vmapped), from step number ``start``."""
    tx = optax.adam(lr)

    def one_image(op, y, z, noise_key, state):
        body = lambda s, t: _step(net, tx, reg_noise_std, op, y, z, noise_key, s, t)  # noqa: E731
        if steps == 1:  # no loop at all
            state, loss = body(state, start)
            return state, loss[None]
        return jax.lax.scan(body, state, start + jnp.arange(steps), unroll=unroll)

    in_axes = (0 if per_image_operator else None, 0, 0, 0, 0)
    return jax.vmap(one_image, in_axes=in_axes)(operator, ys, zs, noise_keys, state)


@functools.partial(jax.jit, static_argnames=("net", "lr", "input_channels", "shape"))
def _init(net, lr, input_channels, input_scale, keys, shape, dtype_probe):
    one = lambda key: init_image(net, input_channels, input_scale, key, shape, dtype_probe.dtype)  # noqa: E731
    params, zs, noise_keys = jax.vmap(one)(keys)
    opt_state = jax.vmap(optax.adam(lr).init)(params)
    return (params, opt_state), zs, noise_keys


@functools.partial(jax.jit, static_argnames=("net",))
def _render(net, params, zs):
    return jax.vmap(lambda p, z: net.apply({"params": p}, z)[0])(params, zs)


def dip_restore(operator: Operator, y, key, options: DIPOptions = DIPOptions(), *,
                per_image_operator: bool = False, progress: Callable | None = None,
                batching: str | None = None, unroll: bool | int = True) -> DIPResult:
    """DIP reconstruction of ``y``: one observation (``operator.output_shape``) or a batch
    ``(N, ...)``. With ``per_image_operator`` the operator's leaves carry a leading N axis
    (a batch of per-image operators, e.g. a :class:`Mask` with N masks). ``key`` is the
    single image's key, or split into N per-image keys for a batch, or N keys (one per image).

    ``batching`` (default: ``options.batching``): ``"vmap"`` runs the images together, ``"loop"``
    one after the other with the single-image program (so image ``i`` equals a single call with
    its key bit for bit),
    ``"auto"`` loops on the CPU (vmapping per-image weights makes grouped convolutions, which
    XLA:CPU runs several times slower than one image after the other; see the module
    docstring) and vmaps elsewhere.

    ``progress(step, total, mean_loss)`` is called after every block, ``step`` counting the
    steps of all images (``total = N * iterations``). ``unroll`` goes to the block's
    ``lax.scan`` when ``options.block > 1`` (``False``: a rolled loop; for measurements)."""
    shape = tuple(operator.input_shape)
    options = options.check(shape)
    batching = options.batching if batching is None else batching
    if batching not in BATCHING:
        raise ConfigError(f"DIP batching must be one of {', '.join(BATCHING)}, got {batching!r}.")
    y = jnp.asarray(y)
    y = y.astype(jnp.promote_types(y.dtype, jnp.float32))
    name = getattr(operator, "name", type(operator).__name__)
    check_shape(y, operator.output_shape, operator=f"dip_restore({name})", what="an observation")
    extra = y.ndim - len(operator.output_shape)
    if extra > 1 or (per_image_operator and extra != 1):
        raise ConfigError(f"dip_restore takes one observation of shape {operator.output_shape} or a batch "
                          f"(N, ...) of them{' (one per operator)' if per_image_operator else ''}, "
                          f"got shape {y.shape}.")
    single = extra == 0
    ys = y[None] if single else y
    n = ys.shape[0]
    if per_image_operator:
        sizes = {leaf.shape[0] for leaf in jax.tree.leaves(operator) if getattr(leaf, "ndim", 0)}
        if sizes != {n}:
            raise ConfigError(f"per-image operators need a leading axis of {n} (one per observation) on "
                              f"every leaf, got leading sizes {sorted(sizes)}.")
    key = jnp.asarray(key)
    # A raw uint32 key has shape (2,) and N of them (N, 2); a typed key has shape () and N (N,).
    key_ndim = key.ndim if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) else key.ndim - 1
    if key_ndim == 1 and not single:  # one key per image, given (chunks of a test set keep theirs)
        if key.shape[0] != n:
            raise ConfigError(f"dip_restore got {key.shape[0]} per-image keys for {n} observations.")
        keys = key
    else:
        keys = key[None] if single else jax.random.split(key, n)
    batching = dip_batching(batching)
    report = _Progress(n * options.iterations, progress)
    if batching == "vmap" or n == 1:
        images, loss = _run(operator, ys, keys, options, per_image_operator, report, unroll)
    else:
        parts = []
        for i in range(n):
            op = jax.tree.map(lambda a: a[i], operator) if per_image_operator else operator
            parts.append(_run(op, ys[i:i + 1], keys[i:i + 1], options, False, report, unroll))
        images, loss = (jnp.concatenate(a) for a in zip(*parts))
    return DIPResult(images[0], loss[0]) if single else DIPResult(images, loss)


class _Progress:
    """A line before the first block of steps (which compiles them, unless an earlier call with
    the same shapes did) and one after it; then a line every ~10 % of all steps with elapsed time
    and an ETA from the blocks after the first, so that compile time stays out of it. Forwards
    every block to a callback."""

    def __init__(self, total: int, callback: Callable | None):
        self.total, self.callback, self.done = total, callback, 0
        self.start, self.next = time.perf_counter(), 0.1
        self.origin: tuple[float, int] | None = None  # (time, steps done) after the first block
        logging.info("DIP: compiling its steps (unless an earlier call compiled them) and running the first block")

    def __call__(self, steps: int, n: int, loss) -> None:
        self.done += steps * n
        now = time.perf_counter()
        if self.origin is None:
            jax.block_until_ready(loss)
            now = time.perf_counter()
            self.origin = (now, self.done)
            logging.info(f"DIP: first block of {steps} steps done in {now - self.start:.1f} s (a compile included)")
        due = self.done / self.total >= self.next or self.done == self.total
        if self.callback is None and not due:
            return
        mean_loss = float(jnp.mean(loss[:, -1]))
        if self.callback is not None:
            self.callback(self.done, self.total, mean_loss)
        if due:
            now = time.perf_counter()
            rate = (now - self.origin[0]) / (self.done - self.origin[1]) if self.done > self.origin[1] else None
            eta = duration(rate * (self.total - self.done)) if rate is not None else "after the next block"
            logging.info(f"DIP: {self.done}/{self.total} image-steps, loss {mean_loss:.3e}, "
                         f"elapsed {duration(now - self.start)}, ETA {eta}")
            self.next = math.floor(self.done / self.total * 10 + 1) / 10


def _run(operator, ys, keys, options, per_image_operator, report, unroll):
    """Every step of the images ``ys`` together (vmapped): ``(images, losses)``."""
    shape = tuple(operator.input_shape)
    net = dip_network(options, shape[2], ys.dtype)
    state, zs, noise_keys = _init(net, options.lr, options.input_channels, options.input_scale, keys, shape,
                                  jnp.zeros((), ys.dtype))
    reg = jnp.asarray(options.reg_noise_std, ys.dtype)
    losses, done = [], 0
    while done < options.iterations:
        steps = min(options.block, options.iterations - done)
        state, loss = _block(net, options.lr, reg, operator, ys, zs, noise_keys, state, jnp.asarray(done, jnp.int32),
                             steps=steps, per_image_operator=per_image_operator, unroll=unroll)
        losses.append(loss)
        done += steps
        report(steps, ys.shape[0], loss)
    return _render(net, state[0], zs), jnp.concatenate(losses, axis=1)


def dip_state(operator: Operator, key, options: DIPOptions, dtype=jnp.float32):
    """The network, the initial parameters and the input ``z`` of a single image (for tests
    and inspection): ``(net, params, z)``."""
    options = options.check(operator.input_shape)
    net = dip_network(options, operator.input_shape[2], dtype)
    params, z, _ = init_image(net, options.input_channels, options.input_scale, key, tuple(operator.input_shape),
                              dtype)
    return net, params, z


__all__ = ["DIPOptions", "DIPResult", "data_loss", "default_options", "dip_restore", "dip_state", "sr_options"]
