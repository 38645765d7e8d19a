"""Running a per-image solver over a test set in chunks: one compiled program for every chunk
(the last one padded with copies of its last image, so nothing recompiles), progress with
elapsed time and ETA after each chunk, compile and solve times measured apart. A solver that
compiles its own programs (DIP's Python loop of jitted steps) runs unjitted and unpadded."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from jaxrestore.runtime.progress import duration


def _pad(array, pad: int):
    return array if not pad else jnp.concatenate([array, jnp.repeat(array[-1:], pad, axis=0)])


def run_in_chunks(fn: Callable, fixed: Sequence, batched: Sequence, *, chunk: int, what: str,
                  report: Callable[[str], None] = logging.info, jit: bool = True):
    """``fn(*fixed, *batched_chunk)`` over the leading axis of every ``batched`` array,
    ``chunk`` at a time. Returns ``(outputs, compile_s, solve_s)``, ``outputs`` the pytree
    ``fn`` returns with NumPy leaves concatenated over all N items. ``jit=False`` calls ``fn``
    as it is on unpadded chunks (``compile_s`` is then 0)."""
    n = int(batched[0].shape[0])
    chunk = max(1, min(int(chunk), n))
    compile_s = 0.0
    if jit:
        t0 = time.perf_counter()
        fn = jax.jit(fn).lower(*fixed, *(b[:chunk] for b in batched)).compile()
        compile_s = time.perf_counter() - t0
        report(f"compiled {what} ({chunk} images per call) in {compile_s:.1f} s")
    parts = []
    t0 = time.perf_counter()
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        pad = chunk - (stop - start) if jit else 0
        out = fn(*fixed, *(_pad(b[start:stop], pad) for b in batched))
        parts.append(jax.tree.map(lambda a: np.asarray(a)[:stop - start], out))
        elapsed = time.perf_counter() - t0
        per_image = elapsed / stop
        report(f"{what}: {stop}/{n} images ({100 * stop / n:.0f} %), {per_image:.2f} s/image, "
               f"elapsed {duration(elapsed)}, ETA {duration(per_image * (n - stop))}")
    solve_s = time.perf_counter() - t0
    return jax.tree.map(lambda *a: np.concatenate(a), *parts), compile_s, solve_s
