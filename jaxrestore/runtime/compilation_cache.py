"""XLA's persistent compilation cache, on by default for every command.

A second run of the same config (a resumed run, an evaluation of the same model) loads
the compiled programs from disk instead of compiling them again. The directory is, in
order of precedence: the ``directory`` argument (``--compilation_cache`` of the
commands), ``$JAXRESTORE_COMPILATION_CACHE``, JAX's own ``$JAX_COMPILATION_CACHE_DIR``,
then ``$XDG_CACHE_HOME/jaxrestore/xla`` (``~/.cache/jaxrestore/xla``). ``off`` (or an
empty value) turns it off. JAX caches a program only when compiling it took at least
``jax_persistent_cache_min_compile_time_secs`` (1 s by default), so tiny programs are
recompiled; the cache grows without bound (delete the directory to empty it).
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

ENV = "JAXRESTORE_COMPILATION_CACHE"
OFF = ("off", "none", "")


def default_directory() -> Path:
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(home) / "jaxrestore" / "xla"


def choose_directory(directory: str | None = None) -> str | None:
    """The cache directory the precedence above gives, or None when the cache is off."""
    for value in (directory, os.environ.get(ENV), os.environ.get("JAX_COMPILATION_CACHE_DIR")):
        if value is not None:
            return None if value.strip().lower() in OFF else value
    return str(default_directory())


def enable(directory: str | None = None) -> str | None:
    """Points JAX's persistent compilation cache at the chosen directory (see the module
    docstring); returns it, or None when off. Call before the first compilation."""
    chosen = choose_directory(directory)
    jax.config.update("jax_compilation_cache_dir", chosen)
    jax.config.update("jax_enable_compilation_cache", chosen is not None)
    return chosen
