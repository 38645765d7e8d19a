"""What a failed write says: a full disk, a quota or a read-only file system, recognised in an
``OSError``'s errno or in the text tensorstore (orbax's storage layer) gives, so that the
commands report it in one sentence instead of a traceback."""

from __future__ import annotations

import errno
import os

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
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return os.strerror(error.errno).lower()
    if not isinstance(error, (OSError, ValueError, RuntimeError)):
        return None
    text = str(error)
    return next((reason for marker, reason in _STORAGE_ERRORS if marker in text), None)
