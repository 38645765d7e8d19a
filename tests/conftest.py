"""Shared test fixtures: tiny configs built from the real config files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# The tests' models are tiny, so XLA's compile time dominates the suite; the unoptimised CPU
# backend compiles 3-4x faster, and without the MLIR fusion emitters an ESRGAN-family step
# compiles in about half the time again (measured, 4.9 s against 2.5 s). Numbers compared within a
# test come from the same setting (subprocesses the tests start inherit it).
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false")
# Tests that force several host devices run collectives (psum, all-reduce) whose participants are
# threads; on a 2-core machine busy with another test worker one participant can arrive more than
# XLA's default 40 s after the first, and XLA then aborts the process (a CI run failed so). The
# tests compare numbers, not speed, so the rendezvous may wait as long as the test's own timeout.
if "collective_call_terminate_timeout" not in os.environ["XLA_FLAGS"]:
    os.environ["XLA_FLAGS"] += (" --xla_cpu_collective_call_terminate_timeout_seconds=900"
                                " --xla_cpu_collective_timeout_seconds=900")
# Many tests build the same programs again (a resumed run recompiles what the uninterrupted run
# compiled; command-line tests start new processes), so the session shares XLA's persistent
# compilation cache: in a fresh directory, removed at exit, inherited by the subprocesses the
# tests start. A cache hit returns the executable the compiler built, so no number changes.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    import atexit
    import shutil
    import tempfile

    _cache = tempfile.mkdtemp(prefix="jaxrestore-tests-xla-cache-")
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO / ".." / "shared" / "data"
sys.path.insert(0, str(REPO))

import pytest  # noqa: E402


def tiny_config(name: str = "srgan", **overrides):
    """configs/<name>.py:quick shrunk to a model that trains in seconds on a CPU."""
    import importlib

    module = importlib.import_module(f"configs.{name}")
    c = module.get_config("quick")
    c.model.num_blocks = 1
    c.model.features = 8
    c.model.d_features = 8
    c.train.batch_size = 2
    c.data.patch_size = 16
    c.data.num_threads = 1
    c.data.prefetch_buffer = 1
    c.data.train = "procedural:deadleaves:count=64:size=32:seed=0"
    c.eval.data = "procedural:deadleaves:count=2:size=24:seed=99"
    c.train.pretrain_steps = 0
    c.train.log_every = 1
    c.train.eval_every = 1000
    c.train.checkpoint_every = 1000
    c.train.grid_images = 1
    return apply_overrides(c, overrides)


def checkpoint_state(workdir, step):
    """The raw training state a run saved at ``step`` (orbax, read back as saved)."""
    import orbax.checkpoint as ocp

    manager = ocp.CheckpointManager(workdir / "checkpoints", item_names=("state",))
    state = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))["state"]
    manager.close()
    return state


def apply_overrides(c, overrides: dict):
    """Sets ``{"a.b": value}`` fields of a config, as --config.a.b=value does."""
    for key, value in overrides.items():
        target = c
        *parents, leaf = key.split(".")
        for p in parents:
            target = target[p]
        target[leaf] = value
    return c


@pytest.fixture
def make_config():
    return tiny_config


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A tiny SRResNet x4 run directory trained for 3 steps (checkpoint + best)."""
    from jaxrestore.train import train_and_evaluate

    workdir = tmp_path_factory.mktemp("run")
    config = tiny_config("srresnet", **{"train.num_steps": 3, "train.eval_every": 3})
    train_and_evaluate(config, str(workdir))
    return workdir
