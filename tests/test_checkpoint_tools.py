"""evaluate --checkpoint and restore on a real (tiny) trained run."""

import json
import os
import subprocess
import sys

import numpy as np
import orbax.checkpoint as ocp
import pytest

from conftest import REPO
from jaxrestore.data.procedural import dead_leaves
from jaxrestore.evaluation import evaluate_folders
from jaxrestore.imaging.io import read_image, write_image
from jaxrestore.evaluation.restorers import ModelRestorer
from jaxrestore.training.runs import load_restorer
from jaxrestore.models import build_generator
from jaxrestore.runtime.checkpoints import read_config
from jaxrestore.evaluation.tiling import restore_tiled


def cli(module, *args):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def hr_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hr")
    for i in range(2):
        write_image(folder / f"img{i}.png", dead_leaves(500 + i, (40, 36)))
    return folder


def restorer_from_state(run):
    """The generator rebuilt from config.json and the *training state* item (not the generator item)."""
    manager = ocp.CheckpointManager(run / "checkpoints", item_names=("state",))
    state = manager.restore(manager.latest_step(),
                            args=ocp.args.Composite(state=ocp.args.StandardRestore()))["state"]
    config = read_config(run)
    variables = {"params": state["g"]["params"], "batch_stats": state["g"]["batch_stats"]}
    return ModelRestorer(build_generator(config.model, scale=4), variables, task="sr", scale=4)


def test_evaluate_checkpoint_cli_matches_the_training_state(trained_run, hr_folder, tmp_path):
    out = tmp_path / "r.json"
    proc = cli("jaxrestore.evaluate", f"--checkpoint={trained_run}", "--which=latest",
               f"--data={hr_folder}", f"--output={out}")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())[hr_folder.name]
    expected = evaluate_folders(restorer_from_state(trained_run), [hr_folder], scale=4, progress=False)
    assert result["images"] == 2
    assert result["psnr_y"] == pytest.approx(expected[hr_folder.name]["psnr_y"], abs=1e-9)
    assert result["ssim_y"] == pytest.approx(expected[hr_folder.name]["ssim_y"], abs=1e-9)
    # What was scored, in the JSON and the CSV.
    where = str(trained_run / "checkpoints" / "3")
    assert result["checkpoint"] == {"path": where, "step": 3, "which": "latest", "weights": "raw"}
    import csv

    (row,) = csv.DictReader(out.with_suffix(".csv").open())
    assert {k: row[k] for k in ("baseline", "checkpoint", "step", "which", "weights")} == {
        "baseline": "", "checkpoint": where, "step": "3", "which": "latest", "weights": "raw"}


def test_evaluate_checkpoint_scale_mismatch_is_one_line(trained_run, hr_folder, tmp_path):
    proc = cli("jaxrestore.evaluate", f"--checkpoint={trained_run}", "--scale=2",
               f"--data={hr_folder}", f"--output={tmp_path / 'r.json'}")
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and len(lines) == 1 and "upscales by 4 but --scale=2" in lines[0]
    assert not (tmp_path / "r.json").exists()


def test_tiled_restoration_equals_whole_image(trained_run):
    restorer = load_restorer(trained_run)
    image = np.random.default_rng(0).uniform(size=(37, 23, 3)).astype(np.float32)
    whole = np.asarray(restorer.apply(image[None]))[0]
    # The tiny model's receptive field is under 10 LR pixels: a margin of 12 covers it.
    tiled = restore_tiled(restorer.apply, image, scale=4, tile=10, margin=12)
    assert tiled.shape == whole.shape == (148, 92, 3)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    # Without enough margin the tiles' zero padding shows: the invariant above is not vacuous.
    seamy = restore_tiled(restorer.apply, image, scale=4, tile=10, margin=0)
    assert np.abs(seamy - whole).max() > 1e-3


def test_restore_cli_writes_scaled_images_and_handles_grey(trained_run, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    rgb = dead_leaves(7, (30, 26))
    write_image(inputs / "rgb.png", rgb)
    write_image(inputs / "grey.png", rgb[..., :1])
    (inputs / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    proc = cli("jaxrestore.restore", f"--checkpoint={trained_run}", f"--output={out}", "--tile=8",
               "--tile_margin=12", str(inputs))
    assert proc.returncode == 0, proc.stderr
    restored = read_image(out / "rgb.png")
    assert restored.shape == (120, 104, 3)
    whole = load_restorer(trained_run)(rgb)
    # The tiled file equals whole-image inference up to float noise at .5 rounding boundaries.
    diff = np.abs(restored.astype(int) - whole.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
    assert read_image(out / "grey.png", mode="native").shape == (120, 104, 1)


@pytest.mark.parametrize("args,words", [
    (["{missing}"], "does not exist"),
    (["{text}"], "is not an image file"),
    ([], "no input images"),
])
def test_restore_cli_bad_input_is_one_line(trained_run, tmp_path, args, words):
    (tmp_path / "a.txt").write_text("x")
    fmt = {"missing": tmp_path / "nope.png", "text": tmp_path / "a.txt"}
    proc = cli("jaxrestore.restore", f"--checkpoint={trained_run}", f"--output={tmp_path / 'o'}",
               *[a.format(**fmt) for a in args])
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and len(lines) == 1 and words in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_restore_cli_not_a_run_directory(tmp_path):
    proc = cli("jaxrestore.restore", f"--checkpoint={tmp_path}", f"--output={tmp_path / 'o'}", str(tmp_path))
    assert proc.returncode == 2 and "has no config.json" in proc.stderr and "Traceback" not in proc.stderr
