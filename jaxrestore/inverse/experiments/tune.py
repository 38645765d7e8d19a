"""Chooses a baseline's settings on a validation split: runs the experiment command of either
paper with one method over a grid of config values and prints the scores of each point.

    python -m jaxrestore.tune --config=configs/gan_prior.py:task=denoise \\
        --method=tv --grid=baselines.tv.weight=0.03,0.05,0.1,0.2 \\
        --data=folder:../shared/data/CelebA64[18800:18850] --output=runs/tune/denoise_tv.json

``--grid`` may be given several times (the product of the values is run); any other
``--config.a.b=value`` override applies to every point. Each point is the same code path as
the experiment command (:mod:`jaxrestore.inverse.experiments.commands`, with
``methods=METHOD``), in a temporary workdir; the table printed and written to ``--output``
(JSON) ranks the points by the experiment's headline PSNR (002_*: ``psnr_mean``, the mean of
per-image PSNRs; 003_*: ``psnr_of_mean_mse``). The
validation images must not be the test images: the tables of docs/baselines.md and docs/papers/
use CelebA64[18000:18200] for testing and choose settings on CelebA64[18800:18850].
"""

from __future__ import annotations

import itertools
import json
import tempfile

from absl import logging

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.experiments.commands import for_config
from jaxrestore.inverse.experiments.common import SCORES
from jaxrestore.runtime.atomic import write_text


def parse_grid(specs: list[str]) -> list[tuple[str, list]]:
    """``["a.b=1,2", "c=x"]`` -> ``[("a.b", [1.0, 2.0]), ("c", ["x"])]`` (numbers as floats)."""
    grid = []
    for spec in specs:
        field, sep, values = spec.partition("=")
        if not sep or not values:
            raise ConfigError(f"--grid={spec!r} is not FIELD=V1,V2,...; e.g. --grid=baselines.tv.weight=0.01,0.03.")
        parsed = []
        for v in values.split(","):
            try:
                parsed.append(float(v))
            except ValueError:
                parsed.append(v)
        grid.append((field.strip(), parsed))
    return grid


def _set(config, field: str, value) -> None:
    *parents, leaf = field.split(".")
    node = config
    for name in parents:
        if name not in node:
            raise ConfigError(f"--grid field {field!r} is not in the config (no {name!r}); e.g. baselines.tv.weight.")
        node = node[name]
    if leaf not in node:
        raise ConfigError(f"--grid field {field!r} is not in the config (no {leaf!r}); e.g. baselines.tv.weight.")
    if isinstance(node[leaf], int) and not isinstance(node[leaf], bool) and float(value) == int(value):
        value = int(value)
    node[leaf] = value


def headline(config) -> str:
    """The score the experiment of ``config`` ranks by (its paper's PSNR)."""
    experiment = for_config(config)
    if experiment is None:
        raise ConfigError(f"tune runs configs/gan_prior.py or configs/iagan.py, not a {config.method!r} config.")
    return experiment.HEADLINE


def tune(config, method: str, grid: list[tuple[str, list]], data: str) -> list[dict]:
    """Scores of ``method`` at every point of ``grid`` on ``data``, best first."""
    key = headline(config)
    if not grid:
        raise ConfigError("give at least one --grid=FIELD=V1,V2,... to tune.")
    fields = [f for f, _ in grid]
    rows = []
    points = list(itertools.product(*(values for _, values in grid)))
    for index, point in enumerate(points):
        trial = config.copy_and_resolve_references()
        trial.methods = method
        trial.data.test = data
        for field, value in zip(fields, point):
            _set(trial, field, value)
        with tempfile.TemporaryDirectory() as workdir:
            scores = for_config(trial).run(trial, workdir)["methods"][method]
        rows.append({**dict(zip(fields, point)), **scores})
        logging.info("point %d/%d %s: PSNR %.3f dB", index + 1, len(points), dict(zip(fields, point)), scores[key])
    return sorted(rows, key=lambda r: -r[key])


def table(rows: list[dict], fields: list[str], headline: str = SCORES[0]) -> str:
    """The rows as a Markdown table: the grid's fields, the headline score, then the other scores."""
    scores = [headline] + [k for k in SCORES if k in rows[0] and k != headline]
    lines = ["| " + " | ".join(fields + scores) + " |", "|" + "---|" * (len(fields) + len(scores))]
    for r in rows:
        lines.append("| " + " | ".join([f"{r[f]:g}" if isinstance(r[f], float) else str(r[f]) for f in fields]
                                       + [f"{r[s]:.4f}" for s in scores]) + " |")
    return "\n".join(lines)


def report(config, method: str, grid: list[tuple[str, list]], data: str, output: str = "") -> list[dict]:
    """Runs :func:`tune`, prints the table and the best point, and writes them to ``output`` (JSON)."""
    key = headline(config)
    rows = tune(config, method, grid, data)
    fields = [f for f, _ in grid]
    print(table(rows, fields, key))
    print(f"best: {', '.join(f'{f}={rows[0][f]}' for f in fields)} ({key} {rows[0][key]:.3f} dB on {data})")
    if output:
        write_text(output, json.dumps({"method": method, "data": data, "headline": key, "rows": rows}, indent=2))
    return rows
