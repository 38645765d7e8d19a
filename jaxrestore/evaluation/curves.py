"""Training curves of runs as PNG figures: FID against the epoch or step (000_* Figure 4; the
``fid.jsonl`` a run writes with ``eval.fid_every_steps``), and any scalar a run logged to
TensorBoard against the step or the wall-clock minutes. ``python -m jaxrestore.plot`` draws them;
:func:`finish` gives every figure of the package the same grid, legend and atomic PNG write."""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

from jaxrestore.errors import ConfigError
from jaxrestore.metrics.fid import read_fid_records
from jaxrestore.runtime.atomic import atomic_open
from jaxrestore.runtime.scalars import read_scalars

DPI = 100


def figure(width: int, height: int):
    """A matplotlib figure of ``width`` x ``height`` pixels and its one axes."""
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    return fig, fig.subplots()


def finish(fig, ax, output: str) -> None:
    """Grid, legend and layout of every plot; the PNG is rendered fully before the target is
    touched, then written atomically."""
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    with atomic_open(output, "wb") as f:
        f.write(buffer.getvalue())


def plot_fid(runs: Sequence[tuple[str, str]], output: str, *, x: str = "epoch", title: str | None = None,
             width: int = 800, height: int = 500) -> str:
    """Draws each run's FID against ``x`` ("epoch" or "step") into the PNG ``output``."""
    if x not in ("epoch", "step"):
        raise ConfigError(f"--x={x} does not apply to the fid plot; use --x=epoch or --x=step.")
    curves = [(name, read_fid_records(directory)) for name, directory in runs]  # errors before drawing
    fig, ax = figure(width, height)
    for name, records in curves:
        ax.plot([r[x] for r in records], [r["fid"] for r in records], marker="o", markersize=4, label=name)
    ax.set_xlabel(x)
    ax.set_ylabel("FID")
    if title:
        ax.set_title(title)
    finish(fig, ax, output)
    points = sum(len(records) for _, records in curves)
    return f"wrote {output} (FID of {len(curves)} run(s), {points} point(s), against {x})"


def plot_scalar(runs: Sequence[tuple[str, str]], output: str, *, tag: str = "eval/psnr_y", x: str = "minutes",
                references: Sequence[tuple[str, float]] = (), title: str | None = None, width: int = 800,
                height: int = 500) -> str:
    """Draws the scalar ``tag`` of each run against ``x`` ("step" or "minutes" since the run's first
    TensorBoard event) into the PNG ``output``, with horizontal ``references``."""
    if x not in ("step", "minutes"):
        raise ConfigError(f"--x={x} does not apply to the scalar plot; use --x=step or --x=minutes.")
    curves = []
    for name, directory in runs:
        scalars, start = read_scalars(directory, start=True)
        if tag not in scalars:
            raise ConfigError(f"the run {directory!r} logged no {tag!r}; it logged {', '.join(sorted(scalars))}.")
        points = scalars[tag]
        xs = [p[0] for p in points] if x == "step" else [(p[1] - start) / 60.0 for p in points]
        curves.append((name, xs, [p[2] for p in points]))
    fig, ax = figure(width, height)
    for name, xs, ys in curves:
        ax.plot(xs, ys, marker="o", markersize=4, label=name)
    for name, value in references:
        ax.axhline(value, linestyle="--", color="grey", linewidth=1)
        ax.annotate(f"{name} {value:g}", (0, value), xycoords=("axes fraction", "data"), xytext=(4, 3),
                    textcoords="offset points", fontsize=8, color="grey")
    ax.set_xlabel("wall-clock minutes since the run started" if x == "minutes" else "step")
    ax.set_ylabel(tag)
    if title:
        ax.set_title(title)
    finish(fig, ax, output)
    last = "; ".join(f"{name}: {ys[-1]:.4f} at {xs[-1]:.1f} {x}" for name, xs, ys in curves)
    return f"wrote {output} ({tag} of {len(curves)} run(s) against {x}; last points {last})"
