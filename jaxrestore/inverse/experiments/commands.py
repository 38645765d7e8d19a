"""The restoration experiments by ``config.method``: each is a module with ``run(config, workdir)
-> results`` and ``final_line(results, workdir)``. ``jaxrestore.main`` runs a config whose method
is here instead of training; ``jaxrestore.tune`` runs them over a grid."""

from __future__ import annotations

from types import ModuleType

from jaxrestore.inverse.experiments import gan_prior, iagan

COMMANDS: dict[str, ModuleType] = {"gan_prior": gan_prior, "iagan": iagan}


def for_config(config) -> ModuleType | None:
    """The experiment ``config`` runs, or None for a training config."""
    return COMMANDS.get(config.get("method"))
