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
    """Drops INFO records of orbax/grain bookkeeping; their warnings and errors pass."""

    def filter(self, record) -> bool:
        noisy = "/orbax/" in record.pathname or "/grain/" in record.pathname
        return not noisy or record.levelno > 20


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
