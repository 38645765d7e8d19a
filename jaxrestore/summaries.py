"""Image grids for TensorBoard and PNG: one row per image.

SR rows are LR (nearest) | bicubic | output | HR; JPEG rows are JPEG | output |
clean, on the luma channel the task works on (shown grey).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from jaxrestore.evaluation import degrade_jpeg, degrade_sr, luma_uint8


def _crop(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return image[top:top + size, left:left + size]


def _rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2 or image.shape[-1] == 1:
        return np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=-1)
    return image


def _panels(hr: np.ndarray, restorer, baseline, *, task: str, scale: int, quality, size: int):
    if task == "jpeg":
        side = min(size, hr.shape[0], hr.shape[1]) // 2 * 2
        clean = _crop(luma_uint8(_rgb(hr)), side)
        jpeg = degrade_jpeg(clean, quality=quality)
        return [_rgb(jpeg), _rgb(restorer(jpeg)), _rgb(clean)]
    hr = _rgb(hr)
    side = min(size, hr.shape[0], hr.shape[1]) // scale * scale
    hr = _crop(hr, side)
    lr = degrade_sr(hr, scale=scale)
    nearest = np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)
    return [nearest, baseline(lr), restorer(lr), hr]


def comparison_grid(images: Mapping[str, np.ndarray], restorer, baseline, *, count: int,
                    task: str = "sr", scale: int = 1, quality: int | None = None,
                    size: int = 128) -> np.ndarray:
    """uint8 grid of ``count`` rows (module docstring), centre crops of ``size`` clean pixels
    (rounded down to the scale, or to even for JPEG), 2-pixel white gutters."""
    rows = []
    for name in list(images)[:count]:
        panels = _panels(images[name], restorer, baseline, task=task, scale=scale, quality=quality,
                         size=size)
        side = panels[0].shape[0]
        gutter = np.full((side, 2, 3), 255, np.uint8)
        row = np.concatenate([p for panel in panels for p in (panel, gutter)][:-1], axis=1)
        rows.append(row)
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(rows, axis=0)[:-2]
