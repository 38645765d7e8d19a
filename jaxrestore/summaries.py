"""Image grids for TensorBoard and PNG: one row per image, LR | bicubic | output | HR."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from jaxrestore.imaging.resize import imresize, to_uint8


def _crop(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return image[top:top + size, left:left + size]


def comparison_grid(images: Mapping[str, np.ndarray], restorer, bicubic, *, scale: int,
                    count: int, size: int = 128) -> np.ndarray:
    """uint8 grid of ``count`` rows [LR (nearest) | bicubic | output | HR], centre crops of
    ``size`` HR pixels (rounded down to the scale), 2-pixel white gutters."""
    rows = []
    for name in list(images)[:count]:
        hr = images[name]
        if hr.ndim == 2 or hr.shape[-1] == 1:
            hr = np.repeat(hr.reshape(hr.shape[0], hr.shape[1], 1), 3, axis=-1)
        side = min(size, hr.shape[0], hr.shape[1]) // scale * scale
        hr = _crop(hr, side)
        lr = to_uint8(imresize(hr, 1.0 / scale))
        nearest = np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)
        panels = [nearest, bicubic(lr), restorer(lr), hr]
        gutter = np.full((side, 2, 3), 255, np.uint8)
        row = np.concatenate([p for panel in panels for p in (panel, gutter)][:-1], axis=1)
        rows.append(row)
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(rows, axis=0)[:-2]
