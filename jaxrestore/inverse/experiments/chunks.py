"""Running a per-image solver over a test set in chunks: one compiled program for every chunk
(the last one padded with copies of its last image, so nothing recompiles), progress with
elapsed time and ETA after each chunk, compile and solve times measured apart, and each
finished chunk saved for a resumed run (:mod:`.runs`). A solver that compiles its own programs
(DIP's Python loop of jitted steps) runs unjitted and unpadded."""

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
                  report: Callable[[str], None] = logging.info, jit: bool = True, store=None):
    """``fn(*fixed, *batched_chunk)`` over the leading axis of every ``batched`` array,
    ``chunk`` at a time; ``fn`` returns a tuple of arrays (or one array) with one row per item.
    Returns ``(outputs, compile_s, solve_s)``: the tuple with NumPy arrays concatenated over all N
    items, the compile time and the solve time. ``jit=False`` calls ``fn`` as it is on unpadded
    chunks (``compile_s`` is then 0). With a ``store`` (:class:`.runs.ChunkStore`), each finished
    chunk is saved at once and a chunk saved by an earlier run is read back instead of solved (its
    recorded solve time counts in ``solve_s``)."""
    n = int(batched[0].shape[0])
    chunk = max(1, min(int(chunk), n))
    starts = list(range(0, n, chunk))
    saved = {k: store.load(k) for k in range(len(starts))} if store is not None else {}
    missing = [k for k in range(len(starts)) if saved.get(k) is None]
    earlier = n - sum(min(chunk, n - starts[k]) for k in missing)
    if earlier:
        report(f"{what}: {earlier}/{n} images finished by an earlier run")
    compile_s = 0.0
    if jit and missing:
        t0 = time.perf_counter()
        fn = jax.jit(fn).lower(*fixed, *(b[:chunk] for b in batched)).compile()
        compile_s = time.perf_counter() - t0
        report(f"compiled {what} ({chunk} images per call) in {compile_s:.1f} s")
    parts, solve_s, done, new = [], 0.0, earlier, 0
    t0 = time.perf_counter()
    for k, start in enumerate(starts):
        stop = min(start + chunk, n)
        if saved.get(k) is not None:
            outputs, seconds = saved[k]
            parts.append(outputs)
            solve_s += seconds
            continue
        t_chunk = time.perf_counter()
        pad = chunk - (stop - start) if jit else 0
        out = fn(*fixed, *(_pad(b[start:stop], pad) for b in batched))
        outputs = tuple(np.asarray(a)[:stop - start] for a in (out if isinstance(out, tuple) else (out,)))
        seconds = time.perf_counter() - t_chunk
        if store is not None:
            store.save(k, outputs, seconds)
        parts.append(outputs)
        solve_s += seconds
        done, new = done + stop - start, new + stop - start
        elapsed = time.perf_counter() - t0
        per_image = elapsed / new
        report(f"{what}: {done}/{n} images ({100 * done / n:.0f} %), {per_image:.2f} s/image, "
               f"elapsed {duration(elapsed)}, ETA {duration(per_image * (n - done))}")
    return tuple(np.concatenate(a) for a in zip(*parts)), compile_s, solve_s
