"""The :real presets train on the real images in ../shared/data (T91 + BSDS200) and evaluate on
Set5; without that folder they stop in one sentence naming the field to set."""

import importlib
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, SHARED_DATA
from jaxrestore.runtime import rundir
from jaxrestore import train
from jaxrestore.training import starts
from jaxrestore.data.pipeline import make_eval_images, make_train_dataset
from jaxrestore.errors import CheckpointError, ConfigError, DataError
from jaxrestore.training.tasks import build_task

PRESETS = ["srresnet", "csrgan", "argan", "cargan", "rrdbnet_psnr", "lsrgan"]
# Each GAN preset starts from the workdir the docs (docs/real-images.md) give its fidelity-only preset.
STARTS_FROM = {"csrgan": "srresnet", "cargan": "argan", "lsrgan": "rrdbnet_psnr"}


def real_config(name):
    return importlib.import_module(f"configs.{name}").get_config("real")


def _one_preset_per_pipeline():
    """One preset for each distinct (task, data) setting among PRESETS: building a pipeline reads
    the 291 training images, so presets that share a setting share the check."""
    first = {}
    for name in PRESETS:
        config = real_config(name)
        first.setdefault(json.dumps([config.task.to_dict(), config.data.to_dict()], sort_keys=True), name)
    return sorted(first.values())


@pytest.mark.parametrize("name", _one_preset_per_pipeline())
def test_real_preset_reads_the_real_folders(name, monkeypatch):
    monkeypatch.chdir(REPO)  # the presets' paths are relative to the repository root, as the docs run them
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


@pytest.mark.parametrize("gan", sorted(STARTS_FROM))
def test_gan_preset_starts_from_its_fidelity_preset(gan):
    base = STARTS_FROM[gan]
    gan_config, base_config = real_config(gan), real_config(base)
    # The documented command for the fidelity preset writes the workdir the GAN preset reads.
    readme = (REPO / "docs" / "real-images.md").read_text()
    assert f"--config=configs/{base}.py:real --workdir={gan_config.init_from}" in readme
    # Same generator, same task and data: the checkpoint loads (starts._check_same_generator's check).
    assert rundir.architecture_mismatch(gan_config, base_config, ignore=starts._NOT_GENERATOR_FIELDS) is None
    assert gan_config.data.to_dict() == base_config.data.to_dict()
    assert gan_config.task.to_dict() == base_config.task.to_dict()


@pytest.mark.parametrize("gan", sorted(STARTS_FROM))
def test_missing_start_names_the_config_to_run_first(gan, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    config = real_config(gan)
    config.init_from = str(tmp_path / "not_trained_yet")
    with pytest.raises(CheckpointError) as raised:
        train.train_and_evaluate(config, str(tmp_path / "run"))
    assert str(raised.value) == (
        f"init_from {config.init_from!r} does not exist: train configs/{STARTS_FROM[gan]}.py with "
        f"--workdir={config.init_from} first (with this run's preset, e.g. --config=configs/{STARTS_FROM[gan]}.py:real "
        f"for a :real preset), or set --config.init_from=WORKDIR of a finished configs/{STARTS_FROM[gan]}.py run.")
    # Raised before the workdir is touched: not even an empty folder is left behind.
    assert not (tmp_path / "run").exists()


def test_a_start_of_another_generator_is_refused_before_the_workdir_is_touched(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    config = real_config("lsrgan")
    config.init_from = str(tmp_path / "srresnet_run")  # an SRResNet run: another generator than RRDBNet
    rundir.write_config(config.init_from, real_config("srresnet"))
    with pytest.raises(CheckpointError, match=rf"^init_from '{config.init_from}' was trained with another generator: "):
        train.train_and_evaluate(config, str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


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


@pytest.mark.parametrize("gan,base", [("csrgan", "srresnet"), ("srgan", "srresnet"), ("cargan", "argan"),
                                      ("lsrgan", "rrdbnet_psnr"), ("clsrgan", "rrdbnet_psnr")])
def test_gan_config_without_a_start_names_its_fidelity_config(gan, base):
    # The default (paper) configs have no init_from: the refusal names the config whose run to pass.
    config = importlib.import_module(f"configs.{gan}").get_config()
    with pytest.raises(ConfigError, match=rf"^this GAN config starts from a pretrained generator: set "
                                          rf"--config.init_from=WORKDIR of a configs/{base}.py run, "):
        train.check_config(config)
