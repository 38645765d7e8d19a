"""Config files and ConfigDicts: loading ``configs/<name>.py[:PRESET]`` from a path, and the
flat ``section.field`` view that comparisons and suggestions use."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import ml_collections

from jaxrestore.errors import ConfigError


def load_config_file(path: str | Path, preset: str | None = None, *, module_name: str = "_jaxrestore_config"
                     ) -> ml_collections.ConfigDict:
    """``get_config(preset)`` of the config file at ``path`` (``get_config()`` without a preset)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found; pass one of configs/*.py (from a source checkout).")
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(preset) if preset else module.get_config()


def flat_config(node: dict, prefix: str = "") -> dict:
    """``{"section.field": value}`` of a config's ``to_dict()`` (tuples as lists, as JSON reads them)."""
    out = {}
    for key, value in node.items():
        if hasattr(value, "items"):
            out.update(flat_config(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = list(value) if isinstance(value, tuple) else value
    return out
