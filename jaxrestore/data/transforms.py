"""Per-image training transforms: random HR crop, flips/rotations, and the degradation.

A training example is ``{"degraded": x, "target": hr}``, both float32 HxWxC in
[0, 1] (the batch adds a leading N: NHWC at every public boundary); C is 3 for
SR and 1 (luma) for JPEG artifact removal.

Degradations are small pluggable pieces keyed by task name, built by
:func:`make_degradation`. Each maps the uint8 HR crop to the uint8 degraded image:

* ``"sr"`` (option ``scale``): MATLAB bicubic downscaling by ``1/scale`` of the uint8
  crop, ``imresize(hr, 1/scale)`` on uint8 (rounded after each 1-D pass, as MATLAB
  does for a uint8 image; ``jaxrestore.imaging.resize``) — the LR sets of SRGAN (000_* §4.2.1,
  "downsampling ... by a factor of 4 and a bicubic kernel") and of the SR
  benchmarks are made by MATLAB and stored as uint8 images, so training sees the
  same quantised inputs.
* ``"jpeg"`` (option ``quality``): the task is on the luma channel, so the crop is
  first reduced to its rounded MATLAB Y (``prepare``; the target is HxWx1), then
  encoded and decoded as a greyscale JPEG at ``quality`` by Pillow's libjpeg
  (``jaxrestore.imaging.jpeg``). The crop is compressed on its own, so JPEG's 8x8
  block grid starts at the crop's corner, as when a whole image is compressed.

A degradation may carry attributes the pipeline reads: ``divisor`` (the crop size
must be a multiple of it), ``prepare`` (applied to the uint8 crop before degrading;
its output is the target) and ``channels`` (of the target and the input).

A task's degradation is ``_make_<task>(**options) -> Degradation`` registered in
``DEGRADATIONS``; the task object (:mod:`jaxrestore.training.tasks`) gives its options.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grain
import numpy as np
from PIL import Image

from jaxrestore.errors import ConfigError, DataError
from jaxrestore.imaging.color import rgb_to_y_uint8
from jaxrestore.imaging.jpeg import check_quality, jpeg_compress
from jaxrestore.imaging.resize import imresize

Degradation = Callable[[np.ndarray], np.ndarray]  # uint8 HR crop -> uint8 degraded


def _make_sr(*, scale: int) -> Degradation:
    scale = int(scale)
    if scale < 1:
        raise ConfigError(f"the SR scale must be a positive integer, got {scale}; fix the config's scale.")

    def bicubic_downscale(hr: np.ndarray) -> np.ndarray:
        return imresize(np.asarray(hr, np.uint8), 1.0 / scale)  # uint8 in: MATLAB's uint8 result

    bicubic_downscale.divisor = scale  # the crop size must be a multiple of this
    bicubic_downscale.channels = 3
    return bicubic_downscale


def luma_channel(image: np.ndarray) -> np.ndarray:
    """uint8 HxWx1: the rounded MATLAB Y of an RGB image, or a grey image's own channel."""
    image = np.asarray(image)
    if image.ndim == 2:
        return image[..., None]
    if image.shape[-1] == 1:
        return image
    return rgb_to_y_uint8(image)[..., None]


def _make_jpeg(*, quality: int) -> Degradation:
    quality = check_quality(quality)

    def compress_luma(luma: np.ndarray) -> np.ndarray:
        return jpeg_compress(luma, quality)

    compress_luma.divisor = 1
    compress_luma.prepare = luma_channel
    compress_luma.channels = 1
    return compress_luma


def _make_generate() -> None:
    """Unconditional generation (a GAN prior) degrades nothing: batches hold ``target`` only."""
    return None


DEGRADATIONS: dict[str, Callable[..., Degradation | None]] = {"sr": _make_sr, "jpeg": _make_jpeg,
                                                              "generate": _make_generate}


def make_degradation(task: str, **options: Any) -> Degradation:
    """The degradation of ``task`` (``"sr"``: ``scale=``; ``"jpeg"``: ``quality=``), a
    uint8 -> uint8 image function."""
    if task not in DEGRADATIONS:
        raise ConfigError(f"unknown task {task!r} for data degradation; valid: "
                          f"{', '.join(sorted(DEGRADATIONS))}.")
    try:
        return DEGRADATIONS[task](**options)
    except TypeError as err:
        raise ConfigError(f"bad options {sorted(options)} for the {task!r} degradation ({err}); "
                          "fix the call.") from None


def centre_crop_resize(image: np.ndarray, crop: int = 0, size: int = 0, *, box=(),
                       description: str = "an image") -> np.ndarray:
    """The central ``crop`` x ``crop`` square of a uint8 HxWxC image (0: the whole image),
    or the ``box`` = (top, left, height, width) rectangle, resized to ``size`` x ``size``
    (0: not resized) by Pillow's bilinear filter, which DCGAN-tensorflow's
    ``scipy.misc.imresize`` called (antialiased when shrinking). The DCGAN recipe for
    CelebA's aligned images is ``crop=108, size=64``; the crop's top-left corner is
    ``((H - crop) // 2, (W - crop) // 2)`` rounded as there. BEGAN-tensorflow's is the box
    (50, 25, 128, 128)."""
    crop, size, box = int(crop), int(size), tuple(int(b) for b in box)
    if crop < 0 or size < 0:
        raise ConfigError(f"data.center_crop={crop} and data.resize={size} must be >= 0 (0: off).")
    if box:
        if crop or len(box) != 4 or min(box) < 0 or 0 in box[2:]:
            raise ConfigError(f"data.crop_box={box} must be (top, left, height, width) with a positive size, "
                              "and data.center_crop 0 beside it.")
        top, left, height, width = box
        h, w = image.shape[:2]
        if top + height > h or left + width > w:
            raise DataError(f"{description} is {h}x{w}, too small for the crop box {box} (data.crop_box: top, "
                            "left, height, width); change the box or remove the image.")
        image = image[top:top + height, left:left + width]
    if crop:
        h, w = image.shape[:2]
        if h < crop or w < crop:
            raise DataError(f"{description} is {h}x{w}, smaller than the {crop}x{crop} centre crop "
                            "(data.center_crop); lower it or remove the image.")
        top, left = int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0))
        image = image[top:top + crop, left:left + crop]
    if size and image.shape[:2] != (size, size):
        squeeze = image.ndim == 3 and image.shape[-1] == 1
        pil = Image.fromarray(image[..., 0] if squeeze else image)
        image = np.asarray(pil.resize((size, size), Image.BILINEAR))
        image = image[..., None] if squeeze else image
    return np.ascontiguousarray(image)


def random_crop(image: np.ndarray, patch_size: int, rng: np.random.Generator, *,
                description: str = "an image") -> np.ndarray:
    """A uniformly placed ``patch_size`` square crop; DataError if the image is smaller."""
    height, width = image.shape[:2]
    if height < patch_size or width < patch_size:
        raise DataError(
            f"{description} is {height}x{width}, smaller than the {patch_size}x{patch_size} "
            "training crop; lower data.patch_size, remove the image, or set "
            "data.skip_small_images=True.")
    top = int(rng.integers(0, height - patch_size + 1))
    left = int(rng.integers(0, width - patch_size + 1))
    return image[top:top + patch_size, left:left + patch_size]


def random_flip_rotate(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One of the 8 flips/90-degree rotations (the dihedral group), uniformly."""
    k, flip = int(rng.integers(0, 4)), bool(rng.integers(0, 2))
    image = np.rot90(image, k)
    return image[:, ::-1] if flip else image


def random_hflip(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A horizontal flip with probability 1/2 (the DCGAN recipe: faces are not rotated)."""
    return image[:, ::-1] if rng.integers(0, 2) else image


# What ``data.augment`` does, chosen by the task (jaxrestore.training.tasks.Task.augmentation).
AUGMENTATIONS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "dihedral": random_flip_rotate, "hflip": random_hflip}


class CropAugmentDegrade(grain.transforms.RandomMap):
    """``{"image": uint8 HxWx3, "description": str}`` -> ``{"degraded", "target"}`` float32 [0, 1].

    Crops ``patch_size`` at random, optionally augments (``augmentation``: one of
    :data:`AUGMENTATIONS`, the task's choice), then degrades. With no degradation (``None``,
    a GAN prior's images) it gives ``{"target"}`` only. The
    generator comes from grain, seeded by the pipeline seed and the element's index,
    so an element is the same whenever and wherever it is produced. With
    ``skip_small_images`` an image smaller than the crop gives ``None`` (grain drops
    it) instead of a :class:`DataError`.
    """

    def __init__(self, *, patch_size: int, degradation: Degradation, augment: bool = False,
                 augmentation: str = "dihedral", skip_small_images: bool = False):
        if augmentation not in AUGMENTATIONS:
            raise ConfigError(f"unknown augmentation {augmentation!r}; choose one of {', '.join(AUGMENTATIONS)}.")
        divisor = getattr(degradation, "divisor", 1) if degradation is not None else 1
        if patch_size < 1 or patch_size % divisor:
            raise ConfigError(f"data.patch_size={patch_size} must be a positive multiple of the "
                              f"scale {divisor}; change data.patch_size.")
        self.patch_size, self.degradation = int(patch_size), degradation
        self.augment, self.skip_small_images = bool(augment), bool(skip_small_images)
        self.augmentation = augmentation

    def random_map(self, element: dict[str, Any], rng: np.random.Generator) -> dict[str, np.ndarray] | None:
        image = element["image"]
        if self.skip_small_images and min(image.shape[:2]) < self.patch_size:
            return None
        hr = random_crop(image, self.patch_size, rng, description=element.get("description", "an image"))
        if self.augment:
            hr = AUGMENTATIONS[self.augmentation](hr, rng)
        hr = np.ascontiguousarray(hr)
        if self.degradation is None:
            return {"target": hr.astype(np.float32) / np.float32(255.0)}
        prepare = getattr(self.degradation, "prepare", None)
        if prepare is not None:
            hr = np.ascontiguousarray(prepare(hr))
        degraded = self.degradation(hr)
        return {
            "degraded": degraded.astype(np.float32) / np.float32(255.0),
            "target": hr.astype(np.float32) / np.float32(255.0),
        }
