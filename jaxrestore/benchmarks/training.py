"""Training-step benchmarks (``python -m jaxrestore.benchmark --config=...``): a config's jitted
step timed on random batches of its shapes (compile time, steps/s, images/s, memory), its input
pipeline's rate, XLA's step memory with and without rematerialisation, and the start-up of a
one-step run with a cold and a warm compilation cache.

The step is the method's jitted ``train_step`` (or ``pretrain_step``) on random batches of the
config's shape, so the figures are the model's and not the data pipeline's. VGG weights do not
change the speed: a config whose VGG loss has no weights file runs on random VGG weights here
(and says so). Peak memory is the device's ``peak_bytes_in_use`` where the backend reports it
(GPU/TPU); on CPU it is XLA's compiled memory analysis (arguments + outputs + temporaries) and
the process's peak resident set size.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxrestore.errors import ConfigError
from jaxrestore.runtime import parallel
from jaxrestore.training.methods import build_method
from jaxrestore.training.tasks import build_task, example_shapes


def random_batch(config, key) -> dict:
    """A batch of the config's shapes (the arrays, channels and sizes of its task), uniform pixels."""
    shapes = example_shapes(config)  # the task's (not jaxrestore.train, which imports clu)
    keys = jax.random.split(key, len(shapes))
    b = config.train.batch_size
    return {name: jax.random.uniform(k, (b, *shape)) for k, (name, shape) in zip(keys, sorted(shapes.items()))}


def benchmark(config, *, steps: int, pretrain: bool = False) -> dict:
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
    times = {}
    with tempfile.TemporaryDirectory(prefix="jaxrestore-startup-") as tmp:
        for run in ("cold", "warm"):
            command = [sys.executable, "-m", "jaxrestore.main", f"--config={config_arg}", f"--workdir={tmp}/{run}",
                       "--config.train.num_steps=1", "--config.eval.data=", f"--compilation_cache={tmp}/cache"]
            t0 = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True)
            times[run] = time.perf_counter() - t0
            if result.returncode != 0:
                raise ConfigError(f"the {run} start of {config_arg} failed: {result.stderr.strip().splitlines()[-1]}")
    return {"config": config_arg, **times}


def print_startup(r: dict) -> None:
    print(f"start-up of one step of {r['config']} (process start to exit): cold cache {r['cold']:.1f} s, "
          f"warm cache {r['warm']:.1f} s")


def _mib(n):
    return "n/a" if n is None else f"{n / 2**20:.0f} MiB"


def print_remat_memory(config, *, pretrain: bool = False) -> None:
    """XLA's step memory of ``config`` without and with ``model.remat``."""
    for remat in (False, True):
        with config.unlocked():
            config.model.remat = remat
        print(f"XLA step memory, model.remat={remat}: "
              f"{_mib(step_memory(config, pretrain=pretrain))} (arguments + outputs + temporaries)")


def print_benchmark(r: dict, rates: dict | None = None) -> None:
    """The figures of :func:`benchmark`, and the input pipeline's ``rates`` (workers -> images/s)."""
    print(f"device            {r['device']}")
    print(f"method            {r['method']}, batch {r['batch']}, HR patch {r['hr_patch']}, "
          f"compute {r['compute_dtype']}")
    print(f"compile time      {r['compile_s']:.1f} s")
    print(f"steps/s           {r['steps_per_s']:.3f}")
    print(f"images/s          {r['images_per_s']:.1f}")
    print(f"peak device mem   {_mib(r['peak_device_bytes'])}")
    print(f"XLA step memory   {_mib(r['xla_step_bytes'])} (arguments + outputs + temporaries)")
    print(f"peak process RSS  {_mib(r['peak_rss_bytes'])}")
    for workers, rate in (rates or {}).items():
        print(f"input pipeline    {rate:.1f} images/s with data.worker_count={workers} "
              f"({rate / r['images_per_s']:.1f}x what the step consumes)")


def benchmark_config(config, *, steps: int, pretrain: bool = False, memory: bool = False, pipeline: bool = False,
                     pipeline_workers=("0", "2")) -> None:
    """What ``--config`` prints: the step (after the input pipeline's rates, so that its compile does
    not share the cores with the workers), or XLA's memory without and with remat."""
    if memory:
        print_remat_memory(config, pretrain=pretrain)
        return
    rates = {}
    if pipeline:
        for workers in pipeline_workers:
            rates[int(workers)] = pipeline_rate(config, workers=int(workers), batches=max(steps, 5))
    print_benchmark(benchmark(config, steps=steps, pretrain=pretrain), rates)
