"""Measures a config's training step: compile time, steps/s, images/s, memory.

    python -m jaxrestore.benchmark --config=configs/srgan.py [--steps=20] [--config.train.batch_size=32]
    python -m jaxrestore.benchmark --solver=map [--images=64 --iterations=100]
    python -m jaxrestore.benchmark --solver=iagan [--images=2 --csgm_iterations=4 --iagan_iterations=2]
    python -m jaxrestore.benchmark --solver=cg [--cg_sizes=32]
    python -m jaxrestore.benchmark --compare=torch [--compare_steps=srresnet,esrgan --compare_batch=4 --steps=5]
    python -m jaxrestore.benchmark --solver=baselines [--images=4 --baseline_task=sr --dip_size=128 --dip_iterations=5]

With ``--solver=map`` it times 002_*'s MAP latent search instead, batched against the
released code's per-image loop (see :mod:`jaxrestore.inverse.solver_benchmark`);
``--solver=iagan`` times 003_*'s CSGM and IAGAN the same two ways, and ``--solver=cg``
counts conjugate-gradient iterations of the Gaussian pseudo-inverse as m/n -> 1 (see
:mod:`jaxrestore.inverse.adaptive_benchmark`); ``--solver=baselines`` prints seconds per image
of TV, LR and Sparse at 64x64 and of DIP at 128x128 (extrapolated to its 2000 steps; see
:mod:`jaxrestore.inverse.baselines.benchmark`).

The step is the method's jitted ``train_step`` (or ``pretrain_step`` with
``--pretrain``) on random batches of the config's shape, so the figures are the
model's and not the data pipeline's. VGG weights do not change the speed: a
config whose VGG loss has no weights file runs on random VGG weights here (and
says so). Peak memory is the device's ``peak_bytes_in_use`` where the backend
reports it (GPU/TPU); on CPU it is XLA's compiled memory analysis (arguments +
outputs + temporaries) and the process's peak resident set size.
"""

from __future__ import annotations

import resource
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags
from ml_collections import config_flags

from jaxrestore.errors import reject_arguments, run_app, run_cli

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defined only when run as a command (``--config`` is also jaxrestore.main's flag)."""
    config_flags.DEFINE_config_file("config", None, "Experiment config file, e.g. configs/srgan.py.")
    flags.DEFINE_integer("steps", 20, "Timed steps (after one warm-up step).")
    flags.DEFINE_bool("pretrain", False, "Benchmark the fidelity-only pre-training step instead.")
    flags.DEFINE_enum("solver", None, ["map", "iagan", "cg", "baselines"], "Benchmark a solver instead of a "
                      "config's training step (map: 002_*'s MAP inpainting with a DCGAN prior; iagan: 003_*'s "
                      "CSGM and IAGAN with a BEGAN-layout prior; cg: CG on a Gaussian A A^T as m/n -> 1; "
                      "baselines: seconds per image of TV, LR, Sparse and DIP).")
    flags.DEFINE_integer("images", None, "--solver: images solved together (default: map 64, iagan 2, baselines 4).")
    flags.DEFINE_integer("iterations", 100, "--solver=map: iterations per image.")
    flags.DEFINE_integer("features", None, "--solver: generator width (default: map 64 = the released DCGAN, "
                         "iagan 128 = BEGAN's n).")
    flags.DEFINE_integer("loop_images", None, "--solver: images for the per-image loop (default: all).")
    flags.DEFINE_integer("csgm_iterations", 4, "--solver=iagan: CSGM iterations (the paper: 1600).")
    flags.DEFINE_integer("iagan_iterations", 2, "--solver=iagan: IAGAN iterations (the paper: 600).")
    flags.DEFINE_integer("restarts", 5, "--solver=iagan: CSGM random starts (the official code: 5).")
    flags.DEFINE_enum("operator", "fourier", ["fourier", "gaussian"], "--solver=iagan: measurements.")
    flags.DEFINE_float("ratio", 0.5, "--solver=iagan: compression ratio m/n.")
    flags.DEFINE_enum("gaussian_matrix", "auto", ["auto", "dense", "generated"], "--operator=gaussian: store the "
                      "matrix, or regenerate it per application (auto: stored if within a quarter of memory).")
    flags.DEFINE_list("cg_sizes", ["32"], "--solver=cg: image sides s (n = 3 s^2).")
    flags.DEFINE_list("baselines", ["tv", "lr", "sparse", "dip"], "--solver=baselines: the baselines to time.")
    flags.DEFINE_enum("baseline_task", "sr", ["sr", "inpaint", "denoise", "cs_fourier"], "--solver=baselines: "
                      "the task of TV, LR and Sparse at 64x64 (sr: bicubic x4; inpaint: centre 32x32 hole; "
                      "denoise: noise 0.1; cs_fourier: ratio 0.3, noise 10/255), with its tuned settings.")
    flags.DEFINE_integer("dip_size", 128, "--solver=baselines: DIP's image side (x4 SR, the official settings).")
    flags.DEFINE_integer("dip_iterations", 5, "--solver=baselines: DIP steps timed (extrapolated to 2000).")
    flags.DEFINE_enum("compare", None, ["torch"], "Time the training steps of --compare_steps in JAX and in "
                      "plain PyTorch in this process, and RRDBNet x4 inference (jaxrestore/benchmark_compare.py).")
    flags.DEFINE_list("compare_steps", ["srresnet", "srgan", "csrgan", "rrdbnet", "esrgan", "lsrgan"],
                      "--compare=torch: the steps to time.")
    flags.DEFINE_integer("compare_batch", 4, "--compare=torch: batch size of every step.")
    flags.DEFINE_integer("compare_patch", 0, "--compare=torch: HR patch side (0: each config's own, 96 or 128).")
    flags.DEFINE_bool("compare_layers", True, "--compare=torch: first time single 3x3 convolutions "
                      "(forward, forward+backward) in XLA and PyTorch, the profile behind the step ratios.")
    flags.DEFINE_integer("restore_size", 128, "--compare=torch: side of the image RRDBNet x4 restores "
                         "(0: skip the inference comparison).")
    flags.DEFINE_bool("pipeline", False, "With --config: also time the config's input pipeline (images/s with "
                      "--pipeline_workers worker processes) beside the step's consumption.")
    flags.DEFINE_list("pipeline_workers", ["0", "2"], "--pipeline: data.worker_count values to time.")
    flags.DEFINE_bool("memory", False, "With --config: print XLA's memory for the step without and with "
                      "model.remat (compiles twice, runs nothing).")
    flags.DEFINE_string("startup", None, "A config (e.g. configs/srresnet.py:quick): time two starts of "
                        "`jaxrestore.main` for one step with a fresh compilation cache, cold then warm.")
    flags.DEFINE_enum("compare_dtype", "float32", ["float32", "bfloat16"], "--compare=torch: JAX's "
                      "train.compute_dtype, and torch.autocast to bfloat16 on the PyTorch side.")
    flags.DEFINE_integer("dip_channels", None, "--solver=baselines: DIP's channels per scale (default: the "
                         "official 128; fewer for a quick check).")


def random_batch(config, key) -> dict:
    """A batch of the config's shapes (the arrays, channels and sizes of its task), uniform pixels."""
    from jaxrestore.tasks import build_task  # not jaxrestore.train, which imports clu

    shapes = build_task(config.task).example_shapes(config.data.patch_size)
    keys = jax.random.split(key, len(shapes))
    b = config.train.batch_size
    return {name: jax.random.uniform(k, (b, *shape)) for k, (name, shape) in zip(keys, sorted(shapes.items()))}


def benchmark(config, *, steps: int, pretrain: bool = False) -> dict:
    from jaxrestore.methods import build_method

    if config.loss.fidelity == "vgg" and not config.loss.vgg_weights:
        with config.unlocked():
            config.loss.vgg_random_init = True
        print("note: no VGG weights given; timing with random VGG weights (same speed).", file=sys.stderr)
    method = build_method(config)
    key = jax.random.key(0)
    batch = random_batch(config, key)
    state = method.init(key, batch)
    fn = method.pretrain_step if pretrain else method.train_step
    jitted = jax.jit(fn, donate_argnums=(1,))

    t0 = time.perf_counter()
    compiled = jitted.lower(method.frozen, state, batch, key).compile()
    compile_s = time.perf_counter() - t0

    state, metrics = compiled(method.frozen, state, batch, key)  # warm-up
    jax.block_until_ready((state, metrics))
    t0 = time.perf_counter()
    for i in range(steps):
        state, metrics = compiled(method.frozen, state, batch, jax.random.fold_in(key, i))
    jax.block_until_ready((state, metrics))
    elapsed = time.perf_counter() - t0

    device = jax.devices()[0]
    stats = device.memory_stats() or {}
    analysis = compiled.memory_analysis()
    xla_bytes = None
    if analysis is not None:
        xla_bytes = (analysis.argument_size_in_bytes + analysis.output_size_in_bytes
                     + analysis.temp_size_in_bytes - analysis.alias_size_in_bytes)
    return {
        "device": f"{device.platform}:{device.device_kind} x{jax.device_count()}",
        "method": config.method + (" (pretrain step)" if pretrain else ""),
        "batch": config.train.batch_size,
        "hr_patch": config.data.patch_size,
        "compute_dtype": config.train.get("compute_dtype", "float32"),
        "compile_s": compile_s,
        "steps_per_s": steps / elapsed,
        "images_per_s": steps * config.train.batch_size / elapsed,
        "peak_device_bytes": stats.get("peak_bytes_in_use"),
        "xla_step_bytes": xla_bytes,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "finite": bool(np.isfinite(float(jnp.asarray(metrics["train/g_loss"])))),
    }


def pipeline_rate(config, *, workers: int, batches: int) -> float:
    """Images per second the config's training pipeline (``data.train``, crops, degradation,
    batching) delivers with ``workers`` grain worker processes, after its first batch."""
    from jaxrestore import parallel
    from jaxrestore.tasks import build_task

    with config.unlocked():
        config.data.worker_count = workers
    batch_size = parallel.per_process_batch_size(config.train.batch_size)
    iterator = iter(build_task(config.task).train_dataset(config.data, batch_size=batch_size, seed=0))
    next(iterator)  # start-up: workers, first reads
    t0 = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    rate = batches * batch_size / (time.perf_counter() - t0)
    close = getattr(iterator, "close", None)
    if close:
        close()
    return rate


def step_memory(config, *, pretrain: bool = False) -> int:
    """XLA's memory for one compiled training step of ``config`` (arguments + outputs +
    temporaries, less donated buffers), in bytes, without running it."""
    from jaxrestore.methods import build_method

    if config.get("loss", {}).get("fidelity") == "vgg" or config.get("loss", {}).get("perceptual") == "vgg":
        with config.unlocked():
            config.loss.vgg_random_init = True
    method = build_method(config)
    key = jax.random.key(0)
    batch = jax.eval_shape(lambda: random_batch(config, key))
    state = jax.eval_shape(lambda: method.init(key, jax.tree.map(jnp.zeros_like, random_batch(config, key))))
    fn = method.pretrain_step if pretrain else method.train_step
    analysis = jax.jit(fn, donate_argnums=(1,)).lower(method.frozen, state, batch, key).compile().memory_analysis()
    return int(analysis.argument_size_in_bytes + analysis.output_size_in_bytes + analysis.temp_size_in_bytes
               - analysis.alias_size_in_bytes)


def startup_times(config_arg: str) -> dict:
    """Wall seconds of two one-step runs of ``config_arg`` (fresh workdirs, one fresh compilation
    cache): the first compiles everything, the second loads the programs from the cache."""
    import subprocess
    import tempfile

    times = {}
    with tempfile.TemporaryDirectory(prefix="jaxrestore-startup-") as tmp:
        for run in ("cold", "warm"):
            command = [sys.executable, "-m", "jaxrestore.main", f"--config={config_arg}", f"--workdir={tmp}/{run}",
                       "--config.train.num_steps=1", "--config.eval.data=", f"--compilation_cache={tmp}/cache"]
            t0 = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True)
            times[run] = time.perf_counter() - t0
            if result.returncode != 0:
                from jaxrestore.errors import ConfigError

                raise ConfigError(f"the {run} start of {config_arg} failed: {result.stderr.strip().splitlines()[-1]}")
    return {"config": config_arg, **times}


def print_startup(r: dict) -> None:
    print(f"start-up of one step of {r['config']} (process start to exit): cold cache {r['cold']:.1f} s, "
          f"warm cache {r['warm']:.1f} s")


def _mib(n):
    return "n/a" if n is None else f"{n / 2**20:.0f} MiB"


def _main(argv) -> None:
    reject_arguments(argv, "jaxrestore.benchmark")
    if FLAGS.startup:
        print_startup(startup_times(FLAGS.startup))
        return
    if FLAGS.compare == "torch":
        from jaxrestore import benchmark_compare as bc
        from jaxrestore.benchmark_torch import require_torch

        require_torch()
        if FLAGS.compare_layers:
            bc.print_conv_layers(bc.compare_conv_layers())
        rows = [bc.compare_step(name, batch_size=FLAGS.compare_batch, patch=FLAGS.compare_patch or None,
                                steps=FLAGS.steps, dtype=FLAGS.compare_dtype) for name in FLAGS.compare_steps]
        restore = (bc.compare_restore(size=FLAGS.restore_size, repeats=max(1, FLAGS.steps // 5))
                   if FLAGS.restore_size > 0 else None)
        bc.print_comparison(rows, restore)
        return
    if FLAGS.solver == "map":
        from jaxrestore.inverse.solver_benchmark import benchmark_map, print_map_benchmark

        print_map_benchmark(benchmark_map(images=FLAGS.images or 64, iterations=FLAGS.iterations,
                                          features=FLAGS.features or 64, loop_images=FLAGS.loop_images))
        return
    if FLAGS.solver == "iagan":
        from jaxrestore.inverse.adaptive_benchmark import benchmark_adaptive, print_adaptive_benchmark

        print_adaptive_benchmark(benchmark_adaptive(
            images=FLAGS.images or 2, csgm_iterations=FLAGS.csgm_iterations, iagan_iterations=FLAGS.iagan_iterations,
            restarts=FLAGS.restarts, features=FLAGS.features or 128, operator=FLAGS.operator, ratio=FLAGS.ratio,
            gaussian_matrix=FLAGS.gaussian_matrix, loop_images=FLAGS.loop_images))
        return
    if FLAGS.solver == "cg":
        from jaxrestore.inverse.adaptive_benchmark import benchmark_cg, print_cg_benchmark

        print_cg_benchmark(benchmark_cg(sizes=FLAGS.cg_sizes))
        return
    if FLAGS.solver == "baselines":
        from jaxrestore.inverse.baselines.benchmark import benchmark_baselines, print_baselines_benchmark

        print_baselines_benchmark(benchmark_baselines(
            images=FLAGS.images or 4, task=FLAGS.baseline_task, baselines=FLAGS.baselines,
            dip_size=FLAGS.dip_size, dip_iterations=FLAGS.dip_iterations, dip_channels=FLAGS.dip_channels))
        return
    if FLAGS.config is None:
        from jaxrestore.errors import ConfigError

        raise ConfigError("benchmark needs --config=configs/<name>.py (a training step) or --solver=map|iagan|cg|baselines.")
    if FLAGS.memory:
        for remat in (False, True):
            config = FLAGS.config
            with config.unlocked():
                config.model.remat = remat
            print(f"XLA step memory, model.remat={remat}: "
                  f"{_mib(step_memory(config, pretrain=FLAGS.pretrain))} (arguments + outputs + temporaries)")
        return
    rates = {}
    if FLAGS.pipeline:  # before the step, so its compile does not share the cores with the workers
        for workers in FLAGS.pipeline_workers:
            rates[int(workers)] = pipeline_rate(FLAGS.config, workers=int(workers), batches=max(FLAGS.steps, 5))
    r = benchmark(FLAGS.config, steps=FLAGS.steps, pretrain=FLAGS.pretrain)
    print(f"device            {r['device']}")
    print(f"method            {r['method']}, batch {r['batch']}, HR patch {r['hr_patch']}, "
          f"compute {r['compute_dtype']}")
    print(f"compile time      {r['compile_s']:.1f} s")
    print(f"steps/s           {r['steps_per_s']:.3f}")
    print(f"images/s          {r['images_per_s']:.1f}")
    print(f"peak device mem   {_mib(r['peak_device_bytes'])}")
    print(f"XLA step memory   {_mib(r['xla_step_bytes'])} (arguments + outputs + temporaries)")
    print(f"peak process RSS  {_mib(r['peak_rss_bytes'])}")
    for workers, rate in rates.items():
        print(f"input pipeline    {rate:.1f} images/s with data.worker_count={workers} "
              f"({rate / r['images_per_s']:.1f}x what the step consumes)")


def main() -> None:
    define_flags()
    run_app(lambda argv: run_cli(lambda: _main(argv)))


if __name__ == "__main__":
    main()
