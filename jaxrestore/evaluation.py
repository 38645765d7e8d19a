"""The evaluation protocols of the literature, as a library: SR and JPEG artifact removal.

Super-resolution (task ``"sr"``), for each HR image (read with its native channels):

1. modcrop: crop the bottom/right so height and width are multiples of ``scale``;
2. LR = ``imresize(HR, 1/scale)`` on the uint8 RGB image: MATLAB bicubic with
   antialiasing, uint8 after each 1-D pass as MATLAB's own (equal to the LR files
   MATLAB made for SelfExSR away from the border, ``jaxrestore.imaging.resize``);
3. restored = ``restorer(LR)``: uint8 with the HR's shape and channel count;
4. PSNR and SSIM on the luma: MATLAB ``rgb2ycbcr`` of the uint8 image, Y rounded to
   uint8 (values 16..235); a grey image (one channel) is scored on its own channel
   (0..255), not converted; a ``scale``-pixel border is cropped on every side;
   PSNR with peak 255 and Wang et al.'s SSIM (``jaxrestore.metrics``) in float64,
   and ``l1_y``, the mean absolute error of that cropped luma scaled to [0, 1]
   (``|Y_restored - Y_hr| / 255``, 001_* Table 2);
5. the figures of a folder are the means over its images, and ``psnr_y_std`` is the
   standard deviation of its per-image PSNR-Y (001_* Table 1's PSD row): the
   population one (ddof=0, NumPy's default), the spread of the test set itself;
   the paper does not say which; the sample one is ``sqrt(n / (n - 1))`` times it.

The published bicubic rows (SRCNN, VDSR and every later table: Set5 x4
28.42 dB / 0.8104) were not made through a uint8 LR. They upscale on the Y channel
in double precision: ``Y = rgb2ycbcr(modcrop(HR))(:,:,1)`` (uint8), ``y = Y/255``,
``sr = imresize(imresize(y, 1/s), s)``, scored as ``uint8(sr * 255)`` against ``Y``.
:class:`BicubicRestorer` offers both: called on an LR image it is the RGB uint8
pipeline a model goes through (``--baseline=bicubic_rgb``); with ``luma_reference``
set (the default, ``--baseline=bicubic``) the evaluation asks it for the
published Y-channel protocol instead. Measured here on the ``shared/data`` images
(published figures in brackets):

====== ======================= ======================= =======================
set    x2                      x3                      x4
====== ======================= ======================= =======================
Set5   33.6614 / 0.9299        30.3922 / 0.8682        28.4207 / 0.8104
       (33.66 / 0.9299)        (30.39 / 0.8682)        (28.42 / 0.8104)
Set14  30.2318 / 0.8687        27.5405 / 0.7736        26.0001 / 0.7019
       (30.24 / 0.8688)        (27.55 / 0.7742)        (26.00 / 0.7027)
====== ======================= ======================= =======================

Set5 is exact at every scale. Set14 is within 0.01 dB / 0.001 but not exact; no
variant tried (RGB uint8 pipeline, uint8 rounding between the two resize passes,
rounded or unrounded LR/SR, grey images scored as replicated RGB) closes the gap,
which likely comes from a different copy of Set14 behind the VDSR table.
The RGB uint8 pipeline (``bicubic_rgb``: MATLAB's uint8 resize down and up, rounded
after each pass) gives, x2/x3/x4: Set5 33.6396/0.9292, 30.3850/0.8678, 28.4165/0.8101;
Set14 30.2183/0.8683, 27.5303/0.7737, 25.9903/0.7023.

JPEG artifact removal (task ``"jpeg"``, 000_* Table 1), for each clean image:

1. Y = the rounded uint8 luma (MATLAB ``rgb2ycbcr``; a grey image is its own channel);
2. degraded = Y encoded and decoded as a greyscale JPEG at quality q
   (``jaxrestore.imaging.jpeg``: Pillow's libjpeg, standard tables);
3. restored = ``restorer(degraded)``, uint8 HxWx1;
4. PSNR (peak 255), Wang et al.'s SSIM and the [0, 1] L1 of restored against Y, no
   border cropped, no size cropping; the folder's figures are the means over its
   images, plus ``psnr_y_std`` as for SR.

The plain-JPEG row (``--baseline=jpeg``) measured here (000_* Table 1 has BSDS500,
which is not on this machine: Q10 27.80 / 0.7875, Q20 30.05 / 0.8671):

====== ======================= =======================
set    Q10                     Q20
====== ======================= =======================
Set5   29.6272 / 0.8179        32.2777 / 0.8808
Set14  28.0982 / 0.7785        30.4967 / 0.8536
====== ======================= =======================

The SSIM column of 000_* Table 1 is not the standard Gaussian SSIM of these
images; README ("Which SSIM did 000_* use?") records what we found.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from jaxrestore.errors import ConfigError, DataError
from jaxrestore.imaging.color import rgb_to_y_uint8
from jaxrestore.imaging.io import list_images, read_image
from jaxrestore.imaging.jpeg import check_quality, jpeg_compress
from jaxrestore.imaging.resize import imresize, to_uint8
from jaxrestore.metrics import psnr, ssim


class Restorer(Protocol):
    """What a model or a baseline offers to the evaluation."""

    task: str  # the name of its task in jaxrestore.tasks (whose protocol scores it)
    scale: int  # super-resolution
    quality: int  # JPEG artifact removal

    def __call__(self, degraded: np.ndarray) -> np.ndarray:
        """uint8 HxWxC (C is 1 or 3) -> uint8 restored image with the same C."""
        ...


class BicubicRestorer:
    """MATLAB bicubic upscaling of the uint8 LR: ``imresize(lr, scale)``, uint8 after each pass.

    ``luma_reference=True`` marks it for the published Y-channel double-precision
    protocol (:meth:`restore_luma`), which reproduces the literature's bicubic rows.
    """

    task = "sr"

    def __init__(self, scale: int, *, luma_reference: bool = True):
        self.scale = _check_scale(scale)
        self.luma_reference = luma_reference

    def __call__(self, degraded: np.ndarray) -> np.ndarray:
        return imresize(_as_uint8(degraded, "bicubic upscaling"), self.scale)

    def restore_luma(self, hr_luma: np.ndarray) -> np.ndarray:
        """Published protocol on a uint8 HxW luma: ``uint8(255 * imresize(imresize(Y/255, 1/s), s))``."""
        y = np.asarray(hr_luma, dtype=np.float64) / 255.0
        return to_uint8(imresize(imresize(y, 1.0 / self.scale), self.scale) * 255.0)


class JpegRestorer:
    """The plain-JPEG baseline: returns the decoded JPEG unchanged (000_* Table 1, "JPEG")."""

    task = "jpeg"

    def __init__(self, quality: int):
        self.quality = check_quality(quality)

    def __call__(self, degraded: np.ndarray) -> np.ndarray:
        return np.asarray(degraded)


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crops the bottom and right so height and width are multiples of ``scale``."""
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale]


def degrade_sr(hr: np.ndarray, *, scale: int) -> np.ndarray:
    """The LR input of the protocol: ``imresize(hr, 1/scale)`` of an already modcropped uint8 HR
    (MATLAB's uint8 result, rounded after each pass)."""
    return imresize(_as_uint8(hr, "the SR protocol's downscaling"), 1.0 / scale)


def _as_uint8(image: np.ndarray, what: str) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise DataError(f"{what} takes uint8 images, got {image.dtype}; convert with to_uint8 first.")
    return image


def luma_uint8(image: np.ndarray) -> np.ndarray:
    """The channel SR figures are computed on: rounded MATLAB Y for RGB, the channel itself for grey."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise DataError(f"the SR protocol scores uint8 images, got {image.dtype}; convert with to_uint8 first.")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[-1] == 1:
        return image[..., 0]
    if image.ndim == 3 and image.shape[-1] == 3:
        return rgb_to_y_uint8(image)
    raise DataError(f"expected an HxW, HxWx1 or HxWx3 image, got shape {image.shape}; pass grey or RGB images.")


def _cropped_pair(hr_luma: np.ndarray, restored_luma: np.ndarray, *, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """The two uint8 luma images as float64 with a ``scale``-pixel border cropped (0: none)."""
    if hr_luma.shape != restored_luma.shape:
        what = f"upscale by exactly {scale}" if scale else "keep the image size"
        raise DataError(
            f"restored image is {restored_luma.shape[0]}x{restored_luma.shape[1]} but the clean image is "
            f"{hr_luma.shape[0]}x{hr_luma.shape[1]}; the restorer must {what}.")
    b = scale
    a = hr_luma[b:-b, b:-b].astype(np.float64) if b else hr_luma.astype(np.float64)
    r = restored_luma[b:-b, b:-b].astype(np.float64) if b else restored_luma.astype(np.float64)
    if min(a.shape) < 11:
        raise DataError(
            f"an image of {hr_luma.shape[0]}x{hr_luma.shape[1]} pixels is too small to score at scale {scale} "
            "(SSIM needs 11x11 pixels after cropping the border); use larger images.")
    return a, r


def score_luma(hr_luma: np.ndarray, restored_luma: np.ndarray, *, scale: int) -> tuple[float, float]:
    """(PSNR, SSIM) of two uint8 luma images with a ``scale``-pixel border cropped (0: none)."""
    a, r = _cropped_pair(hr_luma, restored_luma, scale=scale)
    return psnr(a, r), ssim(a, r)


def luma_scores(hr_luma: np.ndarray, restored_luma: np.ndarray, *, scale: int) -> dict[str, float]:
    """``{"psnr_y", "ssim_y", "l1_y"}`` of two uint8 luma images on the region :func:`score_luma` scores.

    ``l1_y`` is the mean of ``|restored - hr| / 255`` over the cropped pixels (001_* Table 2).
    """
    a, r = _cropped_pair(hr_luma, restored_luma, scale=scale)
    return {"psnr_y": psnr(a, r), "ssim_y": ssim(a, r), "l1_y": float(np.mean(np.abs(r - a)) / 255.0),
            RESTORED_LUMA: r}


def _sr_lumas(hr: np.ndarray, restored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lumas SR is scored on, after checking the restorer kept the channel count."""
    hr, restored = np.asarray(hr), np.asarray(restored)
    if hr.ndim == 3 and restored.ndim == 3 and hr.shape[-1] != restored.shape[-1]:
        raise DataError(
            f"restored image has {restored.shape[-1]} channel(s) but the HR image has {hr.shape[-1]}; "
            "the restorer must keep the channel count.")
    return luma_uint8(hr), luma_uint8(restored)


def score_sr(hr: np.ndarray, restored: np.ndarray, *, scale: int) -> tuple[float, float]:
    """(psnr_y, ssim_y) of a modcropped uint8 HR image and its uint8 restoration."""
    return score_luma(*_sr_lumas(hr, restored), scale=scale)


def degrade_jpeg(image: np.ndarray, *, quality: int) -> np.ndarray:
    """The JPEG task's input: uint8 HxWx1, the greyscale JPEG of the image's rounded luma."""
    return jpeg_compress(luma_uint8(np.asarray(image))[..., None], quality)


def _restore_and_score_jpeg(restorer: Restorer, image: np.ndarray, *, quality: int) -> dict[str, float]:
    image = np.asarray(image)
    clean = luma_uint8(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image)
    restored = np.asarray(restorer(jpeg_compress(clean[..., None], quality)))
    if restored.dtype != np.uint8:
        raise DataError(f"the restorer returned {restored.dtype} pixels; it must return uint8 images.")
    if restored.ndim == 3 and restored.shape[-1] == 1:
        restored = restored[..., 0]
    if restored.ndim != 2:
        raise DataError(f"the JPEG task restores the luma channel, but the restorer returned shape "
                        f"{restored.shape}; it must return HxW or HxWx1.")
    return luma_scores(clean, restored, scale=0)


def _restore_and_score(restorer: Restorer, hr: np.ndarray, *, scale: int) -> dict[str, float]:
    hr = modcrop(np.asarray(hr), scale)
    if hr.ndim == 2:
        hr = hr[..., None]
    if getattr(restorer, "luma_reference", False):
        hr_luma = luma_uint8(hr)
        return luma_scores(hr_luma, restorer.restore_luma(hr_luma), scale=scale)
    restored = np.asarray(restorer(degrade_sr(hr, scale=scale)))
    if restored.dtype != np.uint8:
        raise DataError(f"the restorer returned {restored.dtype} pixels; it must return uint8 images.")
    return luma_scores(*_sr_lumas(hr, restored), scale=scale)


def _scorer(restorer: Restorer, *, task: str, scale: int | None, quality: int | None):
    """Checks that ``restorer`` does ``task`` with these options; returns ``hr -> {"psnr_y", "ssim_y", "l1_y"}``
    (the protocol is the task object's, :mod:`jaxrestore.tasks`)."""
    from jaxrestore.tasks import TASKS, evaluation_task

    protocol = evaluation_task(task)
    own_task = getattr(restorer, "task", task)
    if own_task != task:
        own_label = TASKS[own_task].label if own_task in TASKS else own_task
        raise ConfigError(f"this restorer does {own_label} (task {own_task!r}), not "
                          f"{protocol.label}; evaluate it with --task={own_task}.")
    return protocol.scorer(restorer, {"scale": scale, "quality": quality}[protocol.option])


# The scorers hand the restored luma (float64, border cropped as scored) to the no-reference
# metrics under this key; it never reaches the results.
RESTORED_LUMA = "_restored_luma"


def _evaluate_stream(score, items: Iterable[tuple[str, np.ndarray]], *, total: int,
                     label: str | None, describe=None, no_reference: Mapping | None = None) -> dict:
    """Scores each ``(name, image)``; a DataError names the image (``describe(name)``, e.g. its path).
    ``no_reference`` maps a metric name to ``fn(restored luma, scores so far)`` (e.g. NIQE; PI from
    the NIQE and Ma scores computed before it), called in the mapping's order."""
    per_image = {}
    for index, (name, hr) in enumerate(items, start=1):
        try:
            record = per_image[name] = score(hr)
            restored = record.pop(RESTORED_LUMA, None)
            for metric, fn in (no_reference or {}).items():
                record[metric] = float(fn(restored, record))
        except DataError as err:
            where = describe(name) if describe else f"image {name!r}"
            raise DataError(f"{where}: {err}") from None
        if label is not None:
            print(f"{label}: {index}/{total} {name} psnr_y={record['psnr_y']:.4f} ssim_y={record['ssim_y']:.4f} "
                  f"l1_y={record['l1_y']:.5f}", file=sys.stderr, flush=True)
    if not per_image:
        raise DataError("there are no images to evaluate; pass at least one image.")
    psnrs = np.array([v["psnr_y"] for v in per_image.values()], np.float64)
    with np.errstate(invalid="ignore"):  # an identical image has infinite PSNR: the spread is then NaN
        psnr_std = float(np.std(psnrs, ddof=0))
    return {
        "psnr_y": float(np.mean(psnrs)),
        "psnr_y_std": psnr_std,
        "ssim_y": float(np.mean([v["ssim_y"] for v in per_image.values()])),
        "l1_y": float(np.mean([v["l1_y"] for v in per_image.values()])),
        **{metric: float(np.mean([v[metric] for v in per_image.values()])) for metric in (no_reference or {})},
        "images": len(per_image),
        "per_image": per_image,
    }


def evaluate_images(restorer: Restorer, images: Mapping[str, np.ndarray], *, task: str = "sr",
                    scale: int | None = None, quality: int | None = None) -> dict:
    """Scores ``restorer`` on named uint8 clean images (HxW, HxWx1 or HxWx3, uncropped).

    ``task`` picks the protocol (module docstring); ``scale`` (SR) or ``quality``
    (JPEG) default to the restorer's own and must agree with it.
    Returns ``{"psnr_y", "psnr_y_std", "ssim_y", "l1_y", "images", "per_image": {name: {"psnr_y",
    "ssim_y", "l1_y"}}}``: means over the images, and the population standard deviation
    (ddof=0) of the per-image PSNR-Y.
    """
    score = _scorer(restorer, task=task, scale=scale, quality=quality)
    return _evaluate_stream(score, images.items(), total=len(images), label=None)


def evaluate_folders(
    restorer: Restorer,
    folders: Sequence[str | Path],
    *,
    task: str = "sr",
    scale: int | None = None,
    quality: int | None = None,
    progress: bool = True,
    no_reference: Mapping | None = None,
) -> dict[str, dict]:
    """:func:`evaluate_images` on every image folder, keyed by folder name; images are read one at a time.
    ``no_reference``: ``{name: fn(restored luma, scores so far) -> float}`` metrics added per image and
    per folder."""
    score = _scorer(restorer, task=task, scale=scale, quality=quality)
    folders = [Path(f) for f in folders]
    if not folders:
        raise ConfigError("no image folders were given; pass at least one folder of clean images.")
    names = [f.resolve().name or str(f) for f in folders]
    for name in set(names):
        if names.count(name) > 1:
            raise ConfigError(f"two folders are both named {name!r}; results are keyed by folder name, so rename one.")
    files = {name: list_images(folder) for name, folder in zip(names, folders)}  # fail early on a bad folder
    results = {}
    for name, paths in files.items():
        items = ((p.stem, read_image(p, mode="native")) for p in paths)
        where = {p.stem: f"image {str(p)!r}" for p in paths}
        results[name] = _evaluate_stream(score, items, total=len(paths), label=name if progress else None,
                                         describe=where.get, no_reference=no_reference)
    return results


def _check_scale(scale) -> int:
    if scale is None or isinstance(scale, bool) or int(scale) != scale or int(scale) < 1:
        raise ConfigError(f"scale must be a positive integer, got {scale!r}; use 2, 3 or 4.")
    return int(scale)
