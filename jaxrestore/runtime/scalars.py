"""Reading back the scalars a run logged to TensorBoard (its ``events.out.tfevents.*`` files),
for plots and notebooks."""

from __future__ import annotations

from pathlib import Path

from jaxrestore.errors import ConfigError


def read_scalars(workdir, *, start: bool = False):
    """Every scalar a run logged to TensorBoard: ``{tag: [(step, wall time, value), ...]}`` in
    step order (e.g. ``train/accept_rate``, ``eval/psnr_y``), read from its event files.
    ``start=True`` also returns the wall time of the first event (the writer's creation, before
    the first step): ``(scalars, start time)``."""
    # local: TensorFlow (the event-file reader) takes seconds to import; only this function needs it
    import tensorflow as tf
    from tensorboard.compat.proto import event_pb2

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
