"""The training loop: resume equality, atomic checkpoints, divergence, bad input, outputs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from conftest import REPO
from jaxrestore.runtime import checkpoints
from jaxrestore.errors import CheckpointError, ConfigError, TrainingDiverged
from jaxrestore.data.pipeline import make_eval_images
from jaxrestore.evaluation import evaluate_images
from jaxrestore.evaluation.restorers import ModelRestorer
from jaxrestore.training.runs import load_restorer
from jaxrestore.training.methods import build_method, preferred_checkpoint
from jaxrestore.train import train_and_evaluate


def read_state(workdir, step=None):
    manager = ocp.CheckpointManager(Path(workdir) / "checkpoints", item_names=("state",))
    step = manager.latest_step() if step is None else step
    state = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))["state"]
    manager.close()
    return step, state


def test_resume_equals_uninterrupted_run(make_config, tmp_path):
    # cSRGAN with one pre-training step covers both jitted steps, the lax.cond, D and the data order.
    config = make_config("csrgan", **{"train.pretrain_steps": 1, "train.num_steps": 6,
                                      "train.checkpoint_every": 3, "eval.data": ""})
    train_and_evaluate(config, str(tmp_path / "straight"))
    config.train.num_steps = 3
    train_and_evaluate(config, str(tmp_path / "resumed"))  # "killed" after the step-3 checkpoint
    config.train.num_steps = 6
    train_and_evaluate(config, str(tmp_path / "resumed"))
    step_a, a = read_state(tmp_path / "straight")
    step_b, b = read_state(tmp_path / "resumed")
    assert step_a == step_b == 6
    leaves_a = jax.tree_util.tree_leaves_with_path(a)
    leaves_b = jax.tree_util.tree_leaves_with_path(b)
    assert [k for k, _ in leaves_a] == [k for k, _ in leaves_b]
    for (path, x), (_, y) in zip(leaves_a, leaves_b):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=jax.tree_util.keystr(path))
    assert int(np.asarray(a["step"])) == 6
    # And the second half did train: the weights moved after the step-3 checkpoint.
    _, mid = read_state(tmp_path / "resumed", 3)
    assert not np.array_equal(np.asarray(mid["g"]["params"]["tail"]["kernel"]),
                              np.asarray(a["g"]["params"]["tail"]["kernel"]))


def test_interrupted_save_resumes_from_previous_checkpoint(make_config, tmp_path):
    config = make_config("srresnet", **{"train.num_steps": 2, "train.checkpoint_every": 2, "eval.data": ""})
    train_and_evaluate(config, str(tmp_path))
    # What a kill during orbax's save of step 4 leaves behind: a temporary directory, half written.
    partial = tmp_path / "checkpoints" / "4.orbax-checkpoint-tmp" / "state"
    partial.mkdir(parents=True)
    (partial / "garbage").write_bytes(b"\0" * 10)
    manager = checkpoints.state_manager(tmp_path)
    assert manager.latest_step() == 2
    manager.close()
    config.train.num_steps = 4
    train_and_evaluate(config, str(tmp_path))
    assert read_state(tmp_path)[0] == 4


def test_divergence_stops_with_step_named_and_keeps_last_good_checkpoint(make_config, tmp_path):
    config = make_config("srresnet", **{"train.num_steps": 5, "train.checkpoint_every": 2, "eval.data": ""})
    train_and_evaluate(config, str(tmp_path))  # a good checkpoint at step 5... then blow up
    config.train.num_steps = 8
    config.optimizer.g_lr = float("inf")  # the step-6 update makes the weights infinite
    with pytest.raises(TrainingDiverged, match=r"diverged at step 6 .*checkpoint \(step 5\).*intact"):
        train_and_evaluate(config, str(tmp_path))
    step, state = read_state(tmp_path)
    assert step == 5
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(state))


def test_checkpoint_round_trip_and_outputs(make_config, tmp_path):
    config = make_config("srgan", **{"train.pretrain_steps": 2, "train.num_steps": 4,
                                     "train.eval_every": 2, "train.checkpoint_every": 2})
    metrics = train_and_evaluate(config, str(tmp_path))
    assert set(metrics) == {"eval/psnr_y", "eval/ssim_y", "eval/bicubic_psnr_y", "eval/bicubic_ssim_y"}
    assert (tmp_path / "config.json").is_file()
    assert list(tmp_path.glob("events.out.tfevents.*"))
    assert sorted(p.name for p in (tmp_path / "samples").glob("*.png")) == ["grid_00000002.png", "grid_00000004.png"]
    # best/ holds the generator of the better of the two evaluations (steps 2 and 4), each
    # recomputed here from the step's checkpoint on the evaluation images.
    eval_images = make_eval_images(config.eval.data)
    psnr_at = {}
    for step in (2, 4):
        _, state_at = read_state(tmp_path, step)
        r = ModelRestorer(build_method(config).generator, {"params": state_at["g"]["params"],
                                                           "batch_stats": state_at["g"]["batch_stats"]},
                          task="sr", scale=4)
        psnr_at[step] = evaluate_images(r, eval_images)["psnr_y"]
    assert metrics["eval/psnr_y"] == pytest.approx(psnr_at[4], abs=1e-9)
    best_step = max(psnr_at, key=psnr_at.get)
    score = json.loads((tmp_path / "best" / "score.json").read_text())
    assert score == {"step": best_step, "psnr_y": pytest.approx(psnr_at[best_step], abs=1e-9)}
    assert load_restorer(tmp_path, which="best").source["step"] == best_step
    # The latest generator read back equals the trained state's, on a real image.
    _, state = read_state(tmp_path)
    restorer = load_restorer(tmp_path, which="latest")
    method = build_method(config)
    direct = ModelRestorer(method.generator, {"params": state["g"]["params"],
                                              "batch_stats": state["g"]["batch_stats"]}, task="sr", scale=4)
    lr = np.random.default_rng(0).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    np.testing.assert_array_equal(restorer(lr), direct(lr))


@pytest.mark.parametrize("overrides,message", [
    ({"data.patch_size": 18}, "not divisible by task.scale"),
    ({"train.num_steps": 0}, "train.num_steps=0 must be positive"),
])
def test_bad_config_values(make_config, tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        train_and_evaluate(make_config("srresnet", **overrides), str(tmp_path))
    assert not (tmp_path / "checkpoints").exists()  # nothing written


def test_gan_config_needs_a_starting_generator(make_config, tmp_path):
    with pytest.raises(ConfigError, match="init_from"):
        train_and_evaluate(make_config("srgan", **{"train.pretrain_steps": 0}), str(tmp_path))


def test_init_from_another_model_names_the_mismatch(make_config, tmp_path):
    source = make_config("srresnet", **{"train.num_steps": 1, "eval.data": "", "model.features": 4})
    train_and_evaluate(source, str(tmp_path / "src"))
    config = make_config("srgan", **{"init_from": str(tmp_path / "src"), "eval.data": ""})
    with pytest.raises(CheckpointError, match="model.features is 4 there but 8 here"):
        train_and_evaluate(config, str(tmp_path / "gan"))
    # A config that agrees but a checkpoint whose parameters differ (e.g. edited by hand) is caught too.
    method = build_method(config)
    state = method.init(jax.random.key(0), {"degraded": np.zeros((1, 4, 4, 3), np.float32),
                                            "target": np.zeros((1, 16, 16, 3), np.float32)})
    variables = jax.tree.map(np.asarray, method.generator_variables(state))
    variables["params"]["head"]["kernel"] = np.zeros((9, 9, 3, 5), np.float32)
    with pytest.raises(CheckpointError, match=r"\['params'\]\['head'\]\['kernel'\] has shape \(9, 9, 3, 5\)"):
        checkpoints.check_same_structure(method.generator_variables(state), variables, source="x")


def test_init_from_srresnet_starts_from_its_weights(make_config, tmp_path):
    source = make_config("srresnet", **{"train.num_steps": 2, "eval.data": ""})
    train_and_evaluate(source, str(tmp_path / "src"))
    config = make_config("srgan", **{"init_from": str(tmp_path / "src"), "eval.data": "",
                                     "train.num_steps": 1, "optimizer.g_lr": 0.0})
    train_and_evaluate(config, str(tmp_path / "gan"))
    src, _, _ = checkpoints.load_generator_variables(tmp_path / "src", which="latest")
    gan, _, _ = checkpoints.load_generator_variables(tmp_path / "gan", which="latest")
    for x, y in zip(jax.tree.leaves(src["params"]), jax.tree.leaves(gan["params"])):
        np.testing.assert_array_equal(x, y)  # lr 0: the GAN step kept the SRResNet weights


def test_workdir_of_another_model_is_refused(make_config, tmp_path):
    train_and_evaluate(make_config("srresnet", **{"train.num_steps": 1, "eval.data": ""}), str(tmp_path))
    with pytest.raises(CheckpointError, match="task.scale is 4 there but 2 here"):
        train_and_evaluate(make_config("srresnet", **{"task.scale": 2, "eval.data": ""}), str(tmp_path))


def run_main(*args):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.run([sys.executable, "-m", "jaxrestore.main", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_main_rejects_unknown_config_key_in_one_line(tmp_path):
    result = run_main("--config=configs/srresnet.py:quick", f"--workdir={tmp_path}",
                      "--config.train.num_stepz=5")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error:")
    assert "num_stepz" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())


def test_main_rejects_unknown_preset(tmp_path):
    result = run_main("--config=configs/srgan.py:quik", f"--workdir={tmp_path}")
    assert result.returncode == 2
    assert "unknown preset 'quik'" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("preset,expected", [
    ("srresnet:quick", "best"), ("srgan:quick", "latest"), ("csrgan", "latest"), ("argan", "best"),
    ("argan:vgg", "latest"), ("cargan", "latest"), ("rrdbnet_psnr", "best"), ("esrgan", "latest"),
    ("lsrgan", "latest"), ("cesrgan", "latest"), ("clsrgan:quick", "latest"),
])
def test_auto_checkpoint_is_best_for_fidelity_runs_and_latest_for_gan_runs(preset, expected):
    import importlib

    name, _, arg = preset.partition(":")
    config = importlib.import_module(f"configs.{name}").get_config(arg or None)
    assert preferred_checkpoint(config) == expected


def test_auto_reads_latest_of_a_gan_run_and_best_of_a_fidelity_run(make_config, tmp_path):
    """A best/ generator from an earlier step than the latest checkpoint: ``auto`` takes the
    latest for SRGAN and best/ for SRResNet; the restorer and evaluate say which they used."""
    runs = {}
    for name in ("srgan", "srresnet"):
        config = make_config(name, **{"train.pretrain_steps": 1, "train.num_steps": 3, "eval.data": "",
                                      "train.checkpoint_every": 3})
        workdir = tmp_path / name
        train_and_evaluate(config, str(workdir))
        # best/ from step 1: the state at step 3 with every weight zeroed (distinguishable output)
        _, state = read_state(workdir)
        zeroed = jax.tree.map(np.zeros_like, {"params": state["g"]["params"],
                                              "batch_stats": state["g"]["batch_stats"]})
        manager = checkpoints.best_manager(workdir)
        checkpoints.save_best(manager, 1, zeroed, 10.0)
        manager.close()
        runs[name] = workdir
    lr = np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    gan, fidelity = load_restorer(runs["srgan"]), load_restorer(runs["srresnet"])
    assert gan.source == {"path": str(runs["srgan"] / "checkpoints" / "3"), "step": 3, "which": "latest",
                          "weights": "raw"}
    assert fidelity.source["which"] == "best" and fidelity.source["step"] == 1
    assert fidelity.source["path"] == str(runs["srresnet"] / "best" / "1")
    np.testing.assert_array_equal(gan(lr), load_restorer(runs["srgan"], which="latest")(lr))
    assert not np.array_equal(gan(lr), load_restorer(runs["srgan"], which="best")(lr))
    np.testing.assert_array_equal(fidelity(lr), load_restorer(runs["srresnet"], which="best")(lr))
    # The restore command names what it used.
    image = tmp_path / "in.png"
    from jaxrestore.imaging.io import write_image

    write_image(image, lr)
    proc = subprocess.run([sys.executable, "-m", "jaxrestore.restore", f"--checkpoint={runs['srgan']}",
                           f"--output={tmp_path / 'out'}", str(image)], cwd=REPO,
                          env={**os.environ, "JAX_PLATFORMS": "cpu"}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"restoring with checkpoint {runs['srgan'] / 'checkpoints' / '3'} (latest, step 3, raw weights)" \
        in proc.stderr


def test_final_line_names_the_tasks_baseline():
    from jaxrestore.train import final_line

    sr = {"eval/psnr_y": 27.0, "eval/ssim_y": 0.8, "eval/bicubic_psnr_y": 26.0, "eval/bicubic_ssim_y": 0.7}
    jpeg = {"eval/psnr_y": 31.0, "eval/ssim_y": 0.9, "eval/jpeg_psnr_y": 28.3, "eval/jpeg_ssim_y": 0.83}
    assert final_line(sr, "runs/x") == ("final eval: PSNR-Y 27.000 dB (bicubic 26.000), SSIM-Y 0.8000 "
                                        "(bicubic 0.7000); outputs in runs/x")
    assert "(jpeg 28.300)" in final_line(jpeg, "runs/y") and "(jpeg 0.8300)" in final_line(jpeg, "runs/y")


def test_final_line_of_a_run_without_held_out_scores():
    from jaxrestore.train import final_line

    assert final_line({}, "runs/dcgan") == "training done; checkpoints (and sample grids, if any) in runs/dcgan"
