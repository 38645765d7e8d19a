"""The evaluate command's report: the no-reference metrics asked for, the table it prints, 001_*
Table 1's layout, and the results it writes (``--output``: JSON, the same rows as CSV, and the
table as Markdown with ``--table``) through :mod:`jaxrestore.runtime.results`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from jaxrestore.errors import ConfigError
from jaxrestore.evaluation.protocols import PROTOCOLS, protocol
from jaxrestore.evaluation.scoring import evaluate_folders
from jaxrestore.imaging.io import list_images
from jaxrestore.metrics import ma, niqe
from jaxrestore.runtime.results import write_results

COLUMNS = ("folder", "images", "psnr_y", "psnr_y_std", "ssim_y", "l1_y")
FIGURES = COLUMNS[2:]  # the per-folder numbers, in JSON and CSV order
SOURCE_COLUMNS = ("baseline", "checkpoint", "step", "which", "weights")  # what was scored, in the CSV
OPTION_FLAGS = ("scale", "quality")  # the protocols' options, flags of the command


KNOWN_METRICS = ("psnr", "ssim", "niqe", "ma", "pi")
NO_REFERENCE = ("niqe", "ma", "pi")  # their order in the tables, and the order they are computed in


def no_reference_metrics(metrics: Sequence[str], niqe_model: str | None, task: str,
                         ma_model: str | None = None) -> dict:
    """``{column: fn(restored luma, scores so far)}`` for the requested no-reference metrics: NIQE,
    Ma et al.'s score and PI = ((10 - Ma) + NIQE) / 2 (which brings the other two columns with it)."""
    unknown = [m for m in metrics if m not in KNOWN_METRICS]
    if unknown:
        raise ConfigError(f"unknown --metrics entry {unknown[0]!r}; choose from {', '.join(KNOWN_METRICS)}.")
    wanted = set(metrics) | ({"niqe", "ma"} if "pi" in metrics else set())
    if not wanted & set(NO_REFERENCE):
        return {}
    if not protocol(task).perceptual_metrics:
        tasks = ", ".join(f"--task={name}" for name, p in PROTOCOLS.items() if p.perceptual_metrics)
        raise ConfigError(f"NIQE, Ma and PI are reported for {tasks} (001_* Table 1); drop "
                          f"{', '.join(m for m in NO_REFERENCE if m in metrics)} from --metrics.")
    # column -> (the flag's value, its environment variable, the sentence without it, loader, score)
    sources = {
        "niqe": (niqe_model, "JAXRESTORE_NIQE_MODEL", "NIQE needs its published pristine model (PI needs NIQE): "
                 "pass --niqe_model=FILE (e.g. BasicSR's basicsr/metrics/niqe_pris_params.npz or Mittal et al.'s "
                 "modelparameters.mat; see docs/evaluation.md).", niqe.load_pristine_model, niqe.niqe),
        "ma": (ma_model, "JAXRESTORE_MA_MODEL", "PI = ((10 - Ma) + NIQE) / 2 needs Ma et al.'s trained model, which "
               "cannot be downloaded here: pass --ma_model=FILE (the model.mat of their release; see "
               "docs/evaluation.md), or ask for --metrics=niqe alone.", ma.load_model, ma.ma_score),
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


def csv_rows(summary: dict[str, dict]) -> tuple[list[str], list[list]]:
    """The CSV's header and one row per folder: the figures, the no-reference columns computed, and
    what was scored."""
    extra = [k for k in NO_REFERENCE if any(k in row for row in summary.values())]
    rows = []
    for name, row in summary.items():
        source = dict(row["checkpoint"])
        source["checkpoint"] = source.pop("path", "")
        rows.append([name, row["images"], *(repr(row[key]) for key in (*FIGURES, *extra)),
                     *(source.get(key, "") for key in SOURCE_COLUMNS)])
    return [*COLUMNS, *extra, *SOURCE_COLUMNS], rows


def output_paths(output: str | None) -> tuple[Path, Path] | None:
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


def check_request(*, task: str, scale: int | None, quality: int | None, baseline: str | None,
                  checkpoint: str | None, data: Sequence[str], output: str | None, metrics: Sequence[str],
                  niqe_model: str | None, ma_model: str | None) -> dict:
    """Everything that can be refused before a model is loaded: the option flags of ``task``, one of
    baseline or checkpoint, the folders (a wrong path fails here), ``--output`` and the
    no-reference metrics. Returns the no-reference metric functions."""
    chosen = protocol(task)
    given = {"scale": scale, "quality": quality}
    for flag in OPTION_FLAGS:
        if flag != chosen.option and given[flag] is not None:
            raise ConfigError(f"--{flag} does not apply to --task={task}; pass --{chosen.option} instead.")
    if (baseline is None) == (checkpoint is None):
        raise ConfigError("pass exactly one of --baseline or --checkpoint to say what to evaluate.")
    if not data:
        raise ConfigError("no --data folder given; pass --data=DIR (repeat for several folders).")
    output_paths(output)
    no_reference = no_reference_metrics(metrics, niqe_model, task, ma_model)
    for folder in data:
        list_images(folder)  # a wrong path fails before a model is loaded
    return no_reference


def baseline_restorer(task: str, baseline: str, option: int | None):
    """The classical baseline ``--baseline`` of ``task``'s protocol at ``--scale``/``--quality``."""
    chosen = protocol(task)
    baselines = chosen.cli_baselines()
    if baseline not in baselines:
        raise ConfigError(f"unknown --baseline={baseline!r} for --task={task}; choose one of {', '.join(baselines)}.")
    if option is None:
        raise ConfigError(f"--baseline={baseline} needs --{chosen.option}; pass e.g. "
                          f"--{chosen.option}={chosen.option_example}.")
    return baselines[baseline](option)


def score_and_report(restorer, source: dict, *, task: str, data: Sequence[str], output: str | None,
                     no_reference: dict, progress: bool = True, table: str | None = None,
                     label: str = "") -> dict[str, dict]:
    """Scores ``restorer`` on the folders, prints the table (and 001_*'s layout with
    ``table="001"``) and writes ``output``; returns the per-folder summary."""
    results = evaluate_folders(restorer, data, task=task, progress=progress, no_reference=no_reference)
    summary = {name: {**{key: r[key] for key in (*FIGURES, *no_reference)}, "images": r["images"],
                      "checkpoint": source}
               for name, r in results.items()}
    print(format_table(summary), flush=True)
    markdown = None
    if table == "001":
        markdown = table_001(summary, label)
        print(markdown, end="", flush=True)
    outputs = output_paths(output)
    if outputs is not None:
        header, rows = csv_rows(summary)
        written = write_results(outputs[0], summary, header=header, rows=rows, markdown=markdown)
        print(f"wrote {', '.join(map(str, written[:-1]))} and {written[-1]}", flush=True)
    return summary
