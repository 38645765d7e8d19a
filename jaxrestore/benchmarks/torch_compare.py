"""``python -m jaxrestore.benchmark --compare=torch``: the same training steps in JAX and PyTorch.

For each named step, the config's jitted ``train_step`` (the JAX side, as ``jaxrestore.main``
runs it) and the same step written in plain PyTorch (:mod:`jaxrestore.benchmarks.torch_steps`)
run in this process, on the same device kind, on the same random batch of the config's
shapes; the table gives seconds per step of each and their ratio (PyTorch time / JAX
time: above 1 means JAX is faster). Then the same for inference: RRDBNet x4 applied to
one square image (``jaxrestore.restore``'s jitted apply against a PyTorch
``inference_mode`` loop), in megapixels of output per second.

Steps (config, what it times):

* ``srresnet`` — configs/srresnet.py: SRResNet on MSE, Adam (000_*'s base).
* ``srgan`` — configs/srgan.py: D on eq. (5), then G on VGG54 + 1e-3 adversarial (eq. 6).
* ``csrgan`` — configs/csrgan.py: the constrained update (eqs. 7-11), two Adam states.
* ``rrdbnet`` — configs/rrdbnet_psnr.py with ``model.encoder=''``: RRDBNet on L1 (001_* stage 1).
* ``esrgan`` — configs/esrgan.py: D, G (VGG conv5_4 L1 + RaGAN + L1) of 001_* / ESRGAN.
* ``lsrgan`` — configs/lsrgan.py: as esrgan, plus the encoder L's term and L's own step.

VGG weights are random on both sides (speed does not depend on them).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxrestore.benchmarks.torch_steps import RRDBNet as TorchRRDBNet
from jaxrestore.benchmarks.torch_steps import TorchStep, require_torch, torch
from jaxrestore.benchmarks.training import random_batch
from jaxrestore.errors import ConfigError
from jaxrestore.evaluation.restorers import ModelRestorer
from jaxrestore.models.rrdbnet import RRDBNet
from jaxrestore.runtime.configs import load_config_file
from jaxrestore.training.methods import build_method

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
STEPS = {
    "srresnet": ("srresnet", {}),
    "srgan": ("srgan", {}),
    "csrgan": ("csrgan", {}),
    "rrdbnet": ("rrdbnet_psnr", {"model.encoder": ""}),
    "esrgan": ("esrgan", {}),
    "lsrgan": ("lsrgan", {}),
}


def load_config(name: str, overrides: dict):
    path = CONFIGS / f"{name}.py"
    if not path.is_file():
        raise ConfigError(f"{path} not found: --compare=torch reads the configs/ folder of a source checkout "
                          "(pip install -e .).")
    config = load_config_file(path, module_name=f"_benchmark_configs_{name}")
    for key, value in overrides.items():
        section, field = key.split(".")
        config[section][field] = value
    return config


def _torch_device():
    if jax.default_backend() == "gpu" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def _torch_sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_jax_step(config, batch: dict, steps: int) -> dict:
    method = build_method(config)
    key = jax.random.key(0)
    state = method.init(key, batch)
    jitted = jax.jit(method.train_step, donate_argnums=(1,))
    t0 = time.perf_counter()
    compiled = jitted.lower(method.frozen, state, batch, key).compile()
    compile_s = time.perf_counter() - t0
    state, metrics = compiled(method.frozen, state, batch, key)
    jax.block_until_ready((state, metrics))
    t0 = time.perf_counter()
    for i in range(steps):
        state, metrics = compiled(method.frozen, state, batch, jax.random.fold_in(key, i))
    jax.block_until_ready((state, metrics))
    return {"step_s": (time.perf_counter() - t0) / steps, "compile_s": compile_s,
            "finite": bool(np.isfinite(float(metrics["train/g_loss"])))}


def time_torch_step(config, batch: dict, steps: int, *, patch: int, dtype: str = "float32") -> dict:
    device = _torch_device()
    torch.manual_seed(0)
    step = TorchStep(config, patch=patch)
    for net in (step.g, step.d, step.l, step.vgg):
        if net is not None:
            net.to(device).train()
    lr_images, hr = (torch.from_numpy(np.array(batch[k])).permute(0, 3, 1, 2).contiguous().to(device)
                     for k in ("degraded", "target"))
    precision = (torch.autocast(device.type, dtype=torch.bfloat16) if dtype == "bfloat16"
                 else contextlib.nullcontext())
    with precision:
        step(lr_images, hr)  # warm-up (allocator, cuDNN's algorithm choice)
        _torch_sync(device)
        t0 = time.perf_counter()
        for _ in range(steps):
            step(lr_images, hr)
        _torch_sync(device)
    return {"step_s": (time.perf_counter() - t0) / steps, "device": str(device)}


def compare_step(name: str, *, batch_size: int, patch: int | None, steps: int, dtype: str = "float32") -> dict:
    """Times one named step (see the module docstring) on both sides."""
    if name not in STEPS:
        raise ConfigError(f"unknown step {name!r} for --compare=torch; choose from {', '.join(STEPS)}.")
    config_name, overrides = STEPS[name]
    config = load_config(config_name, overrides)
    config.train.batch_size = batch_size
    if patch:
        config.data.patch_size = patch
    config.loss.vgg_random_init = True
    config.train.compute_dtype = dtype
    batch = random_batch(config, jax.random.key(1))
    jax_result = time_jax_step(config, batch, steps)
    torch_result = time_torch_step(config, batch, steps, patch=config.data.patch_size, dtype=dtype)
    return {"step": name, "config": f"configs/{config_name}.py", "batch": batch_size, "dtype": dtype,
            "patch": config.data.patch_size, "jax_s": jax_result["step_s"], "torch_s": torch_result["step_s"],
            "ratio": torch_result["step_s"] / jax_result["step_s"], "compile_s": jax_result["compile_s"],
            "finite": jax_result["finite"]}


def compare_restore(*, size: int, repeats: int, num_blocks: int = 23) -> dict:
    """RRDBNet x4 (64 features, ``num_blocks`` RRDBs) on one ``size`` x ``size`` RGB image: output
    megapixels per second of JAX's jitted apply and of a PyTorch inference-mode loop."""
    image = np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32)
    generator = RRDBNet(scale=4, num_blocks=num_blocks)
    variables = jax.jit(generator.init)(jax.random.key(0), image[:, :16, :16])
    restorer = ModelRestorer(generator, variables, task="sr", scale=4)
    jax.block_until_ready(restorer.apply(image))  # compile
    t0 = time.perf_counter()
    for _ in range(repeats):
        jax.block_until_ready(restorer.apply(image))
    jax_s = (time.perf_counter() - t0) / repeats

    device = _torch_device()
    model = TorchRRDBNet(4, 64, num_blocks).to(device).eval()
    x = torch.from_numpy(image).permute(0, 3, 1, 2).contiguous().to(device)
    with torch.inference_mode():
        model(x)
        _torch_sync(device)
        t0 = time.perf_counter()
        for _ in range(repeats):
            model(x).cpu()
        _torch_sync(device)
    torch_s = (time.perf_counter() - t0) / repeats
    mpix = (4 * size) ** 2 / 1e6
    return {"size": size, "jax_mpix_s": mpix / jax_s, "torch_mpix_s": mpix / torch_s, "ratio": torch_s / jax_s}


# (batch, side, in channels, out channels) of 3x3 convolutions the steps are made of: SRResNet's
# trunk at 24x24, a conv at a 96x96 HR patch, an RRDB dense conv (32 out) at 32x32 with
# batch 16, SRResNet's sub-pixel conv (256 out) at 48x48.
CONV_LAYERS = ((4, 24, 64, 64), (4, 96, 64, 64), (16, 32, 64, 32), (4, 48, 64, 256))


def compare_conv_layers(repeats: int = 20) -> list[dict]:
    """The profile behind the step ratios: one 3x3 'same' convolution, forward alone and
    forward + backward (gradients of input and kernel), XLA's against PyTorch's, in ms."""
    def conv(x, w):
        return jax.lax.conv_general_dilated(x, w, (1, 1), ((1, 1), (1, 1)),
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def timed(fn):
        fn()
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        return (time.perf_counter() - t0) / repeats * 1e3

    rows = []
    rng = np.random.default_rng(0)
    device = _torch_device()
    for b, side, cin, cout in CONV_LAYERS:
        x = rng.random((b, side, side, cin), dtype=np.float32)
        w = rng.random((3, 3, cin, cout), dtype=np.float32) * 0.01
        forward = jax.jit(conv)
        both = jax.jit(jax.grad(lambda x, w: jnp.sum(conv(x, w) ** 2), argnums=(0, 1)))
        jx, jw = jnp.asarray(x), jnp.asarray(w)
        tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(device).requires_grad_(True)
        tw = torch.from_numpy(w).permute(3, 2, 0, 1).contiguous().to(device).requires_grad_(True)

        def torch_forward():
            with torch.no_grad():
                torch.nn.functional.conv2d(tx, tw, padding=1)
            _torch_sync(device)

        def torch_both():
            (torch.nn.functional.conv2d(tx, tw, padding=1) ** 2).sum().backward()
            _torch_sync(device)

        rows.append({"shape": (b, side, side, cin, cout),
                     "jax_forward_ms": timed(lambda: jax.block_until_ready(forward(jx, jw))),
                     "torch_forward_ms": timed(torch_forward),
                     "jax_both_ms": timed(lambda: jax.block_until_ready(both(jx, jw))),
                     "torch_both_ms": timed(torch_both)})
    return rows


def print_conv_layers(rows: list[dict]) -> None:
    print("3x3 convolution, NHWC (batch, H, W, in, out): ms forward | forward+backward, XLA vs PyTorch")
    for r in rows:
        print(f"  {str(r['shape']):<22} forward {r['jax_forward_ms']:7.2f} vs {r['torch_forward_ms']:7.2f} "
              f"({r['torch_forward_ms'] / r['jax_forward_ms']:.2f}x)   fwd+bwd {r['jax_both_ms']:7.2f} vs "
              f"{r['torch_both_ms']:7.2f} ({r['torch_both_ms'] / r['jax_both_ms']:.2f}x)")


def print_comparison(rows: list[dict], restore: dict | None) -> None:
    device = jax.devices()[0]
    print(f"device: JAX {jax.__version__} on {device.platform}:{device.device_kind} x{jax.device_count()}; "
          f"PyTorch {torch.__version__} on {_torch_device()}")
    print(f"{'step':<10} {'config':<25} {'dtype':<9} {'batch':>5} {'HR':>4} {'JAX s/step':>11} "
          f"{'PyTorch s/step':>15} {'JAX speed-up':>13} {'JAX compile':>12}")
    for r in rows:
        print(f"{r['step']:<10} {r['config']:<25} {r['dtype']:<9} {r['batch']:>5} {r['patch']:>4} {r['jax_s']:>11.3f} "
              f"{r['torch_s']:>15.3f} {r['ratio']:>12.2f}x {r['compile_s']:>11.1f}s")
    if restore:
        print(f"restore   RRDBNet x4 on {restore['size']}x{restore['size']}: JAX {restore['jax_mpix_s']:.3f} "
              f"MPix/s, PyTorch {restore['torch_mpix_s']:.3f} MPix/s (output pixels), JAX speed-up "
              f"{restore['ratio']:.2f}x")
    print("speed-up = PyTorch time / JAX time (above 1: JAX is faster)")


def run_comparison(*, steps, batch_size: int, patch: int | None, repeats: int, dtype: str = "float32",
                   layers: bool = True, restore_size: int = 128) -> None:
    """What ``--compare=torch`` prints: single convolutions (``layers``), each step of ``steps``
    timed ``repeats`` times on both sides, and RRDBNet x4 inference at ``restore_size`` (0: skip)."""
    require_torch()
    if layers:
        print_conv_layers(compare_conv_layers())
    rows = [compare_step(name, batch_size=batch_size, patch=patch, steps=repeats, dtype=dtype) for name in steps]
    restore = compare_restore(size=restore_size, repeats=max(1, repeats // 5)) if restore_size > 0 else None
    print_comparison(rows, restore)
