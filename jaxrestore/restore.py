"""Applies a trained checkpoint to image files.

    python -m jaxrestore.restore --checkpoint=runs/srgan photo.png more/ --output=restored/
    python -m jaxrestore.restore --checkpoint=runs/srgan big.png --output=out/ --tile=128

Inputs are image files or folders of them; each result is written as
``<output>/<input stem>.png``. ``--tile`` restores large images in tiles whose ``--tile_margin``
of context covers the generator's receptive field, so the result equals whole-image inference
without seams; a JPEG artifact-removal checkpoint restores the luma of an RGB input and keeps
its chroma (run it on images compressed at the checkpoint's quality).
:mod:`jaxrestore.evaluation.tiling` explains both.
"""

from __future__ import annotations

import os
import sys

from absl import flags

from jaxrestore.errors import DataError
from jaxrestore.evaluation import tiling
from jaxrestore.evaluation.restorers import describe_source
from jaxrestore.runtime.cli import run_app, run_cli
from jaxrestore.training.runs import load_restorer

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defined only when run as a command, so importing this module never clashes with
    another tool's flags of the same name."""
    flags.DEFINE_string("checkpoint", None, "Run directory of a training run (or of jaxrestore.convert).")
    flags.DEFINE_string("output", None, "Folder for the restored images (created if missing).")
    flags.DEFINE_integer("tile", 0, "Tile size in input pixels; 0 restores each image whole.")
    flags.DEFINE_integer("tile_margin", 48, "Context pixels around each tile (>= the receptive field radius).")
    flags.DEFINE_enum("which", "auto", ["auto", "best", "latest"], "Which checkpoint of the run: best "
                      "(validation PSNR-Y), latest, or auto (best for a fidelity-only run, latest for a GAN run).")
    flags.DEFINE_bool("ema", False, "Use the EMA weights where the run keeps them.")


def _main(argv) -> None:
    inputs = argv[1:]
    if not FLAGS.checkpoint or not FLAGS.output:
        raise DataError("pass --checkpoint=RUN_DIR and --output=FOLDER, then the input images.")
    if not inputs:
        raise DataError("no input images; list image files or folders after the flags.")
    tiling.check_tiling(FLAGS.tile, FLAGS.tile_margin)
    restorer = load_restorer(FLAGS.checkpoint, which=FLAGS.which, ema=FLAGS.ema)
    print(f"restoring with {describe_source(restorer.source)}", file=sys.stderr, flush=True)
    warning = tiling.margin_warning(restorer, FLAGS.tile, FLAGS.tile_margin)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    tiling.restore_files(restorer, inputs, FLAGS.output, tile=FLAGS.tile, margin=FLAGS.tile_margin)


def main() -> None:
    define_flags()
    run_app(lambda argv: run_cli(lambda: _main(argv)))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
