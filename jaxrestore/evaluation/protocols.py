"""The evaluation protocols by task name: ``evaluate --task=NAME`` and every scorer and grid
look a protocol up here. A new protocol is one new module and one entry in :data:`PROTOCOLS`."""

from __future__ import annotations

from jaxrestore.errors import ConfigError
from jaxrestore.evaluation.base import Protocol
from jaxrestore.evaluation.jpeg import JpegProtocol
from jaxrestore.evaluation.sr import SRProtocol

#: The evaluation protocols by ``--task`` name: ``sr`` and ``jpeg``.
PROTOCOLS: dict[str, type[Protocol]] = {p.name: p for p in (SRProtocol, JpegProtocol)}


def protocol(name: str) -> type[Protocol]:
    """The protocol of task ``name`` (``evaluate --task=NAME``)."""
    if name not in PROTOCOLS:
        choices = "; ".join(f"{n} ({p.label})" for n, p in PROTOCOLS.items())
        raise ConfigError(f"unknown --task={name!r} for PSNR/SSIM evaluation; choose one of: {choices}.")
    return PROTOCOLS[name]


def label(name: str) -> str:
    """What task ``name`` is called in messages (the name itself for a task without a protocol)."""
    return PROTOCOLS[name].label if name in PROTOCOLS else name
