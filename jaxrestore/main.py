"""Trains a method chosen by an ml-collections config.

    python -m jaxrestore.main --config=configs/srgan.py:quick --workdir=runs/srgan_quick
    python -m jaxrestore.main --config=configs/srgan.py --workdir=runs/srgan \\
        --config.init_from=runs/srresnet --config.train.batch_size=32
    python -m jaxrestore.main --config=configs/gan_prior.py:task=inpaint \\
        --config.prior=runs/dcgan --workdir=runs/inpaint

``--config.a.b=value`` overrides any field; a workdir that already holds a
checkpoint is resumed. A GAN-prior config (``method = "gan_prior"``) trains nothing: it
restores a test set with a trained prior (jaxrestore/inverse/experiment.py). Runs on one or many hosts (Cloud TPU VMs: start the same
command on every host; ``jax.distributed`` is initialised from the environment; elsewhere
``--multihost --coordinator_address=HOST0:PORT --num_processes=N --process_id=I``, as
launch/multihost.sh does). SIGTERM or Ctrl-C during training saves a checkpoint at the
current step and exits with status 0; rerunning resumes there. XLA's compilation cache is
kept in ~/.cache/jaxrestore/xla (``--compilation_cache``).
"""

from __future__ import annotations

import re
import sys

from absl import flags, logging
from ml_collections import config_flags

from jaxrestore.errors import JaxRestoreError, quiet_library_logs, reject_arguments, run_app

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
    import jax

    from jaxrestore import compilation_cache

    compilation_cache.enable(FLAGS.compilation_cache)
    if FLAGS.multihost:
        jax.distributed.initialize(coordinator_address=FLAGS.coordinator_address, num_processes=FLAGS.num_processes,
                                   process_id=FLAGS.process_id)
    logging.info("JAX process %d/%d, devices: %s", jax.process_index(), jax.process_count(),
                 jax.devices())
    if FLAGS.config.get("method") in EXPERIMENTS:  # restoration with a trained prior, no training
        run, line = EXPERIMENTS[FLAGS.config.method]()
        print(line(run(FLAGS.config, FLAGS.workdir), FLAGS.workdir))
        return
    from jaxrestore.train import train_and_evaluate

    metrics = train_and_evaluate(FLAGS.config, FLAGS.workdir)
    print(final_line(metrics, FLAGS.workdir))


def _gan_prior():
    from jaxrestore.inverse import experiment

    return experiment.run_gan_prior, experiment.final_line


def _iagan():
    from jaxrestore.inverse import iagan_experiment

    return iagan_experiment.run_iagan, iagan_experiment.final_line


# Methods that run an experiment with trained models instead of training one: name -> (run, final line).
EXPERIMENTS = {"gan_prior": _gan_prior, "iagan": _iagan}


def final_line(metrics: dict, workdir: str) -> str:
    """The last line a run prints: the model's and the task's baseline's (bicubic for SR, plain
    JPEG for artifact removal) PSNR-Y/SSIM-Y on the held-out images; a GAN prior's run
    names its sample grids instead."""
    if "eval/psnr_y" not in metrics:  # no held-out images (eval.data empty), or a GAN prior's samples
        return f"training done; checkpoints (and sample grids, if any) in {workdir}"
    baseline = next(k[len("eval/"):-len("_psnr_y")] for k in metrics
                    if k.startswith("eval/") and k.endswith("_psnr_y") and k != "eval/psnr_y")
    return (f"final eval: PSNR-Y {metrics['eval/psnr_y']:.3f} dB ({baseline} "
            f"{metrics[f'eval/{baseline}_psnr_y']:.3f}), SSIM-Y {metrics['eval/ssim_y']:.4f} "
            f"({baseline} {metrics[f'eval/{baseline}_ssim_y']:.4f}); outputs in {workdir}")


def main(argv) -> None:
    from jaxrestore.preemption import TrainingInterrupted

    try:
        _main(argv)
    except JaxRestoreError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except TrainingInterrupted as stopped:  # SIGTERM / Ctrl-C in the loop: saved, resumable
        print(stopped)
    except KeyboardInterrupt:  # Ctrl-C before the first step or after the last: nothing to save
        print("error: interrupted before the training loop ran a step (or after it finished); "
              "no checkpoint was written now, and rerunning the command resumes from the last one.",
              file=sys.stderr)
        raise SystemExit(130) from None


# Names a user guesses for a field, and the fields they mean.
FIELD_SYNONYMS = {
    "learning_rate": ("optimizer.g_lr", "optimizer.d_lr"),
    "lr": ("optimizer.g_lr", "optimizer.d_lr"),
    "g_learning_rate": ("optimizer.g_lr",),
    "d_learning_rate": ("optimizer.d_lr",),
    "steps": ("train.num_steps",),
    "num_train_steps": ("train.num_steps",),
    "checkpoint_every_steps": ("train.checkpoint_every",),
    "eval_every_steps": ("train.eval_every",),
    "log_every_steps": ("train.log_every",),
    "batch": ("train.batch_size",),
}


def _config_fields(argv) -> list[str]:
    """Every dotted field of the config that ``--config=FILE[:PRESET]`` names, without overrides
    ([] if it cannot be loaded)."""
    import importlib.util

    spec_arg = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)
    if not spec_arg:
        return []
    path, _, preset = spec_arg.partition(":")
    try:
        spec = importlib.util.spec_from_file_location("_config_for_suggestions", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        config = module.get_config(preset) if preset else module.get_config()
    except Exception:  # noqa: BLE001 - only for a suggestion; the error itself is reported anyway
        return []
    from jaxrestore.checkpoints import flat_config

    return list(flat_config(config.to_dict()))


def unknown_field_message(name: str, argv) -> str:
    """One sentence for a ``--config.*`` flag naming a field the config lacks, with suggestions."""
    import difflib

    flag = next((a.split("=", 1)[0] for a in argv if a.startswith("--config.")
                 and a.split("=", 1)[0].split(".")[-1] == name), None)
    full = flag[len("--config."):] if flag else name
    fields = _config_fields(argv)
    guesses = list(FIELD_SYNONYMS.get(name, ()))
    guesses += [f for f in difflib.get_close_matches(full, fields, n=3, cutoff=0.6) if f not in guesses]
    guesses += [f for f in fields if f.split(".")[-1] == name and f not in guesses]
    hint = f"; did you mean {' or '.join(guesses[:3])}?" if guesses else ""
    where = f" in {flag}" if flag else " in a --config.* flag"
    return f"unknown config field {full!r}{where}{hint} (the fields are listed in configs/common.py)"


def _parse_flags(argv):
    """Parses flags (which loads the config file and applies overrides); a mistake is one line."""
    config_arg = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), "?")
    try:
        rest = FLAGS(argv)
        if FLAGS.config is not None:
            FLAGS.config.keys()  # the config file loads lazily: surface a bad path here
        return rest
    except JaxRestoreError as err:
        message = str(err)
    except SyntaxError as err:
        message = (f"cannot load the config file {config_arg!r}: it is not a Python config file (syntax "
                   f"error at line {err.lineno}); pass one of configs/*.py, optionally with :PRESET")
    except OSError as err:
        reason = "no such file" if "No such file" in str(err) else " ".join(str(err).split())[:200]
        message = (f"cannot load the config file {config_arg!r} ({reason}); pass one of configs/*.py, "
                   "optionally with :PRESET")
    except (flags.Error, AttributeError, KeyError, TypeError, ValueError) as err:
        text = " ".join(str(err).replace("\\n", " ").replace("\\", "").split())
        guess = re.search(r'Did you mean "(\w+)" instead of "(\w+)"', text)
        missing = re.search(r"""^["']*(\w+)["']*$""", text)
        if guess:
            message = (f"unknown config field {guess.group(2)!r} in a --config.* flag (did you mean "
                       f"{guess.group(1)!r}?); the fields are listed in configs/common.py")
        elif isinstance(err, (AttributeError, KeyError)) and missing:
            message = unknown_field_message(missing.group(1), argv)
        elif isinstance(err, (AttributeError, KeyError)):
            message = f"unknown config field in a --config.* flag ({text}); see configs/common.py"
        else:
            message = f"bad flag: {text}"
    print(f"error: {message.rstrip('.')}.", file=sys.stderr)
    raise SystemExit(2)


def run() -> None:
    flags.mark_flags_as_required(["config", "workdir"])
    run_app(main, flags_parser=_parse_flags)


if __name__ == "__main__":
    run()
