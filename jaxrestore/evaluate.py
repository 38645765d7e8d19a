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

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

from absl import flags

from jaxrestore.atomic import atomic_open
from jaxrestore.errors import CheckpointError, ConfigError, reject_arguments, run_app, run_cli
from jaxrestore.evaluation import evaluate_folders
from jaxrestore.imaging.io import list_images
from jaxrestore.tasks import TASKS, evaluation_task

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
                    "(three regression forests and the linear weights; see README); default $JAXRESTORE_MA_MODEL.")

# Each task's option flag, baselines and wording come from its object in jaxrestore.tasks.
OPTION_FLAGS = ("scale", "quality")

COLUMNS = ("folder", "images", "psnr_y", "psnr_y_std", "ssim_y", "l1_y")
FIGURES = COLUMNS[2:]  # the per-folder numbers, in JSON and CSV order
SOURCE_COLUMNS = ("baseline", "checkpoint", "step", "which", "weights")  # what was scored, in the CSV


def _restorer(task: str, baseline: str | None, checkpoint: str | None, option: int | None):
    """The restorer to score; ``option`` is the task's --scale or --quality (None if not given)."""
    if (baseline is None) == (checkpoint is None):
        raise ConfigError("pass exactly one of --baseline or --checkpoint to say what to evaluate.")
    protocol = evaluation_task(task)
    name = protocol.option
    if baseline is not None:
        baselines = protocol.cli_baselines()
        if baseline not in baselines:
            raise ConfigError(f"unknown --baseline={baseline!r} for --task={task}; choose one of {', '.join(baselines)}.")
        if option is None:
            raise ConfigError(f"--baseline={baseline} needs --{name}; pass e.g. --{name}={protocol.option_example}.")
        return baselines[baseline](option)
    from jaxrestore.inference import load_restorer  # heavy: only when a checkpoint is scored

    restorer = load_restorer(checkpoint, which=FLAGS.which, ema=FLAGS.ema)
    own_task = getattr(restorer, "task", task)
    if own_task != task:
        own_label = TASKS[own_task].label if own_task in TASKS else own_task
        raise CheckpointError(
            f"checkpoint {checkpoint!r} was trained for {own_label} (task {own_task!r}), "
            f"not {protocol.label}; pass --task={own_task}.")
    own = getattr(restorer, name)
    if option is not None and option != own:
        raise CheckpointError(f"checkpoint {checkpoint!r} {protocol.option_phrase} {own} but --{name}={option}; "
                              f"drop --{name} or pass --{name}={own}.")
    return restorer


KNOWN_METRICS = ("psnr", "ssim", "niqe", "ma", "pi")
NO_REFERENCE = ("niqe", "ma", "pi")  # their order in the tables, and the order they are computed in


def no_reference_metrics(metrics: Sequence[str], niqe_model: str | None, task: str,
                         ma_model: str | None = None) -> dict:
    """``{column: fn(restored luma, scores so far)}`` for the requested no-reference metrics: NIQE,
    Ma et al.'s score and PI = ((10 - Ma) + NIQE) / 2 (which brings the other two columns with it)."""
    import os

    unknown = [m for m in metrics if m not in KNOWN_METRICS]
    if unknown:
        raise ConfigError(f"unknown --metrics entry {unknown[0]!r}; choose from {', '.join(KNOWN_METRICS)}.")
    wanted = set(metrics) | ({"niqe", "ma"} if "pi" in metrics else set())
    if not wanted & set(NO_REFERENCE):
        return {}
    if task != "sr":
        raise ConfigError(f"NIQE, Ma and PI are reported for --task=sr (001_* Table 1); drop "
                          f"{', '.join(m for m in NO_REFERENCE if m in metrics)} from --metrics.")
    from jaxrestore.metrics import ma, niqe

    # column -> (the flag's value, its environment variable, the sentence without it, loader, score)
    sources = {
        "niqe": (niqe_model, "JAXRESTORE_NIQE_MODEL", "NIQE needs its published pristine model (PI needs NIQE): "
                 "pass --niqe_model=FILE (e.g. BasicSR's basicsr/metrics/niqe_pris_params.npz or Mittal et al.'s "
                 "modelparameters.mat; see README).", niqe.load_pristine_model, niqe.niqe),
        "ma": (ma_model, "JAXRESTORE_MA_MODEL", "PI = ((10 - Ma) + NIQE) / 2 needs Ma et al.'s trained model, which "
               "cannot be downloaded here: pass --ma_model=FILE (the model.mat of their release; see README), or "
               "ask for --metrics=niqe alone.", ma.load_model, ma.ma_score),
    }
    functions = {}
    for column, (given, variable, missing, load, score) in sources.items():
        if column in wanted:
            path = given or os.environ.get(variable)
            if not path:
                raise ConfigError(missing)
            model = load(path)
            functions[column] = lambda luma, _, model=model, score=score: score(luma, model)
    if "pi" in wanted:
        functions["pi"] = lambda _, scores: ma.perceptual_index(scores["ma"], scores["niqe"])
    return functions


def write_atomically(path: Path, text: str) -> None:
    """Writes ``text`` to a temporary file beside ``path`` and renames it into place."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def format_table(summary: dict[str, dict]) -> str:
    width = max([len("folder")] + [len(name) for name in summary])
    extra = [k for k in NO_REFERENCE if any(k in row for row in summary.values())]
    lines = [f"{'folder':<{width}}  {'images':>6}  {'PSNR-Y':>8}  {'PSD':>6}  {'SSIM-Y':>6}  {'L1-Y':>7}"
             + "".join(f"  {k.upper():>6}" for k in extra)]
    for name, row in summary.items():
        lines.append(f"{name:<{width}}  {row['images']:>6d}  {row['psnr_y']:>8.4f}  {row['psnr_y_std']:>6.3f}  "
                     f"{row['ssim_y']:>6.4f}  {row['l1_y']:>7.5f}" + "".join(f"  {row[k]:>6.4f}" for k in extra))
    return "\n".join(lines)


def table_001(summary: dict[str, dict], label: str) -> str:
    """001_* Table 1's layout for one model: a column per set, rows PI, SSIM, PSNR (dB) and PSD
    (the population standard deviation of the per-image PSNR), plus NIQE and Ma when computed.
    Without Ma et al.'s model there is no PI: its row says so instead of a number."""
    sets = list(summary)
    lines = ["| | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets),
             "| | " + " | ".join(label for _ in sets) + " |"]
    if all("pi" in summary[name] for name in sets):
        lines.append("| PI | " + " | ".join(f"{summary[n]['pi']:.3f}" for n in sets) + " |")
    else:
        lines.append("| PI | " + " | ".join("n/a (needs Ma et al.'s model)" for _ in sets) + " |")
    for key, row_name in (("niqe", "NIQE"), ("ma", "Ma")):
        if all(key in summary[name] for name in sets):
            lines.append(f"| {row_name} | " + " | ".join(f"{summary[n][key]:.3f}" for n in sets) + " |")
    lines.append("| SSIM | " + " | ".join(f"{summary[n]['ssim_y']:.3f}" for n in sets) + " |")
    lines.append("| PSNR | " + " | ".join(f"{summary[n]['psnr_y']:.2f}" for n in sets) + " |")
    lines.append("| PSD | " + " | ".join(f"{summary[n]['psnr_y_std']:.3f}" for n in sets) + " |")
    return "\n".join(lines) + "\n"


def _csv_text(summary: dict[str, dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    extra = [k for k in NO_REFERENCE if any(k in row for row in summary.values())]
    writer.writerow(COLUMNS + tuple(extra) + SOURCE_COLUMNS)
    for name, row in summary.items():
        source = dict(row["checkpoint"])
        source["checkpoint"] = source.pop("path", "")
        writer.writerow([name, row["images"], *(repr(row[key]) for key in (*FIGURES, *extra)),
                         *(source.get(key, "") for key in SOURCE_COLUMNS)])
    return buffer.getvalue()


def _output_paths(output: str | None) -> tuple[Path, Path] | None:
    if output is None:
        return None
    json_path = Path(output)
    csv_path = json_path.with_suffix(".csv")
    if csv_path == json_path:
        raise ConfigError(f"--output={output!r} ends in .csv, where the CSV copy goes; name the JSON file e.g. results.json.")
    if json_path.is_dir():
        raise ConfigError(f"--output={output!r} is a folder; pass a file name such as {output.rstrip('/')}/results.json.")
    if not json_path.parent.is_dir():
        raise ConfigError(f"the folder of --output={output!r} does not exist; create it or choose another path.")
    return json_path, csv_path


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
) -> dict[str, dict]:
    """Everything the command does, as a function: returns the per-folder summary."""
    protocol = evaluation_task(task)
    given = {"scale": scale, "quality": quality}
    for flag in OPTION_FLAGS:
        if flag != protocol.option and given[flag] is not None:
            raise ConfigError(f"--{flag} does not apply to --task={task}; pass --{protocol.option} instead.")
    if (baseline is None) == (checkpoint is None):
        raise ConfigError("pass exactly one of --baseline or --checkpoint to say what to evaluate.")
    if not data:
        raise ConfigError("no --data folder given; pass --data=DIR (repeat for several folders).")
    outputs = _output_paths(output)
    no_reference = no_reference_metrics(metrics, niqe_model, task, ma_model)
    for folder in data:
        list_images(folder)  # a wrong path fails before a model is loaded
    restorer = _restorer(task, baseline, checkpoint, given[protocol.option])
    if baseline is not None:
        source = {"baseline": baseline}
    else:
        from jaxrestore.inference import describe_source

        source = restorer.source
        print(f"scoring {describe_source(source)}", flush=True)
    results = evaluate_folders(restorer, data, task=task, progress=progress, no_reference=no_reference)
    summary = {name: {**{key: r[key] for key in (*FIGURES, *no_reference)}, "images": r["images"],
                      "checkpoint": source}
               for name, r in results.items()}
    print(format_table(summary), flush=True)
    markdown = None
    if table == "001":
        label = baseline or Path(checkpoint).name
        markdown = table_001(summary, label)
        print(markdown, end="", flush=True)
    if outputs is not None:
        json_path, csv_path = outputs
        write_atomically(json_path, json.dumps(summary, indent=2) + "\n")
        write_atomically(csv_path, _csv_text(summary))
        written = f"{json_path} and {csv_path}"
        if markdown is not None:
            write_atomically(json_path.with_suffix(".md"), markdown)
            written = f"{json_path}, {csv_path} and {json_path.with_suffix('.md')}"
        print(f"wrote {written}", flush=True)
    return summary


def main(argv: Sequence[str]) -> None:
    reject_arguments(argv, "jaxrestore.evaluate")
    run(
        task=FLAGS.task,
        baseline=FLAGS.baseline,
        checkpoint=FLAGS.checkpoint,
        scale=FLAGS.scale,
        quality=FLAGS.quality,
        data=FLAGS.data,
        output=FLAGS.output,
        progress=FLAGS.progress,
        metrics=FLAGS.metrics,
        niqe_model=FLAGS.niqe_model,
        table=FLAGS.table,
        ma_model=FLAGS.ma_model,
    )


def _entry(argv: Sequence[str]) -> None:
    run_cli(lambda: main(argv))


if __name__ == "__main__":
    run_app(_entry)
