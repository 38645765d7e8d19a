"""User-facing errors.

Every mistake a person can make (a wrong path, an odd image, a mistyped config
key, a checkpoint from another model) is raised as a :class:`JaxRestoreError`
subclass carrying one sentence that names the problem and the fix. The
command-line entry points print that sentence and exit with status 2 instead of
showing a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


class JaxRestoreError(Exception):
    """Base class of errors caused by user input; the message is the whole story."""


class ConfigError(JaxRestoreError):
    """A configuration value is unknown, missing or out of range."""


class DataError(JaxRestoreError):
    """An image, folder or dataset cannot be used."""


class CheckpointError(JaxRestoreError):
    """A checkpoint or weight file cannot be used with this model."""


class TrainingDiverged(JaxRestoreError):
    """A loss became NaN or infinite; the last good checkpoint is left intact."""


class _QuietLibraries:
    """Drops INFO records of orbax/grain bookkeeping, and orbax's tracebacks of a checkpoint write
    that failed for lack of space or permission (``checkpoints.explained_write_errors`` reports
    those in one line); their other warnings and errors pass."""

    def filter(self, record) -> bool:
        noisy = "/orbax/" in record.pathname or "/grain/" in record.pathname
        if not noisy:
            return True
        if record.exc_info and storage_error_reason(record.exc_info[1]):
            return False
        return record.levelno > 20


# What a failed write says (an OSError's errno, or tensorstore's text), and how we say it.
_STORAGE_ERRORS = (("No space left on device", "no space left on device"),
                   ("os_error_code='28'", "no space left on device"),
                   ("Disk quota exceeded", "disk quota exceeded"),
                   ("os_error_code='122'", "disk quota exceeded"),
                   ("Read-only file system", "read-only file system"),
                   ("os_error_code='30'", "read-only file system"),
                   ("RESOURCE_EXHAUSTED", "storage exhausted"))


def storage_error_reason(error) -> str | None:
    """``"no space left on device"`` and the like when ``error`` is a write that failed for lack
    of space, quota or a writable file system; None for anything else."""
    import errno
    import os

    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return os.strerror(error.errno).lower()
    if not isinstance(error, (OSError, ValueError, RuntimeError)):
        return None
    text = str(error)
    return next((reason for marker, reason in _STORAGE_ERRORS if marker in text), None)


def quiet_library_logs() -> None:
    """Keeps the command-line tools' stderr to their own messages (idempotent)."""
    from absl import logging

    handler = logging.get_absl_handler()
    if not any(isinstance(f, _QuietLibraries) for f in handler.filters):
        handler.addFilter(_QuietLibraries())


def run_cli(main: Callable[[], object]) -> None:
    """Runs ``main``; a :class:`JaxRestoreError` becomes one line on stderr and exit 2."""
    from jaxrestore import compilation_cache

    quiet_library_logs()
    compilation_cache.enable()
    try:
        main()
    except JaxRestoreError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


HELP_FLAGS = ("-h", "-help", "--help", "--helpshort", "--helpfull", "-?")


def run_app(main: Callable, **app_run_kwargs) -> None:
    """``absl.app.run(main)`` with conventional exit codes: ``--help`` prints the flags and exits
    0 (absl exits 1)."""
    from absl import app

    wants_help = any(arg in HELP_FLAGS for arg in sys.argv[1:])
    try:
        app.run(main, **app_run_kwargs)
    except SystemExit as exit_:
        if wants_help and exit_.code in (1, None):
            raise SystemExit(0) from None
        raise


def reject_arguments(argv, command: str) -> None:
    """A command that takes only --flags refuses positional arguments (exit 2, one line)."""
    if len(argv) > 1:
        raise ConfigError(f"unexpected argument(s) {' '.join(argv[1:])!r}: every option of {command} is a "
                          f"--flag; see `python -m {command} --help`.")
