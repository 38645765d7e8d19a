"""SR evaluation protocol and the evaluate CLI: published bicubic figures on Set5/Set14."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jaxrestore.errors import ConfigError, DataError
from jaxrestore.evaluation import (
    BicubicRestorer,
    evaluate_folders,
    evaluate_images,
    luma_uint8,
    modcrop,
    score_sr,
)
from jaxrestore.imaging.color import rgb_to_y_uint8
from jaxrestore.metrics import psnr, ssim
from matlab_reference import imresize_loop, read_png

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data"

# Published bicubic rows (SRCNN/VDSR tables): (PSNR-Y dB, SSIM-Y).
PUBLISHED = {
    ("Set5", 2): (33.66, 0.9299), ("Set5", 3): (30.39, 0.8682), ("Set5", 4): (28.42, 0.8104),
    ("Set14", 2): (30.24, 0.8688), ("Set14", 3): (27.55, 0.7742), ("Set14", 4): (26.00, 0.7027),
}

@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_reproduces_published_figures(scale):
    results = evaluate_folders(BicubicRestorer(scale), [DATA / "Set5", DATA / "Set14"], scale=scale, progress=False)
    assert results["Set5"]["images"] == 5 and results["Set14"]["images"] == 14
    for name in ("Set5", "Set14"):
        got = (results[name]["psnr_y"], results[name]["ssim_y"])
        assert got[0] == pytest.approx(PUBLISHED[name, scale][0], abs=0.01), name
        assert got[1] == pytest.approx(PUBLISHED[name, scale][1], abs=0.001), name
        # ... and equal to the protocol computed here from a separate transcription of MATLAB's
        # imresize and rgb2ycbcr (PSNR and L1 written out; SSIM is tests/test_metrics.py's).
        figures = independent_bicubic_figures(DATA / name, scale)
        assert got[0] == pytest.approx(np.mean([f[0] for f in figures.values()]), abs=1e-6), name
        assert got[1] == pytest.approx(np.mean([f[2] for f in figures.values()]), abs=1e-6), name


def test_bicubic_rgb_pipeline_set5_x4():
    """The uint8 RGB pipeline a model sees, recomputed here: LR and upscaling by the MATLAB
    transcription (uint8 after each pass), Y written out. Within the published row's precision."""
    results = evaluate_folders(BicubicRestorer(4, luma_reference=False), [DATA / "Set5"], scale=4, progress=False)
    psnrs = []
    for path in sorted((DATA / "Set5").glob("*.png")):
        hr = modcrop(read_png(path), 4)
        sr = imresize_loop(imresize_loop(hr, 1 / 4), 4)
        a, b = independent_y(hr)[4:-4, 4:-4], independent_y(sr)[4:-4, 4:-4]
        psnrs.append(10 * np.log10(255.0**2 / np.mean((a - b) ** 2)))
    # One Set5 pixel's luma is a rounding tie that the two Y formulas round apart (~2e-6 dB).
    assert results["Set5"]["psnr_y"] == pytest.approx(np.mean(psnrs), abs=1e-4)
    assert results["Set5"]["psnr_y"] == pytest.approx(PUBLISHED["Set5", 4][0], abs=0.01)
    assert results["Set5"]["ssim_y"] == pytest.approx(PUBLISHED["Set5", 4][1], abs=0.001)


def test_score_sr_crops_border_and_uses_rounded_y():
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (24, 28, 3)).astype(np.uint8)
    restored = hr.copy()
    restored[:4] = 0  # damage only the 4-pixel border at scale 4: ignored
    restored[:, :4] = 0
    psnr_y, ssim_y = score_sr(hr, restored, scale=4)
    assert psnr_y == float("inf") and ssim_y == pytest.approx(1.0)
    restored = hr.copy()
    restored[10, 10] = 255 - restored[10, 10]
    y_hr, y_sr = rgb_to_y_uint8(hr)[4:-4, 4:-4].astype(float), rgb_to_y_uint8(restored)[4:-4, 4:-4].astype(float)
    assert score_sr(hr, restored, scale=4) == (pytest.approx(psnr(y_hr, y_sr)), pytest.approx(ssim(y_hr, y_sr)))


def test_grey_images_are_scored_on_their_own_channel():
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 256, (30, 30, 1)).astype(np.uint8)
    np.testing.assert_array_equal(luma_uint8(grey), grey[..., 0])
    other = np.clip(grey.astype(int) + 3, 0, 255).astype(np.uint8)
    a, b = grey[2:-2, 2:-2, 0].astype(float), other[2:-2, 2:-2, 0].astype(float)
    assert score_sr(grey, other, scale=2)[0] == pytest.approx(psnr(a, b))


def test_modcrop():
    assert modcrop(np.zeros((13, 17, 3)), 4).shape == (12, 16, 3)
    assert modcrop(np.zeros((12, 18)), 3).shape == (12, 18)


class _Nearest:
    """A restorer that is not bicubic: pixel replication."""

    task = "sr"

    def __init__(self, scale):
        self.scale = scale
        self.seen = []

    def __call__(self, degraded):
        self.seen.append(degraded.shape)
        return np.repeat(np.repeat(degraded, self.scale, 0), self.scale, 1)


def test_evaluate_images_feeds_uint8_lr_and_averages():
    rng = np.random.default_rng(2)
    images = {"a": rng.integers(0, 256, (33, 41, 3)).astype(np.uint8),
              "b": rng.integers(0, 256, (40, 40, 1)).astype(np.uint8)}
    restorer = _Nearest(2)
    result = evaluate_images(restorer, images, scale=2)
    assert restorer.seen == [(16, 20, 3), (20, 20, 1)]  # modcropped, then halved
    assert result["images"] == 2
    assert set(result["per_image"]) == {"a", "b"}
    assert result["psnr_y"] == pytest.approx(np.mean([v["psnr_y"] for v in result["per_image"].values()]))
    assert result["ssim_y"] == pytest.approx(np.mean([v["ssim_y"] for v in result["per_image"].values()]))


def test_restorer_mistakes_are_one_line_errors():
    image = {"x": np.zeros((40, 40, 3), np.uint8)}
    with pytest.raises(ConfigError, match="scale"):
        evaluate_images(_Nearest(3), image, scale=2)

    class Shrinks(_Nearest):
        def __call__(self, degraded):
            return degraded

    with pytest.raises(DataError, match="upscale"):
        evaluate_images(Shrinks(2), image, scale=2)

    class Floats(_Nearest):
        def __call__(self, degraded):
            return super().__call__(degraded).astype(np.float32)

    with pytest.raises(DataError, match="uint8"):
        evaluate_images(Floats(2), image, scale=2)


# ---------------------------------------------------------------- the CLI


def _cli(*args, cwd=None):
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    return subprocess.run([sys.executable, "-m", "jaxrestore.evaluate", *args], cwd=cwd or REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_end_to_end_on_set5(tmp_path):
    output = tmp_path / "results.json"
    proc = _cli("--baseline=bicubic", "--scale=4", f"--data={DATA / 'Set5'}", f"--output={output}")
    assert proc.returncode == 0, proc.stderr
    assert "Set5" in proc.stdout and "28.4207" in proc.stdout
    results = json.loads(output.read_text())
    assert set(results) == {"Set5"}
    assert results["Set5"]["images"] == 5
    assert results["Set5"]["psnr_y"] == pytest.approx(28.42, abs=0.01)
    assert results["Set5"]["ssim_y"] == pytest.approx(0.8104, abs=0.001)
    assert list(results["Set5"]) == ["psnr_y", "psnr_y_std", "ssim_y", "l1_y", "images", "checkpoint"]
    assert results["Set5"]["checkpoint"] == {"baseline": "bicubic"}
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert rows == [{"folder": "Set5", "images": "5",
                     **{key: repr(results["Set5"][key]) for key in ("psnr_y", "psnr_y_std", "ssim_y", "l1_y")},
                     "baseline": "bicubic", "checkpoint": "", "step": "", "which": "", "weights": ""}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "results.json"]  # no temp files left


# ---------------------------------------------------------------- PSNR spread and L1 (001_* Tables 1-2)


def independent_y(rgb):
    """MATLAB rgb2ycbcr luma written out here: 16 + (65.481 R + 128.553 G + 24.966 B) / 255, rounded."""
    rgb = rgb.astype(np.float64)
    if rgb.ndim == 2 or rgb.shape[-1] == 1:
        return rgb.reshape(rgb.shape[:2])
    y = 16.0 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0
    return np.floor(y + 0.5)


def independent_bicubic_figures(folder, scale):
    """Per image (PSNR-Y, L1-Y, SSIM-Y) of the published Y-channel bicubic protocol, computed here
    with tests/matlab_reference.py's imresize transcription."""
    figures = {}
    for path in sorted(Path(folder).glob("*.png")):
        hr = read_png(path)
        h, w = hr.shape[:2]
        y = independent_y(hr[: h - h % scale, : w - w % scale])
        up = imresize_loop(imresize_loop(y / 255.0, 1.0 / scale), scale)
        sr = np.clip(np.floor(up * 255.0 + 0.5), 0, 255)
        a, b = y[scale:-scale, scale:-scale], sr[scale:-scale, scale:-scale]
        figures[path.stem] = (10 * np.log10(255.0**2 / np.mean((a - b) ** 2)), np.mean(np.abs(a - b)) / 255.0,
                              ssim(a, b))
    return figures


def test_cli_psnr_spread_and_l1_on_two_folders(tmp_path):
    output = tmp_path / "results.json"
    proc = _cli("--baseline=bicubic", "--scale=4", f"--data={DATA / 'Set5'}", f"--data={DATA / 'Set14'}",
                f"--output={output}", "--noprogress")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(output.read_text())
    assert list(results) == ["Set5", "Set14"]
    rows = {row["folder"]: row for row in csv.DictReader((tmp_path / "results.csv").open())}
    for name, count in (("Set5", 5), ("Set14", 14)):
        figures = independent_bicubic_figures(DATA / name, 4)
        assert len(figures) == count == results[name]["images"]
        psnrs = np.array([f[0] for f in figures.values()])
        assert results[name]["psnr_y"] == pytest.approx(np.mean(psnrs), abs=1e-6)
        assert results[name]["psnr_y_std"] == pytest.approx(np.std(psnrs), abs=1e-6)  # population (ddof=0)
        assert results[name]["psnr_y_std"] != pytest.approx(np.std(psnrs, ddof=1), abs=1e-2)
        assert results[name]["l1_y"] == pytest.approx(np.mean([f[1] for f in figures.values()]), rel=1e-6)
        assert float(rows[name]["psnr_y_std"]) == results[name]["psnr_y_std"]
        assert float(rows[name]["l1_y"]) == results[name]["l1_y"]


class _Perturbing:
    """An SR restorer that ignores its input and returns the HR image with known damage."""

    task = "sr"

    def __init__(self, scale, hr, damage):
        self.scale, self.hr, self.damage = scale, hr, damage

    def __call__(self, degraded):
        return np.clip(self.hr.astype(int) + self.damage, 0, 255).astype(np.uint8)


def test_per_image_l1_is_on_the_cropped_luma_in_unit_range():
    rng = np.random.default_rng(4)
    hr = rng.integers(20, 230, (24, 30, 3)).astype(np.uint8)  # a multiple of 3: no modcrop
    damage = np.zeros(hr.shape, int)
    damage[:3] = 100  # inside the 3-pixel border: not scored
    damage[3:, :, 1] = rng.integers(-15, 16, (21, 30))  # green only, so Y changes by 128.553/255 of it
    restored = _Perturbing(3, hr, damage)(None)
    result = evaluate_images(_Perturbing(3, hr, damage), {"a": hr}, scale=3)
    a, b = independent_y(hr)[3:-3, 3:-3], independent_y(restored)[3:-3, 3:-3]
    expected = np.mean(np.abs(a - b)) / 255.0
    assert expected > 0
    assert result["per_image"]["a"]["l1_y"] == pytest.approx(expected, rel=1e-12)
    assert result["l1_y"] == result["per_image"]["a"]["l1_y"]
    assert result["psnr_y_std"] == 0.0  # one image has no spread


def test_jpeg_task_reports_l1_and_psnr_spread():
    from jaxrestore.evaluation import JpegRestorer, degrade_jpeg

    rng = np.random.default_rng(5)
    images = {"a": rng.integers(0, 256, (32, 40, 3)).astype(np.uint8),
              "b": np.repeat(np.arange(48, dtype=np.uint8)[None] * 5, 36, axis=0)[..., None]}
    result = evaluate_images(JpegRestorer(20), images, task="jpeg")
    l1s, psnrs = [], []
    for image in images.values():
        clean = independent_y(image)
        jpeg = degrade_jpeg(image, quality=20)[..., 0].astype(np.float64)
        l1s.append(np.mean(np.abs(jpeg - clean)) / 255.0)
        psnrs.append(10 * np.log10(255.0**2 / np.mean((jpeg - clean) ** 2)))
    for name, l1_value in zip(images, l1s):
        assert result["per_image"][name]["l1_y"] == pytest.approx(l1_value, rel=1e-12)
    assert result["l1_y"] == pytest.approx(np.mean(l1s), rel=1e-12)
    assert result["psnr_y_std"] == pytest.approx(np.std(psnrs), rel=1e-9)
    assert result["psnr_y_std"] > 0.1


@pytest.mark.parametrize(
    "args, words",
    [
        (["--scale=4", "--data={data}"], "exactly one of --baseline or --checkpoint"),
        (["--baseline=bicubic", "--checkpoint=/x", "--scale=4", "--data={data}"], "exactly one of --baseline"),
        (["--baseline=lanczos", "--scale=4", "--data={data}"], "unknown --baseline='lanczos'"),
        (["--baseline=bicubic", "--scale=4", "--data={missing}"], "does not exist"),
        (["--baseline=bicubic", "--scale=4", "--data={empty}"], "holds no images"),
        (["--baseline=bicubic", "--data={data}"], "needs --scale"),
        (["--task=deblur", "--baseline=bicubic", "--scale=4", "--data={data}"], "unknown --task='deblur'"),
        (["--task=jpeg", "--baseline=jpeg", "--scale=4", "--data={data}"], "--scale does not apply to --task=jpeg"),
        (["--task=jpeg", "--baseline=bicubic", "--quality=10", "--data={data}"], "unknown --baseline='bicubic' for --task=jpeg"),
        (["--task=jpeg", "--baseline=jpeg", "--data={data}"], "needs --quality"),
        (["--task=jpeg", "--baseline=jpeg", "--quality=0", "--data={data}"], "integer from 1 to 100"),
        (["--task=jpeg", "--baseline=jpeg", "--quality=101", "--data={data}"], "integer from 1 to 100"),
        (["--baseline=bicubic", "--scale=4", "--quality=10", "--data={data}"], "--quality does not apply to --task=sr"),
    ],
)
def test_cli_errors_are_one_line_exit_2(tmp_path, args, words):
    data = tmp_path / "imgs"
    data.mkdir()
    from PIL import Image

    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(data / "a.png")
    (tmp_path / "empty").mkdir()
    fmt = {"data": data, "missing": tmp_path / "missing", "empty": tmp_path / "empty"}
    proc = _cli(*[a.format(**fmt) for a in args], f"--output={tmp_path / 'r.json'}")
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], proc.stderr
    assert not (tmp_path / "r.json").exists()
