"""Running a per-image solver over a test set in chunks: one compiled program for every chunk
(the last one padded with copies of its last image, so nothing recompiles), compile and solve
times measured apart, and each finished chunk saved for a resumed run (:mod:`.runs`). A solver
that compiles its own programs (DIP's Python loop of jitted steps) runs unjitted and unpadded.

A latent solver (MAP, CSGM, IAGAN) comes as a
:class:`~jaxrestore.inverse.solvers.skeleton.Segmented`: its iterations run in segments of at
most :data:`SEGMENT_ITERATIONS` (compiled programs, the solver's state kept between them), which
gives the same results as one scan (tested) and lets a run report, stop and resume between
segments rather than only between chunks.

What the user sees: one line when a compile starts and one when it ends; a progress line with
images and iterations done, elapsed time and an ETA that leaves compile time out, after a
segment at most every :data:`PROGRESS_SECONDS` and after every chunk. The host waits for a
compile or a segment in short sleeps, so a Ctrl-C or SIGTERM is acknowledged at once; with a
:class:`.runs.ChunkStore` the run then stops at the next boundary (a segment, or a chunk for a
solver in one program), saving the solver's state when it stops inside a chunk.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from jaxrestore.inverse.solvers.skeleton import Segmented, compile_image_step, host_steps, segment_lengths
from jaxrestore.runtime.preemption import run_in_background
from jaxrestore.runtime.progress import duration

SEGMENT_ITERATIONS = 25  # iterations per compiled segment of a latent solver
PROGRESS_SECONDS = 10.0  # at most one progress line per this many seconds within a chunk
POLL_SECONDS = 0.05  # the host's sleep while a compile or a segment runs


def _pad(array, pad: int):
    return array if not pad else jnp.concatenate([array, jnp.repeat(array[-1:], pad, axis=0)])


def _wait(tree) -> None:
    """Waits for the arrays of ``tree`` in short sleeps (signal handlers run meanwhile)."""
    leaves = [leaf for leaf in jax.tree.leaves(tree) if hasattr(leaf, "is_ready")]
    while not all(leaf.is_ready() for leaf in leaves):
        time.sleep(POLL_SECONDS)


def _compile(build: Callable, what: str, report: Callable[[str], None], store) -> tuple[object, float]:
    """``build()`` (which compiles) in the background while the host polls for a stop; returns
    its result and the seconds it took."""
    report(f"compiling {what} ...")
    t0 = time.perf_counter()
    poll = (lambda: store.raise_if_stopped(f"while compiling {what}")) if store is not None else (lambda: None)
    value = run_in_background(build, poll, interval=POLL_SECONDS)
    seconds = time.perf_counter() - t0
    report(f"compiled {what} in {seconds:.1f} s")
    return value, seconds


class _Segments:
    """The compiled parts of a :class:`Segmented` solver for one chunk size: ``steps[length](*args,
    carry) -> carry`` is one compiled program, or with an ``image_step`` (batching ``loop``) the
    host's loop over images and steps of one compiled step (:func:`host_steps`)."""

    def __init__(self, solver: Segmented, args: tuple):
        self.lengths = segment_lengths(solver.iterations, SEGMENT_ITERATIONS)
        self.start = jax.jit(solver.start).lower(*args).compile()
        carry = jax.eval_shape(solver.start, *args)
        self.treedef = jax.tree.structure(carry)
        if solver.image_step is not None:
            step = compile_image_step(solver, args, carry)
            self.steps = {length: functools.partial(_host_segment, step, solver.in_axes, length)
                          for length in sorted(set(self.lengths))}
        else:
            self.steps = {length: jax.jit(functools.partial(solver.steps, length=length)).lower(*args, carry).compile()
                          for length in sorted(set(self.lengths))}
        self.end = jax.jit(solver.end).lower(*args, carry).compile()


def _host_segment(step, in_axes: tuple, length: int, *args):
    """One segment of batching ``loop``: ``(*chunk args, carry) -> carry``."""
    *args, carry = args
    return host_steps(step, tuple(args), in_axes, carry, length)[0]


class _Clock:
    """Solve time (compiles excluded), the work done since this run started and the ETA."""

    def __init__(self, total: int, report: Callable[[str], None], what: str):
        self.total, self.report, self.what = total, report, what
        self.done = self.new = 0
        self.seconds, self.last_line = 0.0, time.perf_counter()

    def add(self, units: int, seconds: float) -> None:
        self.done, self.new, self.seconds = self.done + units, self.new + units, self.seconds + seconds

    def skip(self, units: int) -> None:
        """Work an earlier run did: done, but not in this run's rate."""
        self.done += units

    def line(self, text: str, *, force: bool) -> None:
        if not force and time.perf_counter() - self.last_line < PROGRESS_SECONDS:
            return
        self.last_line = time.perf_counter()
        eta = self.seconds / self.new * (self.total - self.done) if self.new else None
        self.report(f"{self.what}: {text}, elapsed {duration(self.seconds)}, "
                    f"ETA {duration(eta) if eta is not None else 'after the first segment'}")


def run_in_chunks(fn: Callable | Segmented, fixed: Sequence, batched: Sequence, *, chunk: int, what: str,
                  report: Callable[[str], None] = logging.info, jit: bool = True, store=None):
    """``fn(*fixed, *batched_chunk)`` over the leading axis of every ``batched`` array,
    ``chunk`` at a time; ``fn`` returns a tuple of arrays (or one array) with one row per item,
    or is a :class:`Segmented` solver of those arguments (solved in segments).
    Returns ``(outputs, compile_s, solve_s)``: the tuple with NumPy arrays concatenated over all N
    items, the compile time and the solve time. ``jit=False`` calls ``fn`` as it is on unpadded
    chunks (``compile_s`` is then 0). With a ``store`` (:class:`.runs.ChunkStore`), each finished
    chunk is saved at once and a chunk saved by an earlier run is read back instead of solved (its
    recorded solve time counts in ``solve_s``); a stop asked of the run (Ctrl-C, SIGTERM) raises
    :class:`~jaxrestore.runtime.preemption.RunInterrupted` at the next boundary."""
    n = int(batched[0].shape[0])
    chunk = max(1, min(int(chunk), n))
    starts = list(range(0, n, chunk))
    saved = {k: store.load(k) for k in range(len(starts))} if store is not None else {}
    missing = [k for k in range(len(starts)) if saved.get(k) is None]
    earlier = n - sum(min(chunk, n - starts[k]) for k in missing)
    if earlier:
        report(f"{what}: {earlier}/{n} images finished by an earlier run")
    segmented = isinstance(fn, Segmented)
    compile_s, program = 0.0, fn
    if (jit or segmented) and missing:
        args = (*fixed, *(b[:chunk] for b in batched))
        build = (lambda: _Segments(fn, args)) if segmented else (lambda: jax.jit(fn).lower(*args).compile())
        program, compile_s = _compile(build, f"{what} ({chunk} images per call)", report, store)
    per_chunk = fn.iterations if segmented else 1
    clock = _Clock(len(missing) * per_chunk, report, what)
    parts, solve_s, done = [], 0.0, earlier
    for k, start in enumerate(starts):
        stop = min(start + chunk, n)
        if saved.get(k) is not None:
            outputs, seconds = saved[k]
            parts.append(outputs)
            solve_s += seconds
            continue
        if store is not None:
            store.raise_if_stopped(f"before chunk {k + 1}/{len(starts)} of {what} ({done}/{n} images finished)")
        pad = chunk - (stop - start) if (jit or segmented) else 0
        args = (*fixed, *(_pad(b[start:stop], pad) for b in batched))
        if segmented:
            outputs, seconds = _solve_segmented(program, args, k, len(starts), store, clock, done, n)
        else:
            t_chunk = time.perf_counter()
            out = program(*args)
            _wait(out)
            outputs = tuple(np.asarray(a) for a in (out if isinstance(out, tuple) else (out,)))
            seconds = time.perf_counter() - t_chunk
            clock.add(1, seconds)
        outputs = tuple(a[:stop - start] for a in outputs)
        if store is not None:
            store.save(k, outputs, seconds)
        parts.append(outputs)
        solve_s += seconds
        done += stop - start
        clock.line(f"{done}/{n} images ({100 * done / n:.0f} %), {solve_s / max(done, 1):.2f} s/image", force=True)
    return tuple(np.concatenate(a) for a in zip(*parts)), compile_s, solve_s


def _solve_segmented(program: _Segments, args: tuple, k: int, chunks: int, store, clock: _Clock, done: int,
                     n: int) -> tuple[tuple, float]:
    """One chunk in segments, from the state a stopped run saved when there is one; returns its
    outputs and solve seconds (over every run that worked on it)."""
    lengths = program.lengths
    total = sum(lengths)
    partial = store.load_partial(k, lengths) if store is not None else None
    if partial is not None:
        position, leaves, seconds = partial
        carry = jax.tree.unflatten(program.treedef, [jnp.asarray(leaf) for leaf in leaves])
        clock.skip(sum(lengths[:position]))
        clock.report(f"{clock.what}: chunk {k + 1}/{chunks} continues at iteration {sum(lengths[:position])}/{total}, "
                     "where an earlier run stopped")
    else:
        position, seconds = 0, 0.0
        t0 = time.perf_counter()
        carry = program.start(*args)
        _wait(carry)
        seconds += time.perf_counter() - t0
    for i in range(position, len(lengths)):
        t0 = time.perf_counter()
        carry = program.steps[lengths[i]](*args, carry)
        _wait(carry)
        elapsed = time.perf_counter() - t0
        seconds += elapsed
        clock.add(lengths[i], elapsed)
        iteration = sum(lengths[:i + 1])
        clock.line(f"chunk {k + 1}/{chunks} at iteration {iteration}/{total}, {done}/{n} images finished",
                   force=False)
        if store is not None and store.stop_reason() and i + 1 < len(lengths):
            store.save_partial(k, lengths, i + 1, jax.tree.leaves(carry), seconds)
            store.raise_if_stopped(f"at iteration {iteration}/{total} of chunk {k + 1}/{chunks} ({done}/{n} images "
                                   "finished)")
    t0 = time.perf_counter()
    out = program.end(*args, carry)
    outputs = tuple(np.asarray(a) for a in out)
    return outputs, seconds + time.perf_counter() - t0
