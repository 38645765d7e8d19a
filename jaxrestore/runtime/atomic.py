"""Writing files so that a reader never sees half of one.

Every output file of the project (images, JSON/CSV results, config.json,
converted weights) is written into a temporary file in the target's folder,
flushed, given the permissions a plain ``open`` would give, and renamed over the
target in one step: a crash or kill leaves either the old file or the new one.
(Checkpoints get the same guarantee from orbax.)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO

from jaxrestore.errors import ConfigError


def umask() -> int:
    """The process's file-creation mask (read without changing it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> IO:
    """``with atomic_open(path, "wb") as f: ...`` — the file appears at ``path`` only when
    the block finishes without an exception."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp's 0600 would hide results from other users
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Writes ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def check_target(path: str | None, *, suffix: str, hint: str, overwrite: bool) -> str:
    """Refuses an ``--output`` path that is missing, has another ending (``hint`` says what to
    write), lies in a missing folder or exists (unless ``overwrite``), before anything is made."""
    if not path:
        raise ConfigError(f"--output is required; {hint}.")
    if not path.lower().endswith(suffix):
        raise ConfigError(f"--output={path!r} must end in {suffix}; {hint}.")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ConfigError(f"The output folder {directory!r} does not exist; create it first.")
    if os.path.exists(path) and not overwrite:
        raise ConfigError(f"{path!r} already exists; remove it or pass --overwrite.")
    return path
