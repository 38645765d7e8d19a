"""Trains a method chosen by an ml-collections config.

    python -m jaxrestore.main --config=configs/srgan.py:quick --workdir=runs/srgan_quick
    python -m jaxrestore.main --config=configs/srgan.py --workdir=runs/srgan \\
        --config.init_from=runs/srresnet --config.train.batch_size=32

``--config.a.b=value`` overrides any field; a workdir that already holds a
checkpoint is resumed. Runs on one or many hosts (Cloud TPU VMs: start the same
command on every host; ``jax.distributed`` is initialised from the environment).
"""

from __future__ import annotations

import sys

from absl import app, flags, logging
from ml_collections import config_flags

from jaxrestore.errors import JaxRestoreError

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Experiment config file, e.g. configs/srgan.py[:quick].",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Run directory: checkpoints, logs, samples.")
flags.DEFINE_enum("mode", "train", ["train"], "What to do (train resumes from the workdir if possible).")
flags.DEFINE_bool("multihost", False, "Call jax.distributed.initialize() first (multi-host TPU/GPU).")


def _main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    import jax

    if FLAGS.multihost:
        jax.distributed.initialize()
    logging.info("JAX process %d/%d, devices: %s", jax.process_index(), jax.process_count(),
                 jax.devices())
    from jaxrestore.train import train_and_evaluate

    metrics = train_and_evaluate(FLAGS.config, FLAGS.workdir)
    if metrics:
        print(f"final eval: PSNR-Y {metrics['eval/psnr_y']:.3f} dB "
              f"(bicubic {metrics['eval/bicubic_psnr_y']:.3f}), SSIM-Y {metrics['eval/ssim_y']:.4f} "
              f"(bicubic {metrics['eval/bicubic_ssim_y']:.4f}); outputs in {FLAGS.workdir}")


def main(argv) -> None:
    try:
        _main(argv)
    except JaxRestoreError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def run() -> None:
    flags.mark_flags_as_required(["config", "workdir"])
    try:
        app.run(main)
    except flags.Error as err:  # bad --config.* override or config file
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    run()
