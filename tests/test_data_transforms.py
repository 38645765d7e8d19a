"""Crop, flips/rotations and the SR degradation, against MATLAB's LR files and an independent
transcription of MATLAB's imresize (tests/matlab_reference.py)."""

import numpy as np
import pytest

from jaxrestore.data.transforms import (
    CropAugmentDegrade,
    make_degradation,
    random_crop,
    random_flip_rotate,
)
from jaxrestore.errors import ConfigError, DataError
from matlab_reference import imresize_loop, interior, selfexsr_pairs


def _image(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _find_crop(image, crop):
    """(top, left) where ``crop`` sits in ``image``."""
    p = crop.shape[0]
    for top in range(image.shape[0] - p + 1):
        for left in range(image.shape[1] - p + 1):
            if np.array_equal(image[top:top + p, left:left + p], crop):
                return top, left
    return None


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_sr_pair_equals_independent_recomputation(scale):
    image = _image(50, 61, seed=scale)
    patch = 12 * scale if scale < 4 else 24
    t = CropAugmentDegrade(patch_size=patch, degradation=make_degradation("sr", scale=scale))
    out = t.random_map({"image": image, "description": "test image"}, np.random.default_rng(5))
    assert set(out) == {"degraded", "target"}
    assert out["target"].dtype == np.float32 and out["degraded"].dtype == np.float32
    assert out["target"].shape == (patch, patch, 3)
    assert out["degraded"].shape == (patch // scale, patch // scale, 3)
    hr = np.round(out["target"] * 255).astype(np.uint8)
    np.testing.assert_array_equal(hr.astype(np.float32) / 255, out["target"])
    assert _find_crop(image, hr) is not None  # an unaltered crop of the image
    lr_expected = imresize_loop(hr, 1 / scale).astype(np.float32) / 255
    np.testing.assert_array_equal(out["degraded"], lr_expected)
    assert 0.0 <= out["degraded"].min() and out["degraded"].max() <= 1.0


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_sr_degradation_of_a_whole_image_is_matlabs_lr(scale):
    """A crop the size of a (square) SelfExSR HR image is the image: its LR is MATLAB's file."""
    pairs = [(n, hr, lr) for n, hr, lr in selfexsr_pairs("Set5", scale) if hr.shape[0] == hr.shape[1]]
    assert len(pairs) >= 3
    for name, hr, lr in pairs:
        t = CropAugmentDegrade(patch_size=hr.shape[0], degradation=make_degradation("sr", scale=scale))
        out = t.random_map({"image": hr}, np.random.default_rng(0))
        np.testing.assert_array_equal(out["target"], hr / np.float32(255))
        got = np.round(out["degraded"] * 255).astype(np.uint8)
        np.testing.assert_array_equal(got.astype(np.float32) / 255, out["degraded"])
        np.testing.assert_array_equal(interior(got), interior(lr), err_msg=name)


def test_crop_positions_cover_the_image_uniformly():
    image = np.arange(10 * 10 * 3, dtype=np.int64).reshape(10, 10, 3)
    rng = np.random.default_rng(0)
    tops = [random_crop(image, 8, rng)[0, 0, 0] // 30 for _ in range(3000)]
    counts = np.bincount(tops, minlength=3)
    assert counts.shape == (3,) and np.all(np.abs(counts / 3000 - 1 / 3) < 0.04)


def test_flip_rotate_gives_all_eight_symmetries_equally():
    image = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3)
    rng = np.random.default_rng(1)
    outs = [random_flip_rotate(image, rng).tobytes() for _ in range(4000)]
    values, counts = np.unique(outs, return_counts=True)
    assert len(values) == 8 and np.all(np.abs(counts / 4000 - 1 / 8) < 0.025)


def test_augment_switch():
    image = _image(16, 16)
    plain = CropAugmentDegrade(patch_size=16, degradation=make_degradation("sr", scale=2))
    aug = CropAugmentDegrade(patch_size=16, degradation=make_degradation("sr", scale=2), augment=True)
    el = {"image": image}
    for seed in range(5):  # a full-size crop without augmentation is the image itself
        out = plain.random_map(el, np.random.default_rng(seed))
        np.testing.assert_array_equal(out["target"], image / np.float32(255))
    targets = {aug.random_map(el, np.random.default_rng(s))["target"].tobytes() for s in range(40)}
    assert len(targets) == 8


def test_a_priors_augmentation_is_the_horizontal_flip_its_task_chooses():
    from conftest import tiny_config
    from jaxrestore.training.tasks import build_task

    task = build_task(tiny_config("dcgan").task)
    assert task.augmentation == "hflip" and build_task(tiny_config("srgan").task).augmentation == "dihedral"
    image = _image(16, 16)
    t = CropAugmentDegrade(patch_size=16, degradation=task.degradation(), augment=True,
                           augmentation=task.augmentation)
    outs = [t.random_map({"image": image}, np.random.default_rng(s)) for s in range(40)]
    assert all(set(o) == {"target"} for o in outs)  # images only
    seen = {o["target"].tobytes() for o in outs}
    assert seen == {(image / np.float32(255)).tobytes(), (image[:, ::-1] / np.float32(255)).tobytes()}
    with pytest.raises(ConfigError, match="unknown augmentation 'rot'"):
        CropAugmentDegrade(patch_size=16, degradation=None, augment=True, augmentation="rot")


def test_image_smaller_than_crop_names_image_and_fix():
    t = CropAugmentDegrade(patch_size=96, degradation=make_degradation("sr", scale=4))
    with pytest.raises(DataError) as err:
        t.random_map({"image": _image(80, 120), "description": "image '/data/x.png'"},
                     np.random.default_rng(0))
    msg = str(err.value)
    assert "/data/x.png" in msg and "80x120" in msg and "data.patch_size" in msg
    skip = CropAugmentDegrade(patch_size=96, degradation=make_degradation("sr", scale=4),
                              skip_small_images=True)
    assert skip.random_map({"image": _image(80, 120)}, np.random.default_rng(0)) is None


def test_bad_degradation_options():
    with pytest.raises(ConfigError, match="sr"):
        make_degradation("denoise", sigma=25)
    with pytest.raises(ConfigError):
        make_degradation("sr")
    with pytest.raises(ConfigError, match="multiple of the scale"):
        CropAugmentDegrade(patch_size=30, degradation=make_degradation("sr", scale=4))


def test_centre_crop_resize_offsets_and_errors():
    from jaxrestore.data.transforms import centre_crop_resize

    image = np.arange(7 * 6 * 3, dtype=np.uint8).reshape(7, 6, 3)
    np.testing.assert_array_equal(centre_crop_resize(image, 4), image[2:6, 1:5])  # round(1.5) = 2, round(1.0) = 1
    np.testing.assert_array_equal(centre_crop_resize(image), image)  # both off
    assert centre_crop_resize(image, 4, 2).shape == (2, 2, 3)
    with pytest.raises(DataError, match="7x6, smaller than the 8x8 centre crop"):
        centre_crop_resize(image, 8)
    with pytest.raises(ConfigError, match="must be >= 0"):
        centre_crop_resize(image, -1)
    np.testing.assert_array_equal(centre_crop_resize(image, box=(2, 1, 5, 3)), image[2:7, 1:4])
    with pytest.raises(DataError, match="too small for the crop box"):
        centre_crop_resize(image, box=(3, 0, 5, 3))
    with pytest.raises(ConfigError, match="center_crop 0 beside it"):
        centre_crop_resize(image, 4, box=(0, 0, 2, 2))
