"""The :real presets train on the real images in ../shared/data (T91 + BSDS200) and evaluate on
Set5; without that folder they stop in one sentence naming the field to set."""

import importlib
import os
import subprocess
import sys

import pytest

from conftest import REPO, SHARED_DATA
from jaxrestore.data.pipeline import make_eval_images, make_train_dataset
from jaxrestore.errors import DataError
from jaxrestore.tasks import build_task

# The presets of issue 15 built so far (csrgan, argan, cargan, rrdbnet_psnr, lsrgan follow).
PRESETS = ["srresnet"]


def real_config(name):
    return importlib.import_module(f"configs.{name}").get_config("real")


@pytest.mark.parametrize("name", PRESETS)
def test_real_preset_reads_the_real_folders(name, monkeypatch):
    monkeypatch.chdir(REPO)  # the presets' paths are relative to the repository root, as the README runs them
    config = real_config(name)
    assert config.data.train == "folder:../shared/data/T91,folder:../shared/data/BSDS200"
    assert config.data.augment  # flips and 90-degree rotations
    task = build_task(config.task)
    ds = make_train_dataset(config.data, task=task.name, batch_size=2, shard_index=0, shard_count=1,
                            augmentation=task.augmentation, **task.options)
    batch = next(iter(ds))
    channels = 1 if task.name == "jpeg" else 3
    p = config.data.patch_size
    assert batch["target"].shape == (2, p, p, channels)
    low = p // config.task.scale if task.name == "sr" else p
    assert batch["degraded"].shape == (2, low, low, channels)
    # The training images are the 91 + 200 real ones; evaluation is Set5.
    counts = [len(os.listdir(SHARED_DATA / folder)) for folder in ("T91", "BSDS200")]
    assert counts == [91, 200]
    assert config.data.train_weights == "91,200"  # one draw per image on average, not per folder
    assert sorted(make_eval_images(config.eval.data)) == sorted(p.stem for p in (SHARED_DATA / "Set5").glob("*.png"))


def test_without_shared_data_the_run_names_the_field(tmp_path):
    # From a folder that has no ../shared/data beside it, the command stops in one line.
    (tmp_path / "work").mkdir()
    result = subprocess.run([sys.executable, "-m", "jaxrestore.main", f"--config={REPO}/configs/srresnet.py:real",
                             f"--workdir={tmp_path / 'run'}"], cwd=tmp_path / "work", capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: data.train names the image folder '../shared/data/T91', which does not exist")
    assert "set --config.data.train=folder:DIR to your own images" in last
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_eval_folder_is_named_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"^eval.data names the image folder '../shared/data/Set5'"):
        make_eval_images("folder:../shared/data/Set5")
