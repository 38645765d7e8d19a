"""The one writer of result tables: ``<name>.json``, the same rows as ``<name>.csv`` beside it,
and optionally ``<name>.md``, each written atomically (a reader never sees half a file), the
JSON last. ``python -m jaxrestore.evaluate --output`` and both restoration experiments
(``results.*`` in their workdir) write through it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from jaxrestore.runtime.atomic import write_text


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """``header`` and ``rows`` as CSV text with ``\\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_results(json_path: str | Path, results: dict, *, header: Sequence[str], rows: Iterable[Sequence],
                  markdown: str | None = None) -> list[Path]:
    """Writes ``results`` to ``json_path``, ``header`` and ``rows`` to the ``.csv`` of the same stem
    and ``markdown`` (if given) to the ``.md``; returns the paths written (JSON, CSV[, MD])."""
    json_path = Path(json_path)
    paths = [json_path, json_path.with_suffix(".csv")]
    write_text(paths[1], csv_text(header, rows))
    if markdown is not None:
        paths.append(json_path.with_suffix(".md"))
        write_text(paths[2], markdown)
    write_text(json_path, json.dumps(results, indent=2) + "\n")
    return paths
