"""Chooses a baseline's settings on a validation split (the experiments' ``baselines.*`` fields).

    python -m jaxrestore.tune --config=configs/gan_prior.py:task=denoise \\
        --method=tv --grid=baselines.tv.weight=0.03,0.05,0.1,0.2 \\
        --data=folder:../shared/data/CelebA64[18800:18850] --output=runs/tune/denoise_tv.json

Runs the experiment of the config with one method over a grid of config values and prints the
scores of each point, best first (:mod:`jaxrestore.inverse.experiments.tune`). The former path
``python -m jaxrestore.inverse.baselines.tune`` runs this command too.
"""

from __future__ import annotations

from absl import flags
from ml_collections import config_flags

from jaxrestore.errors import ConfigError
from jaxrestore.inverse.experiments.tune import parse_grid, report
from jaxrestore.runtime.cli import parse_config_flags, reject_arguments, run_app, run_cli

FLAGS = flags.FLAGS


def _define_flags() -> None:
    """Defined when the command runs, not at import (``jaxrestore.main`` defines ``--config``
    too, and a process that imports both, e.g. the test suite, must not define it twice)."""
    config_flags.DEFINE_config_file("config", None, "configs/gan_prior.py:task=... or configs/iagan.py:task=...",
                                    lock_config=False)
    flags.DEFINE_string("method", None, "The baseline to tune: tv, lr, sparse or dip.")
    flags.DEFINE_multi_string("grid", [], "FIELD=V1,V2,... (a config field, e.g. baselines.tv.weight); "
                              "repeatable.")
    flags.DEFINE_string("data", None, "The validation images (a data.test spec), disjoint from the test images.")
    flags.DEFINE_string("output", "", "Also write the table as JSON here.")


def _main(argv) -> None:
    reject_arguments(argv, "jaxrestore.tune")
    if not FLAGS.method or not FLAGS.data:
        raise ConfigError("give --method=tv|lr|sparse|dip and --data=VALIDATION_IMAGES (disjoint from the test set).")
    report(FLAGS.config, FLAGS.method, parse_grid(FLAGS.grid), FLAGS.data, FLAGS.output)


def main() -> None:
    _define_flags()
    flags.mark_flags_as_required(["config"])
    run_app(lambda argv: run_cli(lambda: _main(argv)), flags_parser=parse_config_flags)


if __name__ == "__main__":
    main()
