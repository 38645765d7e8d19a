"""Training metrics kept on the devices between log points, so the loop never waits on the host.

Each jitted step adds its metrics to running sums that live beside the training state
(:class:`StepMetrics`), together with a finiteness record: the first step whose losses
or new state held a NaN or an infinity, and that step's losses. The loop fetches the
record before every checkpoint and evaluation (:meth:`StepMetrics.first_bad_step`; the
loop raises :class:`~jaxrestore.errors.TrainingDiverged` naming that step) and the means every
``train.log_every`` steps (:meth:`StepMetrics.pop`); in between nothing is copied to the
host, so the host can read and place the next batch while the devices compute.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


def _all_finite(tree) -> jax.Array:
    leaves = [jnp.asarray(x) for x in jax.tree.leaves(tree)]
    leaves = [jnp.all(jnp.isfinite(x)) for x in leaves if jnp.issubdtype(x.dtype, jnp.floating)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def empty_record(names) -> dict:
    """Zero sums and counts for the metric ``names``; ``first_bad`` 0 means every step was finite."""
    names = sorted(names)  # every leaf its own buffer: the step donates the record
    return {"sums": {k: jnp.zeros((), jnp.float32) for k in names},
            "counts": {k: jnp.zeros((), jnp.int32) for k in names},
            "first_bad": jnp.zeros((), jnp.int32), "bad": {k: jnp.zeros((), jnp.float32) for k in names}}


def accumulating(step_fn: Callable) -> Callable:
    """``step_fn(frozen, state, batch, key) -> (state, metrics)`` as
    ``(frozen, state, record, batch, key, step) -> (state, record)``: the metrics are added to
    ``record`` (made by :func:`empty_record` for a superset of their names) and a step whose
    metrics or new state are not all finite is recorded there if it is the first."""

    def step(frozen, state, record, batch, key, step_number):
        state, metrics = step_fn(frozen, state, batch, key)
        metrics = {k: jnp.asarray(v, jnp.float32) for k, v in metrics.items()}
        finite = _all_finite((state, metrics))
        sums, counts = dict(record["sums"]), dict(record["counts"])
        for k, v in metrics.items():
            sums[k] = sums[k] + v
            counts[k] = counts[k] + 1
        newly_bad = jnp.logical_and(jnp.logical_not(finite), record["first_bad"] == 0)
        first_bad = jnp.where(newly_bad, jnp.asarray(step_number, jnp.int32), record["first_bad"])
        bad = {k: jnp.where(newly_bad, metrics[k], v) if k in metrics else v for k, v in record["bad"].items()}
        return state, {"sums": sums, "counts": counts, "first_bad": first_bad, "bad": bad}

    return step


class StepMetrics:
    """The device-side record of a run's steps and the host's view of it.

    ``names`` are all metric names the run's step functions return (a pre-training step and
    a GAN step may return different ones); ``place`` puts a fresh record on the devices
    (replicated over the data mesh).
    """

    def __init__(self, names, place: Callable = lambda x: x):
        self.names, self.place = sorted(names), place
        self.record = place(empty_record(self.names))

    def first_bad_step(self) -> tuple[int, dict]:
        """The first non-finite step since the run (re)started (0 if none) and its losses."""
        first_bad, bad = jax.device_get((self.record["first_bad"], self.record["bad"]))
        return int(first_bad), {k: float(v) for k, v in bad.items()}

    def pop(self) -> dict:
        """Means of the metrics over the steps since the last pop (``train/accept`` becomes
        ``train/accept_rate``, cARGAN's and cSRGAN's acceptance rate); sums restart at zero,
        the finiteness record is kept."""
        sums, counts = jax.device_get((self.record["sums"], self.record["counts"]))
        means = {k: float(sums[k]) / int(counts[k]) for k in self.names if int(counts[k]) > 0}
        if "train/accept" in means:
            means["train/accept_rate"] = means.pop("train/accept")
        zero = empty_record(self.names)
        self.record = self.place({**zero, "first_bad": self.record["first_bad"], "bad": self.record["bad"]})
        return means


def metric_names(step_fns, *args) -> set[str]:
    """The metric names ``step_fn(*args)`` returns, for each step function, without running it."""
    names: set[str] = set()
    for fn in step_fns:
        names |= set(jax.eval_shape(fn, *args)[1])
    return names
