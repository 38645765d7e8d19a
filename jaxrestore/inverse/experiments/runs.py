"""An experiment's workdir is a run, as a training run's is: it holds one experiment only, its
``config.json``, the work finished so far and, once every image is restored, its results.

:func:`open_run` checks the ``--workdir`` before anything is written (nothing at all is written
for a refused command):

- a workdir that holds a training run, a prior, or another kind of experiment is refused, naming
  what is there and suggesting a new ``--workdir``;
- one that holds this experiment with another config is refused, naming the fields that differ
  (``recompute`` and ``figure_images`` may change: they do not shape the numbers);
- one that holds this experiment finished (its ``results.json``) is not recomputed: the command
  prints its results and exits 0, unless ``recompute=True``;
- otherwise the run starts, or resumes: every chunk of images a solver finishes is saved at once,
  atomically, under ``progress/<stage>/`` (:class:`ChunkStore`), so a killed run loses at most the
  chunk in flight and the same command continues from there. Each image has its own PRNG key
  and a resumed chunk is the same compiled program on the same inputs, so a resumed run's
  results equal an uninterrupted run's. ``progress/`` is removed once the results are written.

While it solves (:meth:`ExperimentRun.stop_requests`), SIGINT (Ctrl-C) and SIGTERM are
acknowledged at once; the run stops at the next boundary (a segment of a latent solver's
iterations, a chunk of a baseline, a block of DIP's steps), saves what is finished (and a latent
solver's state between two segments of the chunk in flight, so that it continues there) and
raises :class:`~jaxrestore.runtime.preemption.RunInterrupted`, whose message says how to resume.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import jax
import numpy as np
from absl import logging

from jaxrestore.errors import CheckpointError
from jaxrestore.runtime import rundir
from jaxrestore.runtime.atomic import atomic_open
from jaxrestore.runtime.configs import flat_config
from jaxrestore.runtime.preemption import RunInterrupted, StopRequests

PROGRESS_DIR = "progress"
RESULTS_FILE = "results.json"
# Fields a rerun may change: they shape no number of the results.
NOT_IDENTIFYING = ("recompute", "figure_images")
# Fields added after runs were saved: a saved config without one matches any value here (each only changes
# results to rounding; results.json records the value a run used).
ADDED_FIELDS = ("iagan.batching", "baselines.dip.batching")


def _suggestion(workdir: Path, config) -> Path:
    stem = f"{workdir.name}_{config.task.name}"
    candidates = [workdir.parent / stem] + [workdir.parent / f"{stem}_{i}" for i in range(2, 100)]
    return next((c for c in candidates if not c.exists()), candidates[-1])


def _differences(config, saved) -> list[str]:
    here, there = flat_config(config.to_dict()), flat_config(saved.to_dict())
    there = {**{k: here[k] for k in ADDED_FIELDS if k in here}, **there}
    keys = [k for k in set(here) | set(there) if not k.startswith(NOT_IDENTIFYING) and here.get(k) != there.get(k)]
    first = ("task.", "prior", "data.", "methods")  # what tells two experiments apart, before their settings
    keys.sort(key=lambda k: (next((i for i, p in enumerate(first) if k.startswith(p)), len(first)), k))
    return [f"{k} ({there.get(k)!r} there, {here.get(k)!r} here)" for k in keys]


class ExperimentRun:
    """The run of one experiment in ``workdir`` (made by :func:`open_run`)."""

    def __init__(self, workdir: Path, config, state: str):
        self.workdir, self.config, self.state = workdir, config, state
        self.stop: StopRequests | None = None

    @property
    def finished(self) -> bool:
        return self.state == "finished"

    def results(self) -> dict:
        """The results of a finished run, as written."""
        with open(self.workdir / RESULTS_FILE) as f:
            return json.load(f)

    def start(self) -> None:
        """Makes the workdir (refusing a file or an unwritable folder) and writes ``config.json``;
        a recomputed run forgets its earlier work first."""
        rundir.check_writable_workdir(self.workdir)
        if self.state == "recompute":
            shutil.rmtree(self.workdir / PROGRESS_DIR, ignore_errors=True)
        rundir.write_config(self.workdir, self.config)
        if self.state == "resume" and (self.workdir / PROGRESS_DIR).is_dir():
            logging.info("resuming the experiment in %s from the chunks it finished before", self.workdir)

    @contextlib.contextmanager
    def stop_requests(self) -> Iterator[None]:
        """While active, SIGINT and SIGTERM stop the run at the next boundary (module docstring)."""
        with StopRequests(process_count=jax.process_count(),
                          acknowledgement="the experiment saves what it finished at the next boundary (the end "
                          "of a segment of iterations or of a chunk; at once during a compile) and stops") as stop:
            self.stop = stop
            try:
                yield
            finally:
                self.stop = None

    def chunks(self, stage: str) -> ChunkStore:
        """The finished chunks of one stage (a solver or baseline at one setting), e.g. ``0/csgm``."""
        return ChunkStore(self.workdir / PROGRESS_DIR, stage, self.stop)

    def close(self) -> None:
        """After the results are written: the finished chunks are no longer needed."""
        if jax.process_index() == 0:
            shutil.rmtree(self.workdir / PROGRESS_DIR, ignore_errors=True)


def open_run(config, workdir: str, *, headline: str) -> ExperimentRun:
    """Checks ``workdir`` for the experiment of ``config`` without writing anything (module
    docstring); ``headline`` is the score key of this experiment's results schema (a results file
    without it predates the schema and is recomputed)."""
    workdir = rundir.local_workdir(workdir)
    if workdir.exists() and not workdir.is_dir():
        rundir.check_writable_workdir(workdir)  # one line for a file
    config_file = workdir / rundir.CONFIG_FILE
    suggestion = _suggestion(workdir, config)
    if not config_file.is_file():
        leftovers = [name for name in ("checkpoints", PROGRESS_DIR, RESULTS_FILE) if (workdir / name).exists()]
        if leftovers:
            raise CheckpointError(f"--workdir {str(workdir)!r} holds {', '.join(leftovers)} but no "
                                  f"{rundir.CONFIG_FILE}, so it is not an experiment this command can resume; "
                                  f"pass a new --workdir (e.g. {suggestion}).")
        return ExperimentRun(workdir, config, "fresh")
    saved = rundir.read_config(workdir)
    method, task = saved.get("method", "?"), saved.get("task", {}).get("name", "?")
    if (workdir / "checkpoints").is_dir() or method != config.method:
        what = "a training run" if (workdir / "checkpoints").is_dir() else "an experiment"
        raise CheckpointError(f"--workdir {str(workdir)!r} holds {what} (method {method!r}, task {task!r}); an "
                              "experiment writes into a workdir of its own, so nothing was written: pass a new "
                              f"--workdir (e.g. {suggestion}).")
    differences = _differences(config, saved)
    if differences:
        raise CheckpointError(f"--workdir {str(workdir)!r} holds a {method} experiment with another config "
                              f"({'; '.join(differences[:4])}); pass a new --workdir (e.g. {suggestion}), or "
                              "the same config to resume or show it.")
    results = workdir / RESULTS_FILE
    if results.is_file():
        if config.get("recompute", False):
            return ExperimentRun(workdir, config, "recompute")
        with open(results) as f:
            if headline in next(iter(json.load(f).get("methods", {}).values()), {}):
                logging.info("%s holds this experiment's results already; showing them (recompute=True "
                             "computes them again)", workdir)
                return ExperimentRun(workdir, config, "finished")
        logging.info("%s holds results written before the shared schema; computing them again", workdir)
        return ExperimentRun(workdir, config, "recompute")
    return ExperimentRun(workdir, config, "resume")


class ChunkStore:
    """The finished chunks of one stage: chunk ``k``'s outputs (a tuple of arrays, one row per
    image) and the seconds its solve took, in ``chunk_<k>.npz``; and, for a run stopped between
    two segments of a chunk, that chunk's solver state in ``chunk_<k>.partial.npz``. Every file is
    written atomically. ``stop`` (the run's :class:`StopRequests`) tells whether a stop was asked."""

    def __init__(self, root: Path, stage: str, stop: StopRequests | None = None):
        self.root, self.directory, self.stop = root, root / stage, stop

    def _path(self, k: int, kind: str = "") -> Path:
        return self.directory / f"chunk_{k:05d}{kind}.npz"

    def stop_reason(self) -> str | None:
        """The signal that asked the run to stop (``SIGINT``, ``SIGTERM``), or None."""
        return self.stop.received if self.stop is not None else None

    def raise_if_stopped(self, where: str) -> None:
        """Raises :class:`RunInterrupted` when a stop was asked; ``where`` says where the run is."""
        reason = self.stop_reason()
        if reason:
            raise RunInterrupted(f"stopped by {reason} {where}; the finished work is saved in {self.root}; rerun "
                                 "the same command to continue from there.")

    def load_partial(self, k: int, lengths: list[int]):
        """``(segments done, carry leaves, seconds)`` of chunk ``k`` stopped between segments of
        ``lengths``, or None (none saved, or saved with other segments)."""
        path = self._path(k, ".partial")
        if not path.is_file():
            return None
        with np.load(path) as data:
            if list(data["lengths"]) != list(lengths):
                return None
            leaves = [data[f"leaf_{i}"] for i in range(int(data["leaves"]))]
            return int(data["position"]), leaves, float(data["seconds"])

    def save_partial(self, k: int, lengths: list[int], position: int, leaves, seconds: float) -> None:
        """Chunk ``k``'s solver state after ``position`` of its segments ``lengths``."""
        if jax.process_index() != 0:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        arrays = {f"leaf_{i}": np.asarray(leaf) for i, leaf in enumerate(leaves)}
        with atomic_open(self._path(k, ".partial"), "wb") as f:
            np.savez(f, lengths=np.asarray(lengths), position=position, seconds=seconds, leaves=len(arrays), **arrays)

    def load(self, k: int) -> tuple[tuple[np.ndarray, ...], float] | None:
        path = self._path(k)
        if not path.is_file():
            return None
        with np.load(path) as data:
            outputs = tuple(data[f"output_{i}"] for i in range(int(data["outputs"])))
            return outputs, float(data["seconds"])

    def save(self, k: int, outputs: tuple, seconds: float) -> None:
        if jax.process_index() != 0:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        arrays = {f"output_{i}": np.asarray(a) for i, a in enumerate(outputs)}
        with atomic_open(self._path(k), "wb") as f:
            np.savez(f, outputs=len(outputs), seconds=seconds, **arrays)
        self._path(k, ".partial").unlink(missing_ok=True)
