r"""Draws training curves of runs to a PNG.

Usage:

  python -m jaxrestore.plot fid --run=ARGAN-VGG=runs/argan_vgg --run=cARGAN=runs/cargan \
      --output=fig4.png [--x=epoch|step] [--title="FID on the test set"] \
      [--width=800 --height=500] [--overwrite]

The first positional argument names the plot; ``fid`` reads each run's
``<run dir>/fid.jsonl`` (written during training when
``config.eval.fid_every_steps > 0``, see :mod:`jaxrestore.metrics.fid`) and draws
FID against the epoch (default) or the step, one line with markers per run,
labelled by the name before ``=`` in ``--run=NAME=DIR``. The PNG is
``--width`` x ``--height`` pixels and written atomically.

  python -m jaxrestore.plot cs_curve --run=DCGAN=runs/iagan_cs_sweep --output=fig2.png

``cs_curve`` draws 003_*'s Figure 2 from a compressed-sensing run of configs/iagan.py with
``ratios=...`` (its ``results.json``): the reconstruction MSE (per pixel, images in [0, 1],
averaged over the test images) against the ratio m/n, one line per method (CSGM, CSGM-BP,
IAGAN, IAGAN-BP, those of the figure; the naive column, far above them, is left out), per run.

  python -m jaxrestore.plot scalar --run=SRResNet=runs/srresnet_real --tag=eval/psnr_y \
      --x=minutes --reference=SRCNN=30.48 --output=psnr_vs_time.png

``scalar`` draws any scalar a training run logged to TensorBoard (``--tag``; default
``eval/psnr_y``, the held-out PSNR-Y) against the step or the wall-clock minutes since the run
started (its first TensorBoard event, written before the first step), one line per run, with
optional horizontal reference lines (``--reference=NAME=VALUE``, repeatable).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Sequence

from absl import flags

from jaxrestore.atomic import atomic_open
from jaxrestore.errors import ConfigError, run_cli

DPI = 100


def _flag_values() -> flags.FlagValues:
    """This tool's flags, in a private FlagValues so they never clash with other CLIs' flags."""
    fv = flags.FlagValues()
    flags.DEFINE_multi_string("run", [], "NAME=DIR of a run to draw; repeat for several runs.", flag_values=fv)
    flags.DEFINE_string("output", None, "PNG file to write.", flag_values=fv)
    flags.DEFINE_enum("x", None, ["epoch", "step", "minutes"], "Horizontal axis (fid: epoch or step, default "
                      "epoch; scalar: step or minutes, default minutes).", flag_values=fv)
    flags.DEFINE_string("tag", "eval/psnr_y", "scalar: the TensorBoard tag to draw.", flag_values=fv)
    flags.DEFINE_multi_string("reference", [], "scalar: NAME=VALUE of a horizontal reference line; repeatable.",
                              flag_values=fv)
    flags.DEFINE_string("title", None, "Figure title (default: none).", flag_values=fv)
    flags.DEFINE_integer("width", 800, "Width of the PNG in pixels.", lower_bound=100, flag_values=fv)
    flags.DEFINE_integer("height", 500, "Height of the PNG in pixels.", lower_bound=100, flag_values=fv)
    flags.DEFINE_bool("overwrite", False, "Replace --output if it already exists.", flag_values=fv)
    return fv


def _finish(fig, ax, output: str) -> None:
    """Grid, legend and layout of every plot; the PNG is rendered fully before the target is
    touched, then written atomically."""
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    with atomic_open(output, "wb") as f:
        f.write(buffer.getvalue())


def parse_runs(specs: Sequence[str]) -> list[tuple[str, str]]:
    """``["NAME=DIR", ...]`` -> ``[(name, dir), ...]``; each dir must exist, names be unique."""
    if not specs:
        raise ConfigError("Name at least one run, e.g. --run=cARGAN=runs/cargan.")
    runs: list[tuple[str, str]] = []
    for spec in specs:
        name, sep, directory = spec.partition("=")
        if not sep or not name or not directory:
            raise ConfigError(f"--run={spec!r} is not NAME=DIR; write e.g. --run=cARGAN=runs/cargan.")
        if not os.path.isdir(directory):
            raise ConfigError(f"The run directory {directory!r} of --run={spec!r} does not exist; check the path.")
        if name in (n for n, _ in runs):
            raise ConfigError(f"Two runs are named {name!r}; give each --run a different NAME.")
        runs.append((name, directory))
    return runs


def check_output(path: str | None, *, overwrite: bool) -> str:
    if not path:
        raise ConfigError("--output is required; name the PNG to write, e.g. --output=fig4.png.")
    if not path.lower().endswith(".png"):
        raise ConfigError(f"--output={path!r} must end in .png; this tool writes PNG images.")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ConfigError(f"The output folder {directory!r} does not exist; create it first.")
    if os.path.exists(path) and not overwrite:
        raise ConfigError(f"{path!r} already exists; remove it or pass --overwrite.")
    return path


def plot_fid(runs: Sequence[tuple[str, str]], output: str, *, x: str = "epoch", title: str | None = None,
             width: int = 800, height: int = 500) -> str:
    """Draws each run's FID against ``x`` ("epoch" or "step") into the PNG ``output``."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    from jaxrestore.metrics.fid import read_fid_records

    if x not in ("epoch", "step"):
        raise ConfigError(f"--x={x} does not apply to the fid plot; use --x=epoch or --x=step.")
    curves = [(name, read_fid_records(directory)) for name, directory in runs]  # errors before drawing
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    ax = fig.subplots()
    for name, records in curves:
        ax.plot([r[x] for r in records], [r["fid"] for r in records], marker="o", markersize=4, label=name)
    ax.set_xlabel(x)
    ax.set_ylabel("FID")
    if title:
        ax.set_title(title)
    _finish(fig, ax, output)
    points = sum(len(records) for _, records in curves)
    return f"wrote {output} (FID of {len(curves)} run(s), {points} point(s), against {x})"


def parse_references(specs: Sequence[str]) -> list[tuple[str, float]]:
    out = []
    for spec in specs:
        name, sep, value = spec.rpartition("=")
        try:
            out.append((name, float(value)))
        except ValueError:
            raise ConfigError(f"--reference={spec!r} is not NAME=VALUE; write e.g. --reference=SRCNN=30.48.") from None
        if not sep or not name:
            raise ConfigError(f"--reference={spec!r} is not NAME=VALUE; write e.g. --reference=SRCNN=30.48.")
    return out


def plot_scalar(runs: Sequence[tuple[str, str]], output: str, *, tag: str = "eval/psnr_y", x: str = "minutes",
                references: Sequence[tuple[str, float]] = (), title: str | None = None, width: int = 800,
                height: int = 500) -> str:
    """Draws the scalar ``tag`` of each run against ``x`` ("step" or "minutes" since the run's first
    TensorBoard event) into the PNG ``output``, with horizontal ``references``."""
    from matplotlib.figure import Figure

    from jaxrestore.summaries import read_scalars

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
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    ax = fig.subplots()
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
    _finish(fig, ax, output)
    last = "; ".join(f"{name}: {ys[-1]:.4f} at {xs[-1]:.1f} {x}" for name, xs, ys in curves)
    return f"wrote {output} ({tag} of {len(curves)} run(s) against {x}; last points {last})"


def read_sweep(directory: str) -> dict:
    """The ``results.json`` of a configs/iagan.py compressed-sensing run, checked."""
    import json

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
    from matplotlib.figure import Figure

    from jaxrestore.inverse.iagan_experiment import label

    sweeps = [(name, read_sweep(directory)) for name, directory in runs]
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    ax = fig.subplots()
    lines = 0
    for name, results in sweeps:
        entries = sorted(results["sweep"], key=lambda e: e["setting"])
        for method in (m for m in entries[0]["methods"] if m != "naive"):  # Figure 2's four lines
            ratios = [e["setting"] for e in entries]
            mse = [e["methods"][method]["mse"] for e in entries]
            text = label(method, results["task"]) + (f" ({name})" if len(sweeps) > 1 else "")
            ax.plot(ratios, mse, marker="o", markersize=4, label=text, linestyle="--" if "bp" in method else "-")
            lines += 1
    ax.set_xlabel("m/n")
    ax.set_ylabel("MSE per pixel ([0, 1] images)")
    ax.set_title(title or f"{sweeps[0][1]['task']}: reconstruction MSE vs compression ratio")
    _finish(fig, ax, output)
    points = sum(len(r["sweep"]) for _, r in sweeps)
    return f"wrote {output} (MSE vs m/n: {lines} line(s), {points} ratio(s) from {len(sweeps)} run(s))"


# Plot name -> function(fv) drawing it from the parsed flags and returning a summary line.
PLOTS: dict[str, Callable[[flags.FlagValues], str]] = {
    "fid": lambda fv: plot_fid(
        parse_runs(fv.run), check_output(fv.output, overwrite=fv.overwrite),
        x=fv.x or "epoch", title=fv.title, width=fv.width, height=fv.height,
    ),
    "scalar": lambda fv: plot_scalar(
        parse_runs(fv.run), check_output(fv.output, overwrite=fv.overwrite), tag=fv.tag,
        x=fv.x or "minutes", references=parse_references(fv.reference), title=fv.title, width=fv.width,
        height=fv.height,
    ),
    "cs_curve": lambda fv: plot_cs_curve(
        parse_runs(fv.run), check_output(fv.output, overwrite=fv.overwrite),
        title=fv.title, width=fv.width, height=fv.height,
    ),
}


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point; ``argv`` defaults to ``sys.argv`` (program name first)."""
    argv = list(sys.argv if argv is None else argv)
    fv = _flag_values()
    if any(arg in ("-h", "--help", "-help", "--helpfull") for arg in argv[1:]):
        print(__doc__ + "\nFlags:\n" + fv.get_help())
        return
    try:
        positional = fv(argv)[1:]
    except flags.Error as err:
        raise ConfigError(f"{err}; run `python -m jaxrestore.plot --help` for the flags.") from None
    if len(positional) != 1 or positional[0] not in PLOTS:
        got = " ".join(positional) or "nothing"
        raise ConfigError(
            f"Name exactly one plot (one of: {', '.join(PLOTS)}) but got {got}; e.g. "
            "`python -m jaxrestore.plot fid --run=cARGAN=runs/cargan --output=fig4.png`."
        )
    print(PLOTS[positional[0]](fv))


if __name__ == "__main__":
    run_cli(main)
