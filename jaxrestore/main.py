"""Trains a method chosen by an ml-collections config, or runs a restoration experiment.

    python -m jaxrestore.main --config=configs/srgan.py:quick --workdir=runs/srgan_quick
    python -m jaxrestore.main --config=configs/srgan.py --workdir=runs/srgan \\
        --config.init_from=runs/srresnet --config.train.batch_size=32
    python -m jaxrestore.main --config=configs/gan_prior.py:task=inpaint \\
        --config.prior=runs/dcgan --workdir=runs/inpaint

``--config.a.b=value`` overrides any field; a workdir that already holds a checkpoint is
resumed. A restoration experiment's config (``configs/gan_prior.py``, ``configs/iagan.py``)
trains nothing: it restores a test set with a trained prior (:mod:`jaxrestore.inverse.experiments`).
Runs on one or many hosts (Cloud TPU VMs: start the same command on every host;
``jax.distributed`` is initialised from the environment; elsewhere ``--multihost
--coordinator_address=HOST0:PORT --num_processes=N --process_id=I``, as launch/multihost.sh
does). SIGTERM or Ctrl-C during training saves a checkpoint at the current step and exits with
status 0; rerunning resumes there. XLA's compilation cache is kept in ~/.cache/jaxrestore/xla
(``--compilation_cache``).
"""

from __future__ import annotations

import sys

import jax
from absl import flags, logging
from ml_collections import config_flags

from jaxrestore.errors import JaxRestoreError
from jaxrestore.inverse import experiments
from jaxrestore.runtime import compilation_cache
from jaxrestore.runtime.cli import fail, parse_config_flags, quiet_library_logs, reject_arguments, run_app
from jaxrestore.runtime.preemption import RunInterrupted, exit_if_background_work

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Experiment config file, e.g. configs/srgan.py[:quick].",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Run directory: checkpoints, logs, samples.")
flags.DEFINE_enum("mode", "train", ["train"], "What to do (train resumes from the workdir if possible).")
flags.DEFINE_bool("multihost", False, "Call jax.distributed.initialize() first (multi-host TPU/GPU; on "
                  "Cloud TPU VMs and SLURM the processes find each other from the environment).")
flags.DEFINE_string("coordinator_address", None, "--multihost elsewhere: host:port of process 0's coordinator.")
flags.DEFINE_integer("num_processes", None, "--multihost elsewhere: how many processes take part.")
flags.DEFINE_integer("process_id", None, "--multihost elsewhere: this process's index, 0 .. num_processes-1.")
flags.DEFINE_string("compilation_cache", None, "XLA's persistent compilation cache directory, or 'off' "
                    "(default: $JAXRESTORE_COMPILATION_CACHE, else ~/.cache/jaxrestore/xla).")


def _main(argv) -> None:
    quiet_library_logs()
    reject_arguments(argv, "jaxrestore.main")
    compilation_cache.enable(FLAGS.compilation_cache)
    if FLAGS.multihost:
        jax.distributed.initialize(coordinator_address=FLAGS.coordinator_address, num_processes=FLAGS.num_processes,
                                   process_id=FLAGS.process_id)
    logging.info("JAX process %d/%d, devices: %s", jax.process_index(), jax.process_count(), jax.devices())
    experiment = experiments.for_config(FLAGS.config)
    if experiment is not None:  # restoration with a trained prior, no training
        print(experiment.final_line(experiment.run(FLAGS.config, FLAGS.workdir), FLAGS.workdir))
        return
    # local: the training loop's metric writers (clu) import TensorFlow, which an experiment never needs
    from jaxrestore import train

    print(train.final_line(train.train_and_evaluate(FLAGS.config, FLAGS.workdir), FLAGS.workdir))


def main(argv) -> None:
    try:
        _main(argv)
    except JaxRestoreError as err:
        fail(str(err))
    except RunInterrupted as stopped:  # SIGTERM / Ctrl-C in a training loop or an experiment: saved, resumable
        print(stopped)
        exit_if_background_work(0)  # stopped during a compile, which cannot be cancelled
    except KeyboardInterrupt:  # Ctrl-C outside the loop (or a second one): nothing more to save
        print("error: interrupted at once, so nothing was saved now; what a run saved before (its last "
              "checkpoint, an experiment's finished images) stays, and rerunning the command resumes from it.",
              file=sys.stderr)
        exit_if_background_work(130)
        raise SystemExit(130) from None


def run() -> None:
    flags.mark_flags_as_required(["config", "workdir"])
    run_app(main, flags_parser=parse_config_flags)


if __name__ == "__main__":
    run()
