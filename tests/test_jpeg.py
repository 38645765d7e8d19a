"""The JPEG degradation and the artifact-removal evaluation (000_* Table 1's plain-JPEG row)."""

from __future__ import annotations

import functools
import io
import json

import numpy as np
import pytest
from PIL import Image

from conftest import SHARED_DATA
from jaxrestore.data.procedural import dead_leaves
from jaxrestore.data.transforms import CropAugmentDegrade, make_degradation
from jaxrestore.errors import ConfigError, DataError
from jaxrestore.evaluation import JpegRestorer, evaluate_folders, evaluate_images
from jaxrestore.imaging.color import rgb_to_y_uint8
from jaxrestore.imaging.io import read_image
from jaxrestore.imaging.jpeg import (
    STANDARD_LUMINANCE_TABLE,
    check_quality,
    decode_jpeg,
    encode_jpeg,
    jpeg_compress,
)



@functools.lru_cache(maxsize=None)
def tensorflow_plain_jpeg_row(name: str, quality: int) -> tuple[float, float]:
    """(PSNR-Y, SSIM-Y) of the plain-JPEG row computed with a second JPEG implementation:
    TensorFlow's encoder and decoder (its own libjpeg-turbo build, accurate integer DCT) on
    the MATLAB Y written out here; PSNR written out, SSIM the package's (tests/test_metrics.py)."""
    import tensorflow as tf

    from jaxrestore.metrics import ssim

    psnrs, ssims = [], []
    for path in sorted((SHARED_DATA / name).glob("*.png")):
        rgb = np.asarray(Image.open(path))
        if rgb.ndim == 2:
            y = rgb
        else:
            y = np.floor(16 + (rgb[..., :3].astype(np.float64) @ np.array([65.481, 128.553, 24.966])) / 255
                         + 0.5).astype(np.uint8)
        data = tf.io.encode_jpeg(y[..., None], quality=quality, optimize_size=False)
        jpeg = tf.io.decode_jpeg(data, channels=1, dct_method="INTEGER_ACCURATE").numpy()[..., 0]
        a, b = y.astype(np.float64), jpeg.astype(np.float64)
        psnrs.append(10 * np.log10(255.0 ** 2 / np.mean((a - b) ** 2)))
        ssims.append(ssim(a, b))
    return float(np.mean(psnrs)), float(np.mean(ssims))


def _ijg_table(quality: int) -> np.ndarray:
    """libjpeg's jpeg_quality_scaling + jpeg_add_quant_table, written out independently."""
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    scale = int(scale)
    table = np.floor((STANDARD_LUMINANCE_TABLE * scale + 50) / 100)
    return np.clip(table, 1, 255).astype(int)


@pytest.mark.parametrize("quality", [1, 10, 20, 50, 75, 95, 100])
def test_encoder_uses_the_standard_table_scaled_for_the_quality(quality):
    y = np.random.default_rng(quality).integers(0, 256, (24, 40), dtype=np.uint8)
    with Image.open(io.BytesIO(encode_jpeg(y, quality))) as pil:
        assert pil.mode == "L" and pil.layers == 1  # one component: no chroma, no subsampling
        tables = pil.quantization
    assert list(tables) == [0]
    np.testing.assert_array_equal(np.array(tables[0]).reshape(8, 8), _ijg_table(quality))


def test_compress_round_trips_the_encoders_own_decoder_and_is_deterministic():
    y = rgb_to_y_uint8(dead_leaves(3, (37, 52)))
    once = jpeg_compress(y, 10)
    assert once.dtype == np.uint8 and once.shape == y.shape
    np.testing.assert_array_equal(once, decode_jpeg(encode_jpeg(y, 10)))
    with Image.open(io.BytesIO(encode_jpeg(y, 10))) as pil:
        np.testing.assert_array_equal(once, np.asarray(pil))
    np.testing.assert_array_equal(jpeg_compress(y, 10), once)
    np.testing.assert_array_equal(jpeg_compress(y[..., None], 10)[..., 0], once)
    assert np.abs(once.astype(int) - y).max() > 0  # Q10 does change the image
    # Lower quality, larger error.
    err = [np.mean((jpeg_compress(y, q).astype(float) - y) ** 2) for q in (10, 50, 90)]
    assert err[0] > err[1] > err[2]


@pytest.mark.parametrize("bad", [0, 101, -5, 10.5, True, "10", None])
def test_quality_outside_1_to_100_is_refused(bad):
    with pytest.raises(ConfigError, match="integer from 1 to 100"):
        check_quality(bad)
    with pytest.raises(ConfigError):
        make_degradation("jpeg", quality=bad)


def test_training_example_is_the_luma_crop_and_its_jpeg():
    image = dead_leaves(11, (64, 80))
    transform = CropAugmentDegrade(patch_size=32, degradation=make_degradation("jpeg", quality=20))
    rng = np.random.default_rng(5)
    example = transform.random_map({"image": image, "description": "x"}, rng)
    target = np.rint(example["target"] * 255).astype(np.uint8)
    degraded = np.rint(example["degraded"] * 255).astype(np.uint8)
    assert target.shape == degraded.shape == (32, 32, 1)
    # The target is a 32x32 window of the image's rounded MATLAB Y ...
    y = rgb_to_y_uint8(image)
    hits = [(t, l) for t in range(33) for l in range(49) if np.array_equal(y[t:t + 32, l:l + 32], target[..., 0])]
    assert len(hits) == 1
    # ... and the input is exactly that window's greyscale JPEG at quality 20.
    np.testing.assert_array_equal(degraded, jpeg_compress(target, 20))
    again = transform.random_map({"image": image, "description": "x"}, np.random.default_rng(5))
    np.testing.assert_array_equal(again["degraded"], example["degraded"])


def test_plain_jpeg_row_on_set5_and_set14():
    """Pillow's codec (the package's) and TensorFlow's give the same pixels, so the same row:
    measured, Set5 Q10 29.6272 / 0.8179, Q20 32.2777 / 0.8808; Set14 Q10 28.0982 / 0.7785, Q20
    30.4967 / 0.8536. (TensorFlow's fast integer IDCT instead moves ~30 % of the pixels by one
    grey level and the PSNR by about -0.01 dB: the spread a decoder choice alone can make.)"""
    for quality in (10, 20):
        results = evaluate_folders(JpegRestorer(quality), [SHARED_DATA / "Set5", SHARED_DATA / "Set14"],
                                   task="jpeg", progress=False)
        for name in ("Set5", "Set14"):
            psnr_y, ssim_y = tensorflow_plain_jpeg_row(name, quality)
            # (equal here; the tolerance leaves room for a rounding tie of the two Y formulas on
            # some pixel, which moves a set's PSNR by ~1e-5 dB)
            assert results[name]["psnr_y"] == pytest.approx(psnr_y, abs=1e-4)
            assert results[name]["ssim_y"] == pytest.approx(ssim_y, abs=1e-5)


def test_jpeg_protocol_against_a_direct_computation():
    """One Set5 image scored by hand: Pillow's own RGB->L is not MATLAB's Y, so build Y here."""
    rgb = read_image(SHARED_DATA / "Set5" / "bird.png", mode="native")
    y = np.floor(16 + (rgb.astype(np.float64) @ np.array([65.481, 128.553, 24.966])) / 255 + 0.5)
    y = y.astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(y, "L").save(buffer, "JPEG", quality=10)
    jpeg = np.asarray(Image.open(buffer)).astype(np.float64)
    expected_psnr = 10 * np.log10(255.0 ** 2 / np.mean((jpeg - y) ** 2))
    result = evaluate_images(JpegRestorer(10), {"bird": rgb}, task="jpeg")
    assert result["psnr_y"] == pytest.approx(expected_psnr, abs=1e-9)
    # A restorer that returns the clean image scores infinite PSNR and SSIM 1: nothing else is mixed in.

    class Oracle(JpegRestorer):
        def __call__(self, degraded):
            return y[..., None]

    perfect = evaluate_images(Oracle(10), {"bird": rgb}, task="jpeg")
    assert perfect["psnr_y"] == np.inf and perfect["ssim_y"] == pytest.approx(1.0)


def test_jpeg_protocol_errors():
    image = {"a": dead_leaves(1, (32, 32))}
    with pytest.raises(ConfigError, match="--task=jpeg"):
        evaluate_images(JpegRestorer(10), image, task="sr", scale=4)
    with pytest.raises(ConfigError, match="quality 10"):
        evaluate_images(JpegRestorer(10), image, task="jpeg", quality=20)

    class Colour(JpegRestorer):
        def __call__(self, degraded):
            return np.repeat(degraded, 3, axis=-1)

    with pytest.raises(DataError, match="luma"):
        evaluate_images(Colour(10), image, task="jpeg")


def test_undecodable_image_is_named(tmp_path):
    (tmp_path / "good.png").write_bytes(b"")
    Image.fromarray(dead_leaves(2, (24, 24))).save(tmp_path / "good.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(DataError, match="broken.jpg"):
        evaluate_folders(JpegRestorer(10), [tmp_path], task="jpeg", progress=False)


def test_cli_plain_jpeg_row(tmp_path):
    from test_evaluate import _cli

    output = tmp_path / "results.json"
    proc = _cli("--task=jpeg", "--quality=10", "--baseline=jpeg", f"--data={SHARED_DATA / 'Set5'}",
                f"--output={output}")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(output.read_text())
    assert set(results) == {"Set5"}
    row = {k: results["Set5"][k] for k in ("psnr_y", "ssim_y", "images")}
    psnr_y, ssim_y = tensorflow_plain_jpeg_row("Set5", 10)
    assert row == {"psnr_y": pytest.approx(psnr_y, abs=1e-4), "ssim_y": pytest.approx(ssim_y, abs=1e-5),
                   "images": 5}
