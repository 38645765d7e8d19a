"""Data-parallel training: 2 devices give the same run as 1 device for the same global batch."""

import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from conftest import REPO
from jaxrestore.runtime.checkpoints import restore_on_this_host
from jaxrestore.errors import ConfigError
from jaxrestore.runtime.parallel import per_process_batch_size
from jaxrestore.train import train_and_evaluate

# Adam eps = 1 (see test_methods.py): with eps = 1e-8 the float noise in the exactly-zero gradients
# of conv biases in front of BatchNorm becomes full steps of random sign, which a different
# reduction order (2 devices) flips; eps = 1 keeps the step a smooth function of the gradient.
# 48-pixel patches and 16 D features: a well-conditioned step (D_SETUP in tests/test_methods.py);
# the D here moves (d_lr 2e-3).
OVERRIDES = {"train.pretrain_steps": 1, "train.num_steps": 3, "train.checkpoint_every": 3,
             "train.batch_size": 4, "eval.data": "", "optimizer.eps": 1.0, "data.patch_size": 48,
             "model.d_features": 16,
             "data.train": "procedural:deadleaves:count=16:size=64:seed=0"}

SCRIPT = """
import sys, jax
sys.path.insert(0, "tests")
from conftest import tiny_config
from jaxrestore.train import train_and_evaluate
assert jax.device_count() == 2, jax.devices()
train_and_evaluate(tiny_config("csrgan", **{overrides!r}), {workdir!r})
"""


def final_state(workdir):
    import orbax.checkpoint as ocp

    manager = ocp.CheckpointManager(workdir / "checkpoints", item_handlers={"state": ocp.StandardCheckpointHandler()})
    return restore_on_this_host(manager, 3, "state")  # saved on 2 devices, read on 1


def test_two_devices_equal_one_device(make_config, tmp_path):
    assert jax.device_count() == 1
    train_and_evaluate(make_config("csrgan", **OVERRIDES), str(tmp_path / "one"))
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": f"--xla_force_host_platform_device_count=2 {os.environ['XLA_FLAGS']}"}
    script = SCRIPT.format(overrides=OVERRIDES, workdir=str(tmp_path / "two"))
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, two = final_state(tmp_path / "one"), final_state(tmp_path / "two")
    leaves_one = jax.tree_util.tree_leaves_with_path(one)
    leaves_two = jax.tree.leaves(two)
    assert len(leaves_one) == len(leaves_two)
    for (path, a), b in zip(leaves_one, leaves_two):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5,
                                   err_msg=jax.tree_util.keystr(path))
    d_start = make_config("csrgan", **OVERRIDES)
    assert float(one["d"]["opt_state"]["count"]) == 2 and d_start.optimizer.d_lr > 0  # D took 2 real steps


def test_batch_must_split_over_devices():
    assert per_process_batch_size(6) == 6
    with pytest.raises(ConfigError, match="does not split over"):
        from unittest import mock

        with mock.patch.object(jax, "device_count", return_value=4):
            per_process_batch_size(6)
