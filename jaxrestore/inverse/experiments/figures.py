"""The figures of both restoration experiments: the labelled image grid of 002_*'s Figure 3 (and
of 003_*'s Figure 1 layout), and 003_*'s Figure 2, the reconstruction MSE against the
compression ratio from a sweep's ``results.json`` (``python -m jaxrestore.plot cs_curve``)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from jaxrestore.errors import ConfigError
from jaxrestore.evaluation.curves import figure, finish
from jaxrestore.inverse.experiments.baselines import LABELS as BASELINE_LABELS
from jaxrestore.inverse.experiments.problems_003 import PROBLEMS

GAN_LABELS = {"csgm": "CSGM", "csgm_bp": "CSGM-BP", "iagan": "IAGAN", "iagan_bp": "IAGAN-BP"}


def method_label(method: str, task: str) -> str:
    """A 003_* method's column name: the task's naive column, or the method's label."""
    if method == "naive":
        return PROBLEMS[task].naive_label
    return GAN_LABELS.get(method) or BASELINE_LABELS.get(method, method)


def labelled_grid(columns, *, count: int, gap: int = 2, label_height: int = 12) -> np.ndarray:
    """A uint8 image of ``columns`` (``[(label, N x H x W x 3 in [0, 1]), ...]``): a header
    of column labels, one row per image (the first ``count``)."""
    clean = columns[0][1]
    rows = min(int(count), clean.shape[0])
    if rows < 1:
        raise ValueError(f"a figure needs at least one row, got count={count}")
    h, w = clean.shape[1:3]
    width = len(columns) * (w + gap) + gap
    height = label_height + rows * (h + gap) + gap
    canvas = np.full((height, width, 3), 255, np.uint8)
    for j, (_, images) in enumerate(columns):
        for i in range(rows):
            top, left = label_height + gap + i * (h + gap), gap + j * (w + gap)
            canvas[top:top + h, left:left + w] = np.round(np.clip(images[i], 0, 1) * 255).astype(np.uint8)
    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    for j, (label, _) in enumerate(columns):
        draw.text((gap + j * (w + gap) + 1, 0), label, fill=(0, 0, 0))
    return np.asarray(picture)


def read_sweep(directory: str) -> dict:
    """The ``results.json`` of a configs/iagan.py compressed-sensing run, checked."""
    path = os.path.join(directory, "results.json")
    if not os.path.isfile(path):
        raise ConfigError(f"{directory!r} has no results.json; pass the --workdir of a finished configs/iagan.py run.")
    with open(path) as f:
        results = json.load(f)
    if not str(results.get("task", "")).startswith("cs_") or not results.get("sweep"):
        raise ConfigError(f"{path!r} is not a compressed-sensing run of configs/iagan.py (task "
                          f"{results.get('task')!r}); run one with ratios=..., e.g. "
                          "--config=configs/iagan.py:task=cs_gaussian,ratios=0.1,0.3,0.5.")
    return results


def plot_cs_curve(runs: Sequence[tuple[str, str]], output: str, *, title: str | None = None,
                  width: int = 800, height: int = 500) -> str:
    """003_* Figure 2: MSE against m/n per method, from each run's sweep."""
    sweeps = [(name, read_sweep(directory)) for name, directory in runs]
    fig, ax = figure(width, height)
    lines = 0
    for name, results in sweeps:
        entries = sorted(results["sweep"], key=lambda e: e["setting"])
        for method in (m for m in entries[0]["methods"] if m != "naive"):  # Figure 2's four lines
            ratios = [e["setting"] for e in entries]
            mse = [e["methods"][method]["mse"] for e in entries]
            text = method_label(method, results["task"]) + (f" ({name})" if len(sweeps) > 1 else "")
            ax.plot(ratios, mse, marker="o", markersize=4, label=text, linestyle="--" if "bp" in method else "-")
            lines += 1
    ax.set_xlabel("m/n")
    ax.set_ylabel("MSE per pixel ([0, 1] images)")
    ax.set_title(title or f"{sweeps[0][1]['task']}: reconstruction MSE vs compression ratio")
    finish(fig, ax, output)
    points = sum(len(r["sweep"]) for _, r in sweeps)
    return f"wrote {output} (MSE vs m/n: {lines} line(s), {points} ratio(s) from {len(sweeps)} run(s))"
