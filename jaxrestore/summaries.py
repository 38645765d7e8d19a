"""Image grids for TensorBoard and PNG: one row per image, whose panels the task draws
(:meth:`jaxrestore.tasks.Task.grid_panels`): SR rows are LR (nearest) | bicubic | output | HR;
JPEG rows are JPEG | output | clean, on the luma channel the task works on (shown grey).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return image[top:top + size, left:left + size]


def rgb(image: np.ndarray) -> np.ndarray:
    """Grey (HxW or HxWx1) as three equal channels; RGB unchanged."""
    image = np.asarray(image)
    if image.ndim == 2 or image.shape[-1] == 1:
        return np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=-1)
    return image


def comparison_grid(images: Mapping[str, np.ndarray], restorer, baseline, *, count: int,
                    task: str = "sr", scale: int = 1, quality: int | None = None,
                    size: int = 128) -> np.ndarray:
    """uint8 grid of ``count`` rows (module docstring), centre crops of ``size`` clean pixels
    (rounded down to the scale, or to even for JPEG), 2-pixel white gutters."""
    from jaxrestore.tasks import evaluation_task

    protocol = evaluation_task(task)
    value = {"scale": scale, "quality": quality}[protocol.option]
    rows = []
    for name in list(images)[:count]:
        panels = protocol.grid_panels(images[name], restorer, baseline, value, size)
        side = panels[0].shape[0]
        gutter = np.full((side, 2, 3), 255, np.uint8)
        row = np.concatenate([p for panel in panels for p in (panel, gutter)][:-1], axis=1)
        rows.append(row)
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(rows, axis=0)[:-2]


def read_scalars(workdir, *, start: bool = False):
    """Every scalar a run logged to TensorBoard: ``{tag: [(step, wall time, value), ...]}`` in
    step order (e.g. ``train/accept_rate``, ``eval/psnr_y``), read from its event files.
    ``start=True`` also returns the wall time of the first event (the writer's creation, before
    the first step): ``(scalars, start time)``."""
    from pathlib import Path

    import tensorflow as tf
    from tensorboard.compat.proto import event_pb2

    from jaxrestore.errors import ConfigError

    files = sorted(Path(workdir).glob("events.out.tfevents.*"))
    if not files:
        raise ConfigError(f"{str(workdir)!r} holds no TensorBoard event files; pass the --workdir of a training run.")
    out: dict[str, list[tuple[int, float, float]]] = {}
    first = float("inf")
    for path in files:
        for record in tf.data.TFRecordDataset(str(path)):
            event = event_pb2.Event.FromString(record.numpy())
            first = min(first, float(event.wall_time))
            for value in event.summary.value:
                if value.HasField("tensor"):
                    array = tf.make_ndarray(value.tensor)
                    if array.ndim == 0 and array.dtype.kind in "fiu":
                        out.setdefault(value.tag, []).append((int(event.step), float(event.wall_time), float(array)))
                elif value.HasField("simple_value"):
                    out.setdefault(value.tag, []).append((int(event.step), float(event.wall_time),
                                                          float(value.simple_value)))
    scalars = {tag: sorted(points) for tag, points in out.items()}
    return (scalars, first) if start else scalars
