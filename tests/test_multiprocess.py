"""Real multi-process training: two processes on this machine with jax.distributed (CPU, a local
coordinator), as the launch scripts start them, against one process with the same global batch."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np

from conftest import REPO
from jaxrestore.runtime import checkpoints

# RRDBNet on L1 (001_* stage 1): no BatchNorm, so no conv bias whose gradient is zero but for rounding
# (Adam would turn that rounding into +-lr steps that differ between summation orders).
CONFIG = "configs/rrdbnet_psnr.py:quick"
FLAGS = ["--config.model.num_blocks=1", "--config.model.features=8",
         "--config.model.growth=8", "--config.model.encoder=", "--config.train.pretrain_steps=0",
         "--config.train.batch_size=4", "--config.data.patch_size=16",
         "--config.data.num_threads=1", "--config.data.prefetch_buffer=1",
         "--config.data.train=procedural:deadleaves:count=64:size=32:seed=0",
         "--config.eval.data=procedural:deadleaves:count=2:size=24:seed=99", "--config.train.grid_images=1",
         "--config.train.log_every=1", "--config.train.eval_every=2", "--config.train.checkpoint_every=2"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train(workdir, processes: int, steps: int) -> None:
    flags = [*FLAGS, f"--config.train.num_steps={steps}"]
    if processes == 1:
        commands = [[sys.executable, "-m", "jaxrestore.main", f"--config={CONFIG}", f"--workdir={workdir}", *flags]]
    else:  # what a user runs: launch/multihost.sh, once per process
        address = f"127.0.0.1:{free_port()}"
        commands = [["bash", "launch/multihost.sh", address, str(processes), str(i), CONFIG, str(workdir), *flags]
                    for i in range(processes)]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}  # the script's python
    procs = [subprocess.Popen(c, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for c in commands]
    outputs = [p.communicate(timeout=900) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-4000:]


def checkpoint_state(workdir, step):
    """The saved state as NumPy arrays, whatever the number of processes that saved it."""
    manager = checkpoints.state_manager(workdir)
    state = checkpoints.restore_on_this_host(manager, step, "state")
    manager.close()
    return state


def assert_same_state(a, b, what):
    # Two processes sum the batch's gradient in another order than one (each process its share,
    # then a gloo all-reduce), so the runs agree to float rounding, not bit for bit.
    for (path, x), (_, y) in zip(jax.tree_util.tree_leaves_with_path(a), jax.tree_util.tree_leaves_with_path(b),
                                 strict=True):
        x, y = np.asarray(x), np.asarray(y)
        scale = max(float(np.abs(x).max()), 1e-30)
        assert float(np.abs(x - y).max()) <= 1e-4 * scale, (what, jax.tree_util.keystr(path))


def test_two_processes_train_as_one_and_checkpoints_move_between_process_counts(tmp_path):
    two, one = tmp_path / "two", tmp_path / "one"
    train(two, 2, 4)
    train(one, 1, 4)
    assert checkpoints.completed_steps(two) == checkpoints.completed_steps(one) == [2, 4]
    assert_same_state(checkpoint_state(one, 4), checkpoint_state(two, 4), "2 processes vs 1 at step 4")
    # Only process 0 writes logs and samples.
    assert len(list(two.glob("events.out.tfevents.*"))) == 1
    assert sorted(p.name for p in (two / "samples").iterdir()) == ["grid_00000002.png", "grid_00000004.png"]
    # A checkpoint written by two processes resumes in one, and one written by one in two.
    train(two, 1, 6)
    train(one, 2, 6)
    assert_same_state(checkpoint_state(one, 6), checkpoint_state(two, 6), "resumed across process counts")
    assert int(np.asarray(checkpoint_state(two, 6)["step"])) == 6
