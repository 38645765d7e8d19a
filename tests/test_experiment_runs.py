"""The restoration experiments' workdirs are runs (jaxrestore/inverse/experiments/runs.py): they
refuse another run's workdir and leave it untouched, show a finished run instead of recomputing
it, resume a killed run to the results of an uninterrupted one, and stop on SIGINT / SIGTERM at
a segment boundary (or during a compile) and continue there; and the records and messages of a
run say what shaped it."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import jax
import numpy as np
import pytest

from configs import gan_prior, iagan
from conftest import REPO, apply_overrides
from jaxrestore.errors import CheckpointError, ConfigError
from jaxrestore.inverse import load_prior
from jaxrestore.inverse import operators as ops
from jaxrestore.inverse.baselines import dip
from jaxrestore.inverse.experiments import chunks
from jaxrestore.inverse.experiments import gan_prior as gan_prior_experiment
from jaxrestore.inverse.experiments import iagan as iagan_experiment
from jaxrestore.inverse.experiments.chunks import run_in_chunks
from jaxrestore.inverse.experiments.common import load_test_images
from jaxrestore.inverse.experiments.problems_002 import build_problem as build_problem_002
from jaxrestore.inverse.experiments.runs import ChunkStore
from jaxrestore.inverse.solvers import CSGMOptions, csgm_segments
from jaxrestore.runtime.preemption import RunInterrupted
from jaxrestore.train import train_and_evaluate
from test_began import prior_config as began_config
from test_inverse_adaptive import toy_prior
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


def _main(*args, optimised: bool = False, **kwargs):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    if optimised:  # XLA's usual optimisation, not the suite's quicker compiles (conftest.py): solving dominates
        env["XLA_FLAGS"] = " ".join(f for f in env.get("XLA_FLAGS", "").split()
                                    if not f.startswith(("--xla_backend_optimization_level", "--xla_cpu_use_fusion")))
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


@pytest.fixture(scope="module")
def dcgan32_prior(tmp_path_factory):
    """A tiny 32x32 DCGAN prior (LPIPS, 003_*'s PS, needs 31 pixels or more)."""
    workdir = tmp_path_factory.mktemp("dcgan32")
    train_and_evaluate(dcgan_config(**{"train.num_steps": 2, "train.eval_every": 2, "train.checkpoint_every": 2,
                                       "data.patch_size": 32,
                                       "data.train": "procedural:faces:count=16:size=32:seed=0"}), str(workdir))
    return workdir


def iagan_args(prior, workdir):
    # 2 chunks of 2 images; IAGAN's 500 iterations run in 20 segments of 25 (a few seconds per chunk)
    return ["--config=configs/iagan.py:task=sr,scale=4", f"--config.prior={prior}",
            "--config.data.test=procedural:faces:count=4:size=32:seed=5", "--config.methods=csgm,iagan",
            "--config.csgm.iterations=50", "--config.csgm.restarts=1", "--config.iagan.iterations=500",
            "--config.chunk=2", "--config.figure_images=2", f"--workdir={workdir}"]


@pytest.fixture(scope="module")
def iagan_uninterrupted(dcgan32_prior, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("iagan_whole")
    whole = _main(*iagan_args(dcgan32_prior, workdir), optimised=True)
    _, err = whole.communicate(timeout=600)
    assert whole.returncode == 0, err[-2000:]
    return workdir


class Lines:
    """The stderr lines of a running process, read by a thread."""

    def __init__(self, process):
        self.lines: list[str] = []
        self.thread = threading.Thread(target=lambda: self.lines.extend(iter(process.stderr.readline, "")))
        self.thread.start()

    def wait_for(self, text: str, timeout: float = 600) -> None:
        deadline = time.time() + timeout
        while not any(text in line for line in self.lines):
            assert time.time() < deadline, "".join(self.lines)[-3000:]
            time.sleep(0.02)


@pytest.mark.parametrize("name,when", [("SIGINT", "solving"), ("SIGTERM", "solving"), ("SIGINT", "compiling")])
def test_a_signal_stops_an_iagan_run_at_a_segment_boundary_and_the_rerun_continues_there(
        dcgan32_prior, iagan_uninterrupted, tmp_path, name, when):
    workdir = tmp_path / "run"
    args = iagan_args(dcgan32_prior, workdir)
    # The session's compilation cache holds the uninterrupted run's programs; without it a compile
    # takes seconds, long enough to stop in.
    run = _main(*args, *(["--compilation_cache=off"] if when == "compiling" else []), optimised=True)
    lines = Lines(run)
    if when == "solving":
        lines.wait_for("compiled IAGAN (500 iterations; images by loop)")
        time.sleep(1.0)  # into chunk 1's segments (a chunk takes seconds)
    else:
        lines.wait_for("compiling IAGAN (500 iterations; images by loop)")
    sent = time.time()
    run.send_signal(getattr(signal, name))
    out = run.stdout.read()  # stderr is the thread's
    run.wait(timeout=120)
    lines.thread.join()
    assert run.returncode == 0 and time.time() - sent < 30, "".join(lines.lines)[-3000:]  # training's status: 0
    assert any(f"{name} received: the experiment saves what it finished at the next boundary" in line
               for line in lines.lines)
    progress = workdir / "progress"
    if when == "solving":
        stop = re.fullmatch(rf"stopped by {name} at iteration (\d+)/500 of chunk (\d)/2 \((\d)/4 images finished\); "
                            rf"the finished work is saved in {progress}; rerun the same command to continue from "
                            "there.", out.strip())
        assert stop, out
        iteration, chunk, finished = (int(g) for g in stop.groups())
        assert 0 < iteration < 500 and iteration % 25 == 0  # a segment boundary
        assert finished == 2 * (chunk - 1)
        assert (progress / "0" / "iagan" / f"chunk_{chunk - 1:05d}.partial.npz").is_file()
    else:
        assert out.strip() == (f"stopped by {name} while compiling IAGAN (500 iterations; images by loop) "
                               "(2 images per call); "
                               f"the finished work is saved in {progress}; rerun the same command to continue "
                               "from there.")
        assert not (progress / "0" / "iagan").exists()
    assert sorted(p.name for p in (progress / "0" / "csgm").iterdir()) == ["chunk_00000.npz", "chunk_00001.npz"]
    assert not (workdir / "results.json").exists()
    resumed = _main(*args, optimised=True)
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err[-2000:]
    assert "CSGM (50 iterations x 1 starts): 4/4 images finished by an earlier run" in err
    if when == "solving":
        assert f"IAGAN (500 iterations; images by loop): chunk {chunk}/2 continues at iteration {iteration}/500" in err
    a = json.loads((iagan_uninterrupted / "results.json").read_text())
    b = json.loads((workdir / "results.json").read_text())
    assert without_timings(b) == without_timings(a)
    assert (workdir / "figure.png").read_bytes() == (iagan_uninterrupted / "figure.png").read_bytes()
    assert not progress.exists()


class FakeClock:
    """``time`` for the progress lines: seconds advance only where a test says."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now

    sleep = staticmethod(time.sleep)


def test_progress_lines_leave_compiles_out_and_a_stop_inside_a_chunk_continues_there(tmp_path, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(chunks, "time", clock)
    monkeypatch.setattr(chunks, "PROGRESS_SECONDS", 0.0)  # a line after every segment
    monkeypatch.setattr(chunks, "SEGMENT_ITERATIONS", 10)

    class Timed(chunks._Segments):  # the compile takes 100 s, each segment 1 s
        def __init__(self, solver, args):
            super().__init__(solver, args)
            clock.now += 100.0
            self.steps = {n: (lambda f: lambda *a: (setattr(clock, "now", clock.now + 1.0), f(*a))[1])(f)
                          for n, f in self.steps.items()}

    monkeypatch.setattr(chunks, "_Segments", Timed)
    g, variables = toy_prior(jax.random.key(0))
    operator = ops.Identity(shape=(16, 16, 3))
    y = jax.vmap(operator.A)(g(variables, jax.random.uniform(jax.random.key(1), (4, 8), minval=-1, maxval=1)))
    keys = jax.random.split(jax.random.key(2), 4)
    solver = csgm_segments(g, CSGMOptions(z_dim=8, iterations=60, lr=0.05, restarts=2))
    lines = []
    whole, compile_s, _ = run_in_chunks(solver, (variables, operator), (y, keys), chunk=2, what="CSGM",
                                        report=lines.append)
    assert compile_s == 100.0
    assert lines[:3] == ["compiling CSGM (2 images per call) ...", "compiled CSGM (2 images per call) in 100.0 s",
                         # 1 s per 10 iterations, 110 iterations to go (the compile's 100 s left out)
                         "CSGM: chunk 1/2 at iteration 10/60, 0/4 images finished, elapsed 1 s, ETA 11 s"]
    assert "CSGM: 2/4 images (50 %), 3.00 s/image, elapsed 6 s, ETA 6 s" in lines

    stop = types.SimpleNamespace(received=None)  # what StopRequests sets on SIGINT / SIGTERM
    lines = []

    def report(line):
        lines.append(line)
        if "chunk 2/2 at iteration 30/60" in line:
            stop.received = "SIGTERM"

    progress = tmp_path / "progress"
    with pytest.raises(RunInterrupted, match=rf"^stopped by SIGTERM at iteration 30/60 of chunk 2/2 \(2/4 images "
                                             rf"finished\); the finished work is saved in {progress}; rerun the same "
                                             r"command to continue from there\.$"):
        run_in_chunks(solver, (variables, operator), (y, keys), chunk=2, what="CSGM", report=report,
                      store=ChunkStore(progress, "csgm", stop))
    assert sorted(p.name for p in (progress / "csgm").iterdir()) == ["chunk_00000.npz", "chunk_00001.partial.npz"]
    lines = []
    resumed, _, _ = run_in_chunks(solver, (variables, operator), (y, keys), chunk=2, what="CSGM",
                                  report=lines.append, store=ChunkStore(progress, "csgm"))
    assert "CSGM: 2/4 images finished by an earlier run" in lines
    assert "CSGM: chunk 2/2 continues at iteration 30/60, where an earlier run stopped" in lines
    assert sorted(p.name for p in (progress / "csgm").iterdir()) == ["chunk_00000.npz", "chunk_00001.npz"]
    for a, b in zip(resumed, whole):
        np.testing.assert_array_equal(a, b)


def test_dips_eta_leaves_the_first_blocks_compile_out(monkeypatch):
    clock, lines = FakeClock(), []
    monkeypatch.setattr(dip, "time", clock)
    monkeypatch.setattr(dip, "logging", types.SimpleNamespace(info=lines.append))
    progress = dip._Progress(1000, None)
    loss = np.ones((1, 100))
    clock.now += 50.0  # the first block of 100 steps, with its compile
    progress(100, 1, loss)
    clock.now += 1.0  # 1 s per block after it
    progress(100, 1, loss)
    assert lines[1] == "DIP: first block of 100 steps done in 50.0 s (a compile included)"
    # 800 steps to go at 1 s per 100: 8 s (with the compile in the rate it would say 3 min 24 s)
    assert lines[-1] == "DIP: 200/1000 image-steps, loss 1.000e+00, elapsed 51 s, ETA 8 s"


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


def test_what_the_docs_say_of_the_experiments_holds(dcgan_prior):
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    readme = " ".join(" ".join(page.read_text().split()) for page in pages)
    # the held-out test faces, by the folder's sorted file names (../shared/data/CelebA64)
    c = gan_prior.get_config("task=inpaint")
    folder = REPO.parent / "shared" / "data" / "CelebA64"
    c.data.test = f"folder:{folder}[18000:18200]"
    names, _ = load_test_images(c, 64)
    assert len(names) == 200 and (names[0], names[-1]) == ("18948", "19157")
    assert (folder / "18948.jpg").is_file() and (folder / "19157.jpg").is_file()
    assert "`CelebA64[18000:18200]` (the folder's images 18,000 to 18,199 in sorted file-name order, " \
           "`18948.jpg` to `19157.jpg`" in readme
    # colourisation's baselines take the greyscale operator whatever the MAP search's operator
    task = gan_prior.get_config("task=colorize").task
    task.operator = "value"
    problem = build_problem_002(task, (16, 16, 3))
    assert type(problem.operator).__name__ == "HSVValue" and type(problem.baseline_operator).__name__ == "Greyscale"
    assert "with `task.operator=value` the baselines still run (on the grey input)" in readme
    # a prior writes no best/ checkpoint: the folder stays empty
    assert (dcgan_prior / "best").is_dir() and not list((dcgan_prior / "best").iterdir())
    assert "it writes no `best/` checkpoint (its `best/` folder stays empty)" in readme
    # 003_*'s figure columns: the methods run, DIP included, in the table's order
    assert iagan_experiment.TABLE_METHODS == ("naive", "dip", "csgm", "csgm_bp", "iagan", "iagan_bp")
    assert "`figure.png` (Real | naive | DIP | CSGM | CSGM-BP | IAGAN | IAGAN-BP" in readme
    # the experiment configs list every field of theirs in their own docstrings
    for module in (gan_prior, iagan):
        fields = module.get_config("task=sr").to_dict()
        missing = [k for k in fields if f"``{k}``" not in module.__doc__ and f"``{k}." not in module.__doc__]
        assert not missing, (module.__name__, missing)
    assert "the restoration experiments, `configs/gan_prior.py` and `configs/iagan.py`, list theirs in their " \
           "own docstrings" in readme


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


def test_the_python_example_of_the_002_page_runs(dcgan_prior, capsys):
    page = (REPO / "docs" / "papers" / "002-gan-prior.md").read_text()
    code = re.search(r"```python\n(.*?)```", page, re.S).group(1)
    small = code.replace('load_prior("runs/dcgan_quick")', f"load_prior({str(dcgan_prior)!r})")
    small = small.replace("iterations=500", "iterations=3")
    assert small.count(str(dcgan_prior)) == 1 and "iterations=3" in small
    scope = {}
    exec(compile(small, "docs/papers/002-gan-prior.md", "exec"), scope)
    result, prior, op, truth = scope["result"], scope["prior"], scope["op"], scope["truth"]
    assert result.image.shape == (4, 16, 16, 3) and "(4, 16, 16, 3)" in capsys.readouterr().out
    # the objective it reports is eq. 3 at z*, recomputed here from G, D and the mask:
    # sum |A(truth) - A(G(z*))| + 0.2 * (-log D(G(z*))) per face
    image = np.asarray(prior.generator_fn(prior.g_vars, result.z), np.float64)
    np.testing.assert_allclose(image, np.asarray(result.image), atol=1e-6)
    data = np.abs(np.asarray(op.A(truth), np.float64) - np.asarray(op.A(result.image), np.float64)).sum(axis=(1, 2, 3))
    logit = np.asarray(prior.discriminator_fn(prior.d_vars, result.image), np.float64).reshape(4)
    np.testing.assert_allclose(np.asarray(result.objective), data + 0.2 * np.logaddexp(0.0, -logit), rtol=1e-4)


def test_a_run_saved_before_the_batching_fields_existed_is_still_this_experiment():
    import ml_collections

    from jaxrestore.inverse.experiments.runs import _differences
    config = iagan.get_config("task=sr,scale=4")
    old = config.to_dict()
    del old["iagan"]["batching"]  # config.json of a run made before the fields were added
    del old["baselines"]["dip"]["batching"]
    assert _differences(config, ml_collections.ConfigDict(old)) == []
    other = config.to_dict()
    other["iagan"]["batching"] = "vmap"
    other["baselines"]["dip"]["batching"] = "vmap"
    assert _differences(config, ml_collections.ConfigDict(other)) == [
        "baselines.dip.batching ('vmap' there, 'auto' here)", "iagan.batching ('vmap' there, 'auto' here)"]
