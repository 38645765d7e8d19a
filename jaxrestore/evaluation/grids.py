"""Image grids for TensorBoard and PNG: one row per image, whose panels the task's protocol
draws (:meth:`jaxrestore.evaluation.base.Protocol.grid_panels`): SR rows are LR (nearest) |
bicubic | output | HR; JPEG rows are JPEG | output | clean, on the luma channel the task works
on (shown grey)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from jaxrestore.evaluation.protocols import protocol


def comparison_grid(images: Mapping[str, np.ndarray], restorer, baseline, *, count: int,
                    task: str = "sr", scale: int = 1, quality: int | None = None,
                    size: int = 128) -> np.ndarray:
    """uint8 grid of ``count`` rows (module docstring), centre crops of ``size`` clean pixels
    (rounded down to the scale, or to even for JPEG), 2-pixel white gutters."""
    chosen = protocol(task)
    value = {"scale": scale, "quality": quality}[chosen.option]
    rows = []
    for name in list(images)[:count]:
        panels = chosen.grid_panels(images[name], restorer, baseline, value, size)
        side = panels[0].shape[0]
        gutter = np.full((side, 2, 3), 255, np.uint8)
        row = np.concatenate([p for panel in panels for p in (panel, gutter)][:-1], axis=1)
        rows.append(row)
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(rows, axis=0)[:-2]
