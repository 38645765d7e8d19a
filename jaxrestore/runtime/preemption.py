"""Stopping a run cleanly: SIGTERM (what Cloud TPU VMs and schedulers send before a preemption)
and SIGINT (Ctrl-C) make a training loop finish its step, save a checkpoint at that step and
stop, and a restoration experiment finish its segment of iterations, save what it finished and
stop; rerunning the same command resumes there. Either way the command prints one line saying so
(:class:`RunInterrupted`) and exits with status 0.

Work that cannot be interrupted (an XLA compile) runs in a background thread
(:func:`run_in_background`) while the main thread waits in short sleeps, so that a signal is
acknowledged at once and a stop need not wait for the compile; the command then leaves by
:func:`exit_if_background_work` (the process would abort if the interpreter shut down under a
running compile).

On one process, :class:`StopRequests` turns the two signals into a flag the loop reads
after each step (a second signal of the same kind acts as it would without this, so a
second Ctrl-C still stops at once). On several processes (``jax.distributed``), JAX's
preemption service owns SIGTERM: when any host receives it, every host learns of it and
they agree on one step, which ``CheckpointManager.reached_preemption`` reports, so all
hosts save the same step. SIGINT is not handled there (it reaches one host only, and a
host that stopped alone would leave the others waiting in a collective).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable

from absl import logging


class RunInterrupted(Exception):
    """A run stopped on request after saving its work; the command prints the message (how to
    resume) and exits with status 0."""


class TrainingInterrupted(RunInterrupted):
    """A training run stopped on request after saving a checkpoint at ``step``."""

    def __init__(self, message: str, *, step: int):
        super().__init__(message)
        self.step = step


class StopRequests:
    """Context manager: while active, SIGTERM and SIGINT request a stop instead of killing the
    process (on one process and in the main thread; elsewhere it does nothing). The handler logs
    one line at once: the signal, then ``acknowledgement`` (what the run does now)."""

    def __init__(self, *, process_count: int = 1,
                 acknowledgement: str = "the run saves a checkpoint after this step and stops"):
        self.acknowledgement = acknowledgement
        signals = [signal.SIGINT] if process_count > 1 else [signal.SIGTERM, signal.SIGINT]
        self.signals = signals if threading.current_thread() is threading.main_thread() else []
        self.received: str | None = None
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:
        del frame
        self.received = signal.Signals(signum).name
        signal.signal(signum, self._previous[signum])  # the same signal again: the usual effect
        logging.warning("%s received: %s (send it again to stop at once, without saving).", self.received,
                        self.acknowledgement)

    def __enter__(self) -> StopRequests:
        for s in self.signals:
            self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, previous in self._previous.items():
            signal.signal(s, previous)
        self._previous = {}

    def requested(self, manager, step: int) -> str | None:
        """The reason to stop after ``step`` (a signal's name, or ``preemption`` when the hosts
        reached JAX's preemption sync point), or None."""
        if self.received:
            return self.received
        if manager.reached_preemption(step):
            return "preemption"
        return None


BACKGROUND_THREAD = "jaxrestore-background"


def run_in_background(fn: Callable, poll: Callable[[], None], *, interval: float = 0.05):
    """``fn()`` in a daemon thread while this thread calls ``poll()`` every ``interval`` seconds
    (``poll`` may raise, e.g. :class:`RunInterrupted`, to stop waiting); returns ``fn``'s result or
    raises its error."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as err:  # noqa: BLE001  re-raised in the calling thread
            box["error"] = err

    thread = threading.Thread(target=target, name=BACKGROUND_THREAD, daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(interval)
        poll()
    if "error" in box:
        raise box["error"]
    return box["value"]


def exit_if_background_work(status: int) -> None:
    """Exits the process at once with ``status`` (output flushed) when :func:`run_in_background`
    work is still running, as after a stop during a compile; otherwise returns."""
    if any(t.name == BACKGROUND_THREAD and t.is_alive() for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
