"""Scores a checkpoint or a classical baseline on folders of HR images.

    python -m jaxrestore.evaluate --baseline=bicubic --scale=4 \\
        --data=../shared/data/Set5 --data=../shared/data/Set14 --output=results.json
    python -m jaxrestore.evaluate --checkpoint=runs/srgan --data=DIR --output=results.json
    python -m jaxrestore.evaluate --task=jpeg --quality=10 --baseline=jpeg \
        --data=../shared/data/Set5 --output=results.json
    python -m jaxrestore.evaluate --task=jpeg --checkpoint=runs/cargan --data=DIR --output=results.json

Prints the checkpoint it scores (path, step, which, raw or EMA weights) and a
table (folder, images, PSNR-Y, its standard deviation, SSIM-Y, L1-Y), and
writes ``{"<folder>": {"psnr_y", "psnr_y_std", "ssim_y", "l1_y", "images",
"checkpoint"}}`` to ``--output`` and the same rows to a CSV beside it (same stem,
``.csv``), both atomically. ``checkpoint`` is ``{"path", "step", "which",
"weights"}`` for a checkpoint (``--which=auto`` reads ``best/`` of a
fidelity-only run and the latest checkpoint of a GAN run) and
``{"baseline": name}`` for a baseline. ``psnr_y_std`` is the population (ddof=0) standard deviation of the
per-image PSNR-Y (001_* Table 1's PSD row); ``l1_y`` the mean absolute error of
the luma in [0, 1] on the region PSNR-Y is computed on (001_* Table 2). The protocol is
:mod:`jaxrestore.evaluation`'s. ``--baseline=bicubic`` follows the published
Y-channel bicubic rows; ``--baseline=bicubic_rgb`` upsamples the uint8 RGB LR
exactly as a model receives it. ``--task=jpeg`` compresses each clean image's
luma at ``--quality`` and scores the restoration on it (000_* Table 1);
``--baseline=jpeg`` is the plain-JPEG row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from absl import flags

from jaxrestore.evaluation import report
from jaxrestore.evaluation.protocols import protocol
from jaxrestore.evaluation.restorers import describe_source
from jaxrestore.runtime.cli import reject_arguments, run_app, run_cli
from jaxrestore.training.runs import checkpoint_to_evaluate

FLAGS = flags.FLAGS

flags.DEFINE_string("task", "sr", "Restoration task to evaluate: sr (super-resolution) or jpeg (artifact removal).")
flags.DEFINE_string("baseline", None, "Classical baseline to score instead of a checkpoint "
                    "(sr: bicubic, bicubic_rgb; jpeg: jpeg).")
flags.DEFINE_string("checkpoint", None, "Run directory of a trained model to score.")
flags.DEFINE_string("which", "auto", "Which checkpoint of the run: best (validation PSNR-Y), latest, or auto "
                    "(best for a fidelity-only run, latest for a GAN run).")
flags.DEFINE_bool("ema", False, "Use the exponential moving average of the generator weights.")
flags.DEFINE_integer("scale", None, "sr: upscaling factor; required for a baseline, checked against a checkpoint.")
flags.DEFINE_integer("quality", None, "jpeg: JPEG quality factor (1-100); required for a baseline, checked "
                     "against a checkpoint.")
flags.DEFINE_multi_string("data", [], "Folder of HR images; repeat for several folders.")
flags.DEFINE_string("output", None, "JSON file for the results; a CSV with the same stem is written beside it.")
flags.DEFINE_bool("progress", True, "Print a line per image while evaluating.")
flags.DEFINE_list("metrics", ["psnr", "ssim"], "Columns beyond PSNR-Y/SSIM-Y/L1-Y (always computed): niqe "
                  "(needs --niqe_model), ma (Ma et al.'s score, needs --ma_model) and pi (the perceptual index "
                  "((10 - Ma) + NIQE) / 2, needs both; adds the niqe and ma columns).")
flags.DEFINE_enum("table", None, ["001"], "Also print (and write beside --output as .md) the results in a "
                  "paper's table layout: 001 = 001_* Table 1 (PI, SSIM, PSNR, PSD per set; NIQE as well).")
flags.DEFINE_string("niqe_model", None, "NIQE's published pristine model: a .npz or .mat file holding its mean and "
                    "covariance (BasicSR's basicsr/metrics/niqe_pris_params.npz, Mittal et al.'s "
                    "modelparameters.mat); default $JAXRESTORE_NIQE_MODEL.")
flags.DEFINE_string("ma_model", None, "Ma et al.'s trained regression model: the model.mat of their release "
                    "(three regression forests and the linear weights; see docs/evaluation.md); default "
                    "$JAXRESTORE_MA_MODEL.")


def run(
    *,
    task: str,
    baseline: str | None,
    checkpoint: str | None,
    scale: int | None = None,
    quality: int | None = None,
    data: Sequence[str],
    output: str | None,
    progress: bool = True,
    metrics: Sequence[str] = ("psnr", "ssim"),
    niqe_model: str | None = None,
    table: str | None = None,
    ma_model: str | None = None,
    which: str = "auto",
    ema: bool = False,
) -> dict[str, dict]:
    """Everything the command does, as a function: returns the per-folder summary."""
    no_reference = report.check_request(task=task, scale=scale, quality=quality, baseline=baseline,
                                        checkpoint=checkpoint, data=data, output=output, metrics=metrics,
                                        niqe_model=niqe_model, ma_model=ma_model)
    option = {"scale": scale, "quality": quality}[protocol(task).option]
    if baseline is not None:
        restorer, source = report.baseline_restorer(task, baseline, option), {"baseline": baseline}
    else:
        restorer = checkpoint_to_evaluate(checkpoint, task=task, option=option, which=which, ema=ema)
        source = restorer.source
        print(f"scoring {describe_source(source)}", flush=True)
    return report.score_and_report(restorer, source, task=task, data=data, output=output, no_reference=no_reference,
                                   progress=progress, table=table, label=baseline or Path(checkpoint).name)


def main(argv: Sequence[str]) -> None:
    reject_arguments(argv, "jaxrestore.evaluate")
    run(task=FLAGS.task, baseline=FLAGS.baseline, checkpoint=FLAGS.checkpoint, scale=FLAGS.scale,
        quality=FLAGS.quality, data=FLAGS.data, output=FLAGS.output, progress=FLAGS.progress, metrics=FLAGS.metrics,
        niqe_model=FLAGS.niqe_model, table=FLAGS.table, ma_model=FLAGS.ma_model, which=FLAGS.which, ema=FLAGS.ema)


if __name__ == "__main__":
    run_app(lambda argv: run_cli(lambda: main(argv)))
