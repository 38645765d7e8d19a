"""Scoring a restorer on named images or on folders of them, under its task's protocol
(:mod:`jaxrestore.evaluation.protocols`): per image and as the folder's means."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from jaxrestore.errors import ConfigError, DataError
from jaxrestore.evaluation.base import RESTORED_LUMA, Restorer
from jaxrestore.evaluation.protocols import label as task_label, protocol
from jaxrestore.imaging.io import list_images, read_image


def _scorer(restorer: Restorer, *, task: str, scale: int | None, quality: int | None):
    """Checks that ``restorer`` does ``task`` with these options; returns ``hr -> {"psnr_y", "ssim_y", "l1_y"}``."""
    chosen = protocol(task)
    own_task = getattr(restorer, "task", task)
    if own_task != task:
        raise ConfigError(f"this restorer does {task_label(own_task)} (task {own_task!r}), not "
                          f"{chosen.label}; evaluate it with --task={own_task}.")
    return chosen.scorer(restorer, {"scale": scale, "quality": quality}[chosen.option])


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

    ``task`` picks the protocol; ``scale`` (SR) or ``quality`` (JPEG) default to the
    restorer's own and must agree with it. Returns ``{"psnr_y", "psnr_y_std", "ssim_y",
    "l1_y", "images", "per_image": {name: {"psnr_y", "ssim_y", "l1_y"}}}``: means over the
    images, and the population standard deviation (ddof=0) of the per-image PSNR-Y.
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
