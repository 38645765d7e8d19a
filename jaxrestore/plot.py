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

import os
import sys
from collections.abc import Callable, Sequence

from absl import flags

from jaxrestore.errors import ConfigError
from jaxrestore.evaluation.curves import plot_fid, plot_scalar
from jaxrestore.inverse.experiments.figures import plot_cs_curve
from jaxrestore.runtime.atomic import check_target
from jaxrestore.runtime.cli import run_cli


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
    return check_target(path, suffix=".png", hint="this tool writes PNG images, e.g. --output=fig4.png",
                        overwrite=overwrite)


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
