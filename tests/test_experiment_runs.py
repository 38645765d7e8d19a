"""The restoration experiments' workdirs are runs (jaxrestore/inverse/experiments/runs.py): they
refuse another run's workdir and leave it untouched, show a finished run instead of recomputing
it, and resume a killed run to the results of an uninterrupted one; and the records and messages
of a run say what shaped it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from configs import gan_prior, iagan
from conftest import REPO, apply_overrides
from jaxrestore.errors import CheckpointError, ConfigError
from jaxrestore.inverse import load_prior
from jaxrestore.inverse.experiments import gan_prior as gan_prior_experiment
from jaxrestore.inverse.experiments import iagan as iagan_experiment
from jaxrestore.train import train_and_evaluate
from test_began import prior_config as began_config
from test_unconditional_gan import prior_config as dcgan_config

TIMINGS = ("seconds_per_image", "compile_s")


@pytest.fixture(scope="module")
def dcgan_prior(tmp_path_factory):
    """A tiny 16x16 DCGAN prior (z of 16), trained for 2 steps by the training loop."""
    workdir = tmp_path_factory.mktemp("dcgan")
    train_and_evaluate(dcgan_config(**{"train.num_steps": 2, "train.eval_every": 2, "train.checkpoint_every": 2}),
                       str(workdir))
    return workdir


def config_002(task: str, prior, **overrides):
    c = gan_prior.get_config(f"task={task}")
    c.prior = str(prior)
    c.task.hole = 8
    c.data.test = "procedural:faces:count=3:size=16:seed=5"
    c.solver.iterations, c.solver.chunk = 4, 1
    c.figure_images = 2
    c.methods = "naive,tv,ours"
    return apply_overrides(c, overrides)


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def without_timings(value):
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMINGS and not k.endswith("_compile_s")}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def test_the_priors_own_run_as_workdir_is_refused_and_left_byte_for_byte(dcgan_prior):
    before = snapshot(dcgan_prior)
    with pytest.raises(CheckpointError, match=r"holds a training run \(method 'unconditional_gan', task 'generate'\)"
                                              r"; an experiment writes into a workdir of its own, so nothing was "
                                              r"written: pass a new --workdir \(e.g\. .*_inpaint\)"):
        gan_prior_experiment.run(config_002("inpaint", dcgan_prior), str(dcgan_prior))
    assert snapshot(dcgan_prior) == before
    load_prior(str(dcgan_prior))  # still a prior


def test_another_config_is_refused_and_a_finished_run_is_shown_not_recomputed(dcgan_prior, tmp_path):
    workdir = tmp_path / "run"
    first = gan_prior_experiment.run(config_002("inpaint", dcgan_prior), str(workdir))
    assert not (workdir / "progress").exists()  # the finished chunks go once the results are written
    before = snapshot(workdir)
    with pytest.raises(CheckpointError, match=r"holds a gan_prior experiment with another config \(solver.iterations "
                                              r"\(4 there, 5 here\)\); pass a new --workdir"):
        gan_prior_experiment.run(config_002("inpaint", dcgan_prior, **{"solver.iterations": 5}), str(workdir))
    with pytest.raises(CheckpointError, match="task.name .'inpaint' there, 'sr' here"):
        gan_prior_experiment.run(config_002("sr", dcgan_prior), str(workdir))
    shown = gan_prior_experiment.run(config_002("inpaint", dcgan_prior, **{"figure_images": 1}), str(workdir))
    assert shown == json.loads((workdir / "results.json").read_text())
    assert without_timings(shown) == without_timings(first)
    assert snapshot(workdir) == before  # nothing written: not even config.json
    again = gan_prior_experiment.run(config_002("inpaint", dcgan_prior, **{"recompute": True}), str(workdir))
    assert without_timings(again) == without_timings(first)
    assert json.loads((workdir / "config.json").read_text())["recompute"] is True


def test_a_workdir_with_results_but_no_config_is_refused(dcgan_prior, tmp_path):
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(CheckpointError, match="holds results.json but no config.json"):
        gan_prior_experiment.run(config_002("inpaint", dcgan_prior), str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def _main(*args, **kwargs):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.Popen([sys.executable, "-m", "jaxrestore.main", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_a_killed_run_resumes_to_the_results_of_an_uninterrupted_one(dcgan_prior, tmp_path):
    args = ["--config=configs/gan_prior.py:task=inpaint", f"--config.prior={dcgan_prior}", "--config.task.hole=8",
            "--config.data.test=procedural:faces:count=6:size=16:seed=5", "--config.solver.iterations=400",
            "--config.solver.chunk=1", "--config.methods=naive,tv,ours", "--config.figure_images=2"]
    whole = _main(*args, f"--workdir={tmp_path / 'whole'}")
    assert whole.wait(timeout=600) == 0, whole.stderr.read()[-2000:]
    killed = _main(*args, f"--workdir={tmp_path / 'killed'}")
    progress = tmp_path / "killed" / "progress" / "ours"
    deadline = time.time() + 600
    while not list(progress.glob("chunk_*.npz")) and killed.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    finished = len(list(progress.glob("chunk_*.npz")))
    assert 1 <= finished < 6 and not (tmp_path / "killed" / "results.json").exists(), finished
    resumed = _main(*args, f"--workdir={tmp_path / 'killed'}")
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err[-2000:]
    assert "images finished by an earlier run" in err
    a = json.loads((tmp_path / "whole" / "results.json").read_text())
    b = json.loads((tmp_path / "killed" / "results.json").read_text())
    assert without_timings(b) == without_timings(a)
    assert (tmp_path / "killed" / "figure.png").read_bytes() == (tmp_path / "whole" / "figure.png").read_bytes()


# -- what a run records, and its messages --------------------------------------------------

def test_a_prior_without_a_discriminator_is_refused_for_a_discriminator_term(tmp_path):
    prior = tmp_path / "began"
    train_and_evaluate(began_config(**{"train.num_steps": 1, "train.checkpoint_every": 1}), str(prior))
    with pytest.raises(ConfigError, match=r"solver.prior='released' is a term on the discriminator's logit, but the "
                                          r"BEGAN prior .* has no discriminator; set --config.solver.prior=none"):
        gan_prior_experiment.run(config_002("inpaint", prior), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    results = gan_prior_experiment.run(config_002("inpaint", prior, **{"solver.prior": "none", "methods": "ours"}),
                                       str(tmp_path / "out"))
    assert results["solver"]["prior"] == "none"


@pytest.mark.parametrize("field,value,message", [
    ("data.max_images", -1, r"data.max_images=-1 must be >= 0 \(0: every image of data.test\)"),
    ("figure_images", -2, r"figure_images=-2 must be >= 0 \(0: no figure.png\)"),
])
def test_negative_counts_are_refused_before_anything_is_written(dcgan_prior, tmp_path, field, value, message):
    with pytest.raises(ConfigError, match=message):
        gan_prior_experiment.run(config_002("inpaint", dcgan_prior, **{field: value}), str(tmp_path / "a"))
    with pytest.raises(ConfigError, match=message):
        iagan_experiment.run(apply_overrides(iagan.get_config("task=sr"), {field: value}), str(tmp_path / "b"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_lpips_backbone_is_recorded_and_labelled_and_figure_images_0_draws_none(tmp_path):
    c = iagan.get_config("task=sr,scale=4")
    c.data.test, c.methods, c.ps_net, c.figure_images = "procedural:faces:count=2:size=32:seed=5", "naive", "vgg", 0
    results = iagan_experiment.run(c, str(tmp_path))
    assert results["ps_net"] == "vgg" and results["task_settings"]["scale"] == 4 and results["seed"] == 0
    assert "PS (LPIPS vgg)" in (tmp_path / "results.md").read_text()
    assert not (tmp_path / "figure.png").exists() and (tmp_path / "results.csv").exists()


def test_a_checkpoint_without_its_state_item_is_one_error(dcgan_prior, tmp_path):
    broken = tmp_path / "prior"
    shutil.copytree(dcgan_prior, broken)
    step = sorted(p for p in (broken / "checkpoints").iterdir() if p.name.isdigit())[-1]
    shutil.rmtree(step / "state")
    with pytest.raises(CheckpointError, match=rf"the checkpoint at step {step.name} in .* has no 'state' item "
                                              rf"\(it holds generator\): it was removed or never completed; delete "
                                              rf"the folder .*{step.name} to fall back"):
        load_prior(str(broken))


@pytest.mark.parametrize("args,line", [
    (["--config.prior=x", "--config=configs/gan_prior.py:task=inpaint"],
     "error: --config.prior comes before --config=configs/gan_prior.py:task=inpaint; put --config=FILE first, then "
     "the --config.* overrides of its fields."),
    (["--config=configs/gan_prior.py:task=inpaint", "--config.solver.learning_rate=1"],
     "error: unknown config field 'solver.learning_rate' in --config.solver.learning_rate; did you mean solver.lr or "
     "baselines.dip.lr or solver.init? (the fields are listed in the docstring of configs/gan_prior.py)."),
])
def test_config_flag_mistakes_of_an_experiment_are_one_line(tmp_path, args, line):
    result = _main(*args, f"--workdir={tmp_path / 'out'}")
    _, err = result.communicate(timeout=300)
    assert result.returncode == 2 and err.strip().splitlines()[-1] == line
    assert not (tmp_path / "out").exists()
