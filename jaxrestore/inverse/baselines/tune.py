"""Chooses a baseline's settings on a validation split: runs the experiment command of either
paper with one method over a grid of config values and prints the scores of each point.

    python -m jaxrestore.inverse.baselines.tune --config=configs/gan_prior.py:task=denoise \\
        --method=tv --grid=baselines.tv.weight=0.03,0.05,0.1,0.2 \\
        --data=folder:../shared/data/CelebA64[18800:18850] --output=runs/tune/denoise_tv.json

``--grid`` may be given several times (the product of the values is run); any other
``--config.a.b=value`` override applies to every point. Each point is the same code path as
the command (:func:`jaxrestore.inverse.experiment.run_gan_prior` or
:func:`jaxrestore.inverse.iagan_experiment.run_iagan` with ``methods=METHOD``), in a
temporary workdir; the table printed and written to ``--output`` (JSON) ranks the points by
PSNR (``psnr``: 002_*'s mean of per-image PSNRs; 003_*'s PSNR of the mean MSE). The
validation images must not be the test images: the README's tables use
CelebA64[18000:18200] for testing and choose settings on CelebA64[18800:18850].
"""

from __future__ import annotations

import itertools
import json
import tempfile

from absl import flags, logging
from ml_collections import config_flags

from jaxrestore.errors import ConfigError, reject_arguments, run_app, run_cli

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


def parse_grid(specs: list[str]) -> list[tuple[str, list]]:
    """``["a.b=1,2", "c=x"]`` -> ``[("a.b", [1.0, 2.0]), ("c", ["x"])]`` (numbers as floats)."""
    grid = []
    for spec in specs:
        field, sep, values = spec.partition("=")
        if not sep or not values:
            raise ConfigError(f"--grid={spec!r} is not FIELD=V1,V2,...; e.g. --grid=baselines.tv.weight=0.01,0.03.")
        parsed = []
        for v in values.split(","):
            try:
                parsed.append(float(v))
            except ValueError:
                parsed.append(v)
        grid.append((field.strip(), parsed))
    return grid


def _set(config, field: str, value) -> None:
    *parents, leaf = field.split(".")
    node = config
    for name in parents:
        if name not in node:
            raise ConfigError(f"--grid field {field!r} is not in the config (no {name!r}); e.g. baselines.tv.weight.")
        node = node[name]
    if leaf not in node:
        raise ConfigError(f"--grid field {field!r} is not in the config (no {leaf!r}); e.g. baselines.tv.weight.")
    if isinstance(node[leaf], int) and not isinstance(node[leaf], bool) and float(value) == int(value):
        value = int(value)
    node[leaf] = value


def tune(config, method: str, grid: list[tuple[str, list]], data: str) -> list[dict]:
    """Scores of ``method`` at every point of ``grid`` on ``data``, best first."""
    if config.method == "gan_prior":
        from jaxrestore.inverse.experiment import run_gan_prior as run
    elif config.method == "iagan":
        from jaxrestore.inverse.iagan_experiment import run_iagan as run
    else:
        raise ConfigError(f"tune runs configs/gan_prior.py or configs/iagan.py, not a {config.method!r} config.")
    if not grid:
        raise ConfigError("give at least one --grid=FIELD=V1,V2,... to tune.")
    fields = [f for f, _ in grid]
    rows = []
    points = list(itertools.product(*(values for _, values in grid)))
    for index, point in enumerate(points):
        trial = config.copy_and_resolve_references()
        trial.methods = method
        trial.data.test = data
        for field, value in zip(fields, point):
            _set(trial, field, value)
        with tempfile.TemporaryDirectory() as workdir:
            scores = run(trial, workdir)["methods"][method]
        rows.append({**dict(zip(fields, point)), **scores})
        logging.info("point %d/%d %s: PSNR %.3f dB", index + 1, len(points), dict(zip(fields, point)),
                     scores["psnr"])
    return sorted(rows, key=lambda r: -r["psnr"])


def table(rows: list[dict], fields: list[str]) -> str:
    scores = [k for k in ("psnr", "psnr_mse", "psnr_mean", "ssim", "ps", "seconds_per_image") if k in rows[0]]
    lines = ["| " + " | ".join(fields + scores) + " |", "|" + "---|" * (len(fields) + len(scores))]
    for r in rows:
        lines.append("| " + " | ".join([f"{r[f]:g}" if isinstance(r[f], float) else str(r[f]) for f in fields]
                                       + [f"{r[s]:.4f}" for s in scores]) + " |")
    return "\n".join(lines)


def _main(argv) -> None:
    reject_arguments(argv, "jaxrestore.inverse.baselines.tune")
    if not FLAGS.method or not FLAGS.data:
        raise ConfigError("give --method=tv|lr|sparse|dip and --data=VALIDATION_IMAGES (disjoint from the test set).")
    grid = parse_grid(FLAGS.grid)
    rows = tune(FLAGS.config, FLAGS.method, grid, FLAGS.data)
    print(table(rows, [f for f, _ in grid]))
    print(f"best: {', '.join(f'{f}={rows[0][f]}' for f, _ in grid)} (PSNR {rows[0]['psnr']:.3f} dB on {FLAGS.data})")
    if FLAGS.output:
        from jaxrestore.atomic import atomic_open

        with atomic_open(FLAGS.output) as f:
            json.dump({"method": FLAGS.method, "data": FLAGS.data, "rows": rows}, f, indent=2)


def main() -> None:
    _define_flags()
    flags.mark_flags_as_required(["config"])
    run_app(lambda argv: run_cli(lambda: _main(argv)))


if __name__ == "__main__":
    main()
