"""Mistakes and faults a new user meets, each one line (exit 2 for commands), nothing lost."""

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tomllib
import uuid

import jax
import numpy as np
import pytest
from PIL import Image

from conftest import REPO, checkpoint_state
from jaxrestore.runtime import checkpoints, rundir
from jaxrestore.data.pipeline import make_train_dataset
from jaxrestore.errors import CheckpointError, DataError
from jaxrestore.models.argan import ARGANGenerator
from jaxrestore.models.rrdbnet import RRDBNet
from jaxrestore.models.srresnet import SRResNet
from jaxrestore.train import train_and_evaluate
from test_train_loop import logged_scalars


def run_command(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def one_error_line(result) -> str:
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr[-2000:]
    return lines[0]


@contextlib.contextmanager
def mounted_tmpfs(path, *, size: str, read_only: bool = False):
    """A tmpfs of ``size`` at ``path`` (CI runs as root, like this machine)."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, f"jaxrestore-{uuid.uuid4().hex[:8]}",
                             str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"these tests need to mount a small tmpfs (root): {result.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


# -- the training command -----------------------------------------------------------------

def test_a_workdir_that_is_a_file_is_refused(make_config, tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    with pytest.raises(CheckpointError, match=r"--workdir '.*notes.txt' is a file, not a directory"):
        train_and_evaluate(make_config("srresnet"), str(target))
    assert target.read_text() == "mine"


def test_a_url_workdir_is_refused_in_one_line_and_nothing_is_written_here(tmp_path):
    result = subprocess.run([sys.executable, "-m", "jaxrestore.main", f"--config={REPO}/configs/srresnet.py:quick",
                             "--workdir=gs://bucket/runs/srresnet"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=600)
    assert one_error_line(result) == (
        "error: --workdir 'gs://bucket/runs/srresnet' is a URL, but runs are written to a local or mounted "
        "directory; mount the bucket (e.g. gcsfuse BUCKET /mnt/BUCKET) and pass --workdir=/mnt/BUCKET/... instead.")
    assert list(tmp_path.iterdir()) == []  # before, a folder gs:/bucket/runs/srresnet appeared here


def test_a_read_only_workdir_is_refused_before_anything_starts(make_config, tmp_path):
    with mounted_tmpfs(tmp_path / "ro", size="1m", read_only=True) as workdir:
        with pytest.raises(CheckpointError, match=r"cannot write to --workdir .*\(Read-only file system\); "
                                                  r"choose a writable directory"):
            train_and_evaluate(make_config("srresnet", **{"eval.data": ""}), str(workdir / "run"))


def test_a_full_disk_during_a_checkpoint_keeps_the_previous_one_and_resumes(make_config, tmp_path):
    config = make_config("srresnet", **{"train.num_steps": 2, "train.checkpoint_every": 2, "eval.data": "",
                                        "train.log_every": 100})
    first = tmp_path / "first"
    train_and_evaluate(config, str(first))
    used = sum(f.stat().st_size for f in first.rglob("*") if f.is_file())
    one = sum(f.stat().st_size for f in (first / "checkpoints" / "2").rglob("*") if f.is_file())
    # Room for what the run holds and less than another checkpoint (tmpfs counts whole 4 KiB pages).
    files = sum(1 for f in first.rglob("*") if f.is_file())
    size_kib = (used + files * 4096 + one // 3) // 1024
    with mounted_tmpfs(tmp_path / "small", size=f"{size_kib}k") as mount:
        workdir = mount / "run"
        shutil.copytree(first, workdir)
        config.train.num_steps = 4
        with pytest.raises(CheckpointError, match=r"not enough space in .*checkpoints for the checkpoint of step 4 "
                                                  r"\(about .* MiB needed, .* MiB free\); the last complete "
                                                  r"checkpoint \(step 2\) is intact; free space and rerun the same "
                                                  r"command to resume"):
            train_and_evaluate(config, str(workdir))
        assert checkpoints.completed_steps(workdir) == [2]
        assert not list((workdir / "checkpoints").glob("*tmp*"))  # nothing half-written
        subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)
        train_and_evaluate(config, str(workdir))  # resumes from step 2
        assert checkpoints.completed_steps(workdir) == [2, 4]
        train_and_evaluate(config, str(tmp_path / "straight"))
        resumed, straight = checkpoint_state(workdir, 4), checkpoint_state(tmp_path / "straight", 4)
        for x, y in zip(jax.tree.leaves(straight), jax.tree.leaves(resumed), strict=True):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_a_checkpoint_of_another_state_names_the_difference(make_config, tmp_path):
    # The same generator (the config comparison passes), but cSRGAN's state has a discriminator.
    train_and_evaluate(make_config("srresnet", **{"train.num_steps": 1, "eval.data": ""}), str(tmp_path))
    config = make_config("csrgan", **{"train.num_steps": 2, "eval.data": "", "train.pretrain_steps": 1})
    with pytest.raises(CheckpointError, match=r"the checkpoint at step 1 in .* cannot be resumed with this config: "
                                              r"this config's state has d/.* that the checkpoint lacks; the "
                                              r"config differs from the run's config.json in .*method \('joint' "
                                              r"there, 'constrained' here\)"):
        train_and_evaluate(config, str(tmp_path))
    assert checkpoints.completed_steps(tmp_path) == [1]


def test_a_workdir_holding_only_the_config_of_a_failed_run_takes_another_model(make_config, tmp_path):
    rundir.write_config(tmp_path, make_config("srresnet", **{"model.features": 16}))  # failed before step 1
    train_and_evaluate(make_config("srresnet", **{"train.num_steps": 1, "eval.data": ""}), str(tmp_path))
    assert checkpoints.completed_steps(tmp_path) == [1]
    assert rundir.read_config(tmp_path).model.features == 8


def test_rerunning_a_finished_run_does_not_log_its_evaluation_twice(make_config, tmp_path):
    config = make_config("srresnet", **{"train.num_steps": 2, "train.eval_every": 2, "train.grid_images": 0})
    first = train_and_evaluate(config, str(tmp_path))
    again = train_and_evaluate(config, str(tmp_path))
    assert again["eval/psnr_y"] == first["eval/psnr_y"]
    events = [f for f in tmp_path.glob("events.out.tfevents.*")]
    count = 0
    import tensorflow as tf

    for path in events:
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            count += sum(v.tag == "eval/psnr_y" for v in event.summary.value)
    assert count == 1
    assert logged_scalars(tmp_path)["eval/psnr_y"] == {2: pytest.approx(first["eval/psnr_y"], abs=1e-4)}


def test_skipping_every_image_is_refused_instead_of_hanging(make_config):
    config = make_config("srresnet", **{"data.train": "procedural:deadleaves:count=8:size=12",
                                        "data.skip_small_images": True})
    with pytest.raises(DataError, match=r"none of the 8 training images in data.train is at least 16x16 pixels "
                                        r"\(data.patch_size\)"):
        make_train_dataset(config.data, task="sr", scale=4, batch_size=2, seed=0)


def test_most_images_skipped_is_a_warning_with_the_count(make_config, tmp_path, caplog):
    for i, side in enumerate((8, 8, 8, 40)):
        Image.fromarray(np.full((side, side, 3), 100, np.uint8)).save(tmp_path / f"{i}.png")
    config = make_config("srresnet", **{"data.train": f"folder:{tmp_path}", "data.skip_small_images": True})
    with caplog.at_level(logging.WARNING):
        dataset = make_train_dataset(config.data, task="sr", scale=4, batch_size=2, seed=0)
    assert "only 1 of 4 training images are at least 16x16 pixels" in caplog.text
    assert next(iter(dataset))["target"].shape == (2, 16, 16, 3)


# -- command lines ----------------------------------------------------------------------------

def test_an_unknown_field_names_it_and_suggests_the_real_ones(tmp_path):
    line = one_error_line(run_command("jaxrestore.main", "--config=configs/srresnet.py:quick",
                                      f"--workdir={tmp_path}", "--config.train.learning_rate=1e-3"))
    assert line == ("error: unknown config field 'train.learning_rate' in --config.train.learning_rate; did you "
                    "mean optimizer.g_lr or optimizer.d_lr? (the fields are listed in configs/common.py).")
    assert not any(tmp_path.iterdir())


def test_a_config_that_is_not_python_is_one_line(tmp_path):
    line = one_error_line(run_command("jaxrestore.main", "--config=README.md", f"--workdir={tmp_path}"))
    assert line.startswith("error: cannot load the config file 'README.md': it is not a Python config file "
                           "(syntax error at line ")


@pytest.mark.parametrize("module", ["jaxrestore.main", "jaxrestore.evaluate", "jaxrestore.restore",
                                    "jaxrestore.benchmark"])
def test_help_exits_0(module):
    result = run_command(module, "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--" in result.stdout


@pytest.mark.parametrize("args", [
    ("jaxrestore.main", "--config=configs/srresnet.py:quick", "--workdir=/tmp/unused"),
    ("jaxrestore.evaluate", "--baseline=bicubic", "--scale=4", "--data=/tmp/unused"),
    ("jaxrestore.benchmark", "--solver=cg"),
])
def test_an_extra_positional_argument_is_one_line(args):
    line = one_error_line(run_command(*args, "stray"))
    assert line.startswith(f"error: unexpected argument(s) 'stray': every option of {args[0]} is a --flag")


def test_restore_refuses_tiny_tiles_and_warns_of_a_short_margin(trained_run, tmp_path):
    image = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(image)
    line = one_error_line(run_command("jaxrestore.restore", f"--checkpoint={trained_run}", f"--output={tmp_path}/o",
                                      "--tile=1", "--tile_margin=0", str(image)))
    assert line.startswith("error: --tile=1 is below 8 input pixels")
    assert not (tmp_path / "o").exists()
    result = run_command("jaxrestore.restore", f"--checkpoint={trained_run}", f"--output={tmp_path}/o",
                         "--tile=16", "--tile_margin=0", str(image))
    assert result.returncode == 0, result.stderr[-2000:]
    radius = SRResNet(num_blocks=1).receptive_radius  # the tiny run's generator
    assert (f"warning: --tile_margin=0 is below this generator's receptive-field radius ({radius} input "
            "pixels)") in result.stderr
    assert (tmp_path / "o" / "in.png").is_file()


@pytest.mark.parametrize("generator,channels,scale,side", [
    (SRResNet(scale=4, num_blocks=2, features=4), 3, 4, 64),
    (ARGANGenerator(channels=1, num_blocks=2, features=4), 1, 1, 64),
    # One block only: deeper, the gradient of the farthest pixels underflows float32 to exactly 0.
    (RRDBNet(scale=4, num_blocks=1, features=4, growth=4), 3, 4, 64),
])
def test_receptive_radius_is_the_reach_of_the_gradient(generator, channels, scale, side):
    x = jax.numpy.asarray(np.random.default_rng(0).random((1, side, side, channels)), jax.numpy.float32)
    variables = generator.init({"params": jax.random.key(0), "noise": jax.random.key(1)}, x, train=False)
    reach = 0
    for out in range((side // 2) * scale, (side // 2 + 2) * scale):  # every sub-pixel phase
        grad = jax.grad(lambda x: generator.apply(variables, x, train=False)[0, out, out].sum())(x)
        rows = np.nonzero(np.abs(np.asarray(grad)).sum(axis=(0, 2, 3)))[0]
        centre = (out + 0.5) / scale - 0.5  # the output pixel's centre in input pixels
        reach = max(reach, int(np.ceil(max(centre - rows.min(), rows.max() - centre))))
    assert reach == generator.receptive_radius


def test_evaluate_names_the_image_that_is_too_small(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    Image.fromarray(np.zeros((12, 12, 3), np.uint8)).save(folder / "tiny.png")
    line = one_error_line(run_command("jaxrestore.evaluate", "--baseline=bicubic", "--scale=4",
                                      f"--data={folder}"))
    assert line == (f"error: image '{folder / 'tiny.png'}': an image of 12x12 pixels is too small to score at "
                    "scale 4 (SSIM needs 11x11 pixels after cropping the border); use larger images.")


def test_evaluate_latest_prints_no_orbax_warnings(trained_run, tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / "a.png")
    result = run_command("jaxrestore.evaluate", f"--checkpoint={trained_run}", "--which=latest", f"--data={folder}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not [line for line in result.stderr.splitlines() if line.startswith("W") or "orbax" in line.lower()]


def test_the_license_is_an_spdx_string():
    # A `license = { text = ... }` table makes setuptools print a deprecation warning on every install.
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"


def test_ctrl_c_is_handled_like_sigterm():
    # tests/test_train_loop.py sends SIGINT to a real run; here: the handler restores the default.
    import signal

    from jaxrestore.runtime.preemption import StopRequests

    before = signal.getsignal(signal.SIGINT)
    with StopRequests() as stop:
        assert signal.getsignal(signal.SIGINT) == stop._handle
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.received == "SIGINT"
        assert signal.getsignal(signal.SIGINT) == before  # a second Ctrl-C acts as usual
    assert signal.getsignal(signal.SIGINT) == before
