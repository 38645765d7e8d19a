"""A tiny ARGAN run end to end: training with the FID hook, evaluate, restore, task mismatches."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.linalg

from conftest import tiny_config
from jaxrestore.data.procedural import dead_leaves
from jaxrestore.evaluation import degrade_jpeg, evaluate_folders, luma_uint8
from jaxrestore.imaging.color import rgb_to_ycbcr
from jaxrestore.imaging.io import read_image, write_image
from jaxrestore.training.runs import load_restorer
from test_checkpoint_tools import cli

FID_DATA = "procedural:deadleaves:count=3:size=40x36:seed=77"


@pytest.fixture(scope="module")
def jpeg_run(tmp_path_factory):
    from jaxrestore.train import train_and_evaluate

    workdir = tmp_path_factory.mktemp("jpeg_run")
    config = tiny_config("cargan", **{"train.num_steps": 3, "train.pretrain_steps": 1,
                                      "train.eval_every": 3, "eval.fid_every_steps": 3,
                                      "eval.fid_data": FID_DATA, "eval.fid_random_init": True,
                                      "data.epoch_images": 12})
    train_and_evaluate(config, str(workdir))
    return workdir


@pytest.fixture(scope="module")
def clean_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clean")
    for i in range(2):
        write_image(folder / f"img{i}.png", dead_leaves(900 + i, (34, 30)))
    return folder


def test_fid_record_equals_an_independent_recomputation(jpeg_run):
    from jaxrestore.data.pipeline import make_eval_images
    from jaxrestore.metrics.fid import InceptionFeatures, read_fid_records
    from jaxrestore.weights.inception import random_inception_variables
    import jax

    records = read_fid_records(jpeg_run)
    assert [r["step"] for r in records] == [3]
    assert records[0]["epoch"] == pytest.approx(3 * 2 / 12)  # batch 2, 12 images per epoch
    # Recompute from the saved generator: the same random Inception (seed + 2), SciPy's sqrtm.
    restorer = load_restorer(jpeg_run, which="latest")
    clean = [luma_uint8(im) for im in make_eval_images(FID_DATA).values()]
    restored = [restorer(degrade_jpeg(c, quality=10)) for c in clean]
    extractor = InceptionFeatures(random_inception_variables(jax.random.key(0 + 2)), batch_size=3)
    a, b = extractor(clean), extractor(restored)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expected = float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
    assert records[0]["fid"] == pytest.approx(expected, rel=1e-3, abs=1e-3)


def test_evaluate_cli_scores_the_jpeg_checkpoint(jpeg_run, clean_folder, tmp_path):
    out = tmp_path / "r.json"
    proc = cli("jaxrestore.evaluate", "--task=jpeg", f"--checkpoint={jpeg_run}", "--which=latest",
               f"--data={clean_folder}", f"--output={out}")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())[clean_folder.name]
    expected = evaluate_folders(load_restorer(jpeg_run, which="latest"), [clean_folder], task="jpeg",
                                progress=False)[clean_folder.name]
    source = result.pop("checkpoint")
    assert result == {k: pytest.approx(v, abs=1e-9) for k, v in expected.items() if k != "per_image"}
    assert source == {"path": str(jpeg_run / "checkpoints" / "3"), "step": 3, "which": "latest",
                      "weights": "raw"}
    assert f"scoring checkpoint {jpeg_run / 'checkpoints' / '3'} (latest, step 3, raw weights)" in proc.stdout


@pytest.mark.parametrize("args, words", [
    (["--task=sr"], "was trained for JPEG artifact removal (task 'jpeg'), not super-resolution; pass --task=jpeg"),
    (["--task=jpeg", "--quality=20"], "was trained for JPEG quality 10 but --quality=20"),
])
def test_jpeg_checkpoint_in_the_wrong_evaluation_is_one_line(jpeg_run, clean_folder, tmp_path, args, words):
    proc = cli("jaxrestore.evaluate", *args, f"--checkpoint={jpeg_run}", f"--data={clean_folder}",
               f"--output={tmp_path / 'r.json'}")
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], proc.stderr
    assert not (tmp_path / "r.json").exists()


def test_sr_checkpoint_in_the_jpeg_evaluation_is_one_line(trained_run, clean_folder, tmp_path):
    proc = cli("jaxrestore.evaluate", "--task=jpeg", f"--checkpoint={trained_run}", f"--data={clean_folder}",
               f"--output={tmp_path / 'r.json'}")
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "super-resolution (task 'sr'), not JPEG artifact removal; pass --task=sr" in lines[0]


def test_restore_cli_restores_the_luma_of_a_colour_jpeg(jpeg_run, tmp_path):
    rgb = dead_leaves(5, (30, 44))
    path = tmp_path / "in" / "photo.png"
    write_image(path, rgb)
    proc = cli("jaxrestore.restore", f"--checkpoint={jpeg_run}", str(path), f"--output={tmp_path / 'out'}")
    assert proc.returncode == 0, proc.stderr
    out = read_image(tmp_path / "out" / "photo.png", mode="native")
    assert out.shape == rgb.shape
    restorer = load_restorer(jpeg_run)
    expected_y = restorer(luma_uint8(rgb)[..., None])[..., 0].astype(float)
    ycbcr_out = rgb_to_ycbcr(out.astype(float) / 255) * 255
    ycbcr_in = rgb_to_ycbcr(rgb.astype(float) / 255) * 255
    # Y is the model's restoration, Cb/Cr the input's (up to the uint8 rounding of RGB).
    assert np.abs(ycbcr_out[..., 0] - expected_y).max() < 1.5
    assert np.abs(ycbcr_out[..., 1:] - ycbcr_in[..., 1:]).max() < 2.0
