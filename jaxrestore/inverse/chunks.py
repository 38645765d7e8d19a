"""Running a per-image solver over a test set in chunks: one compiled program for every
chunk (the last one padded with copies of its last image, so nothing recompiles), progress
with elapsed time and ETA after each chunk, compile and solve times measured apart."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _pad(array, pad: int):
    return array if not pad else jnp.concatenate([array, jnp.repeat(array[-1:], pad, axis=0)])


def run_in_chunks(fn: Callable, fixed: Sequence, batched: Sequence, *, chunk: int, what: str,
                  report: Callable[[str], None] = logging.info):
    """``fn(*fixed, *batched_chunk)`` over the leading axis of every ``batched`` array,
    ``chunk`` at a time. Returns ``(outputs, compile_s, solve_s)``, ``outputs`` the pytree
    ``fn`` returns with NumPy leaves concatenated over all N items."""
    n = int(batched[0].shape[0])
    chunk = max(1, min(int(chunk), n))
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*fixed, *(b[:chunk] for b in batched)).compile()
    compile_s = time.perf_counter() - t0
    report(f"compiled {what} ({chunk} images per call) in {compile_s:.1f} s")
    parts = []
    t0 = time.perf_counter()
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        out = compiled(*fixed, *(_pad(b[start:stop], chunk - (stop - start)) for b in batched))
        parts.append(jax.tree.map(lambda a: np.asarray(a)[:stop - start], out))
        elapsed = time.perf_counter() - t0
        per_image = elapsed / stop
        report(f"{what}: {stop}/{n} images ({100 * stop / n:.0f} %), {per_image:.2f} s/image, "
               f"elapsed {duration(elapsed)}, ETA {duration(per_image * (n - stop))}")
    solve_s = time.perf_counter() - t0
    return jax.tree.map(lambda *a: np.concatenate(a), *parts), compile_s, solve_s
