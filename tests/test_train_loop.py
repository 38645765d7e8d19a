"""The loop's host syncs: device-side metric sums, divergence between log points, stopping on
SIGTERM / Ctrl-C with a checkpoint, and the persistent compilation cache."""

import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO, checkpoint_state
from jaxrestore.errors import TrainingDiverged
from jaxrestore.train import train_and_evaluate


def logged_scalars(workdir) -> dict:
    """{tag: {step: value}} from a run's TensorBoard event files."""
    out: dict = {}
    for path in sorted(workdir.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                array = tf.make_ndarray(value.tensor) if value.HasField("tensor") else None
                if array is not None and array.ndim == 0 and array.dtype.kind == "f":  # scalars only
                    out.setdefault(value.tag, {})[event.step] = float(array)
    return out


def test_device_side_means_equal_the_per_step_values(make_config, tmp_path):
    # cSRGAN with 2 pre-training steps: the two step functions return different metric names,
    # and one log window (steps 1-3) holds both kinds of step.
    overrides = {"train.pretrain_steps": 2, "train.num_steps": 6, "eval.data": ""}
    train_and_evaluate(make_config("csrgan", **overrides, **{"train.log_every": 1}), str(tmp_path / "each"))
    train_and_evaluate(make_config("csrgan", **overrides, **{"train.log_every": 3}), str(tmp_path / "every3"))
    each, every3 = logged_scalars(tmp_path / "each"), logged_scalars(tmp_path / "every3")
    # runtime.scalars.read_scalars (what the notebooks plot) reads the same values as this reader.
    from jaxrestore.runtime.scalars import read_scalars

    read = read_scalars(tmp_path / "every3")
    assert {tag: {step: v for step, _, v in points} for tag, points in read.items() if tag in every3} == every3
    assert sorted(each["train/g_loss"]) == [1, 2, 3, 4, 5, 6]
    assert sorted(every3["train/g_loss"]) == [3, 6]
    for tag in ("train/g_loss", "train/d_loss", "train/accept_rate", "train/fidelity_loss"):
        for end in (3, 6):
            steps = [s for s in range(end - 2, end + 1) if s in each.get(tag, {})]
            if not steps:
                assert end not in every3.get(tag, {})
                continue
            expected = np.mean([each[tag][s] for s in steps])
            assert every3[tag][end] == pytest.approx(expected, rel=1e-6, abs=1e-7), (tag, end)
    assert set(each["train/d_loss"]) == {3, 4, 5, 6}  # D trains from the first GAN step only


def test_divergence_between_log_points_names_its_step_and_saves_nothing_after(make_config, tmp_path):
    config = make_config("srresnet", **{"train.num_steps": 5, "eval.data": ""})
    train_and_evaluate(config, str(tmp_path))  # checkpoint at step 5
    config.train.num_steps = 9
    config.train.log_every = 100
    config.train.checkpoint_every = 4  # the first sync point after step 5 is the step-8 checkpoint
    config.optimizer.g_lr = float("inf")  # step 6 makes the weights infinite
    with pytest.raises(TrainingDiverged, match=r"diverged at step 6 .*checkpoint \(step 5\).*intact"):
        train_and_evaluate(config, str(tmp_path))
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit()) == ["5"]
    state = checkpoint_state(tmp_path, 5)
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(state))


TINY_FLAGS = ["--config.model.num_blocks=1", "--config.model.features=8", "--config.model.d_features=8",
              "--config.train.batch_size=2",
              "--config.data.patch_size=16", "--config.data.num_threads=1", "--config.data.prefetch_buffer=1",
              "--config.data.train=procedural:deadleaves:count=64:size=32:seed=0", "--config.eval.data=",
              "--config.train.log_every=1000", "--config.train.checkpoint_every=100000"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_saves_the_current_step_and_the_rerun_resumes_exactly(make_config, tmp_path, signum):
    workdir = tmp_path / "stopped"
    command = [sys.executable, "-m", "jaxrestore.main", "--config=configs/srresnet.py:quick",
               f"--workdir={workdir}", "--config.train.num_steps=100000", *TINY_FLAGS]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 600
        for line in proc.stderr:  # wait until the loop runs steps
            if "First step (with compilation)" in line or time.time() > deadline:
                break
        time.sleep(1.0)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    name = signal.Signals(signum).name
    assert lines[0].startswith(f"stopped by {name} at step "), lines[0]
    step = int(lines[0].split(" at step ")[1].split()[0])
    assert step >= 1
    assert f"checkpoint saved in {workdir / 'checkpoints' / str(step)};" in lines[0]
    assert "Traceback" not in stderr
    # The rerun (to two steps further) equals a run that was never stopped.
    overrides = {"train.num_steps": step + 2, "eval.data": "", "train.log_every": 1000,
                 "train.checkpoint_every": 100000}
    train_and_evaluate(make_config("srresnet", **overrides), str(workdir))
    train_and_evaluate(make_config("srresnet", **overrides), str(tmp_path / "straight"))
    resumed, straight = checkpoint_state(workdir, step + 2), checkpoint_state(tmp_path / "straight", step + 2)
    for (path, x), (_, y) in zip(jax.tree_util.tree_leaves_with_path(straight),
                                 jax.tree_util.tree_leaves_with_path(resumed), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=jax.tree_util.keystr(path))


CACHE_PROBE = """
import sys
from collections import Counter
import jax
events = Counter()
jax.monitoring.register_event_listener(lambda name, **kw: events.update([name]))
from jaxrestore import main
sys.argv = ["jaxrestore.main", *sys.argv[1:]]
try:
    main.run()
finally:
    print("hits", events["/jax/compilation_cache/cache_hits"], "misses",
          events["/jax/compilation_cache/cache_misses"], file=sys.stderr)
"""


def test_the_compilation_cache_is_on_by_default_and_a_second_start_uses_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache_home")  # the default place, under the user's cache home
    env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    counts = []
    for run in ("first", "second"):
        result = subprocess.run(
            [sys.executable, "-c", CACHE_PROBE, "--config=configs/srresnet.py:quick",
             f"--workdir={tmp_path / run}", "--config.train.num_steps=2", *TINY_FLAGS],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        hits, misses = map(int, result.stderr.strip().splitlines()[-1].split()[1::2])
        counts.append((hits, misses))
    cache = tmp_path / "cache_home" / "jaxrestore" / "xla"
    assert cache.is_dir() and any(cache.iterdir())
    (first_hits, first_misses), (second_hits, second_misses) = counts
    assert first_hits == 0 and first_misses > 0
    assert second_misses == 0 and second_hits == first_misses, counts


def test_plot_scalar_draws_a_logged_tag_against_steps_and_minutes(trained_run, tmp_path):
    from jaxrestore.errors import ConfigError
    from jaxrestore.plot import main as plot_main
    from jaxrestore.plot import plot_scalar

    psnr = logged_scalars(trained_run)["eval/psnr_y"]  # this file's own reader
    out = tmp_path / "curve.png"
    line = plot_scalar([("tiny", str(trained_run))], str(out), x="step", references=[("SRCNN", 30.48)])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert line.endswith(f"tiny: {psnr[max(psnr)]:.4f} at {max(psnr):.1f} step)")
    plot_main(["plot", "scalar", f"--run=tiny={trained_run}", f"--output={tmp_path / 'minutes.png'}",
               "--reference=SRCNN=30.48"])
    assert (tmp_path / "minutes.png").is_file()
    with pytest.raises(ConfigError, match="logged no 'eval/nope'; it logged .*eval/psnr_y"):
        plot_scalar([("tiny", str(trained_run))], str(tmp_path / "x.png"), tag="eval/nope")
    with pytest.raises(ConfigError, match="--x=epoch does not apply to the scalar plot"):
        plot_scalar([("tiny", str(trained_run))], str(tmp_path / "x.png"), x="epoch")
    with pytest.raises(ConfigError, match="is not NAME=VALUE"):
        plot_main(["plot", "scalar", f"--run=tiny={trained_run}", f"--output={tmp_path / 'y.png'}",
                   "--reference=SRCNN"])
