"""What every command line shares: one sentence and exit status 2 for a person's mistake, quiet
library logs, ``--help`` exiting 0, refused stray arguments, and the checks of
``--config=FILE[:PRESET]`` and its ``--config.a.b=value`` overrides before anything runs.

A :class:`~jaxrestore.errors.JaxRestoreError` carries one sentence naming the problem and the
fix; :func:`run_cli` prints it as ``error: ...`` and exits with status 2 instead of showing a
traceback.
"""

from __future__ import annotations

import ast
import difflib
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from absl import app, flags, logging

from jaxrestore.errors import ConfigError, JaxRestoreError
from jaxrestore.runtime import compilation_cache
from jaxrestore.runtime.configs import flat_config, load_config_file
from jaxrestore.runtime.storage import storage_error_reason


class _QuietLibraries:
    """Drops INFO records of orbax/grain bookkeeping, and orbax's tracebacks of a checkpoint write
    that failed for lack of space or permission (``checkpoints.explained_write_errors`` reports
    those in one line); their other warnings and errors pass."""

    def filter(self, record) -> bool:
        noisy = "/orbax/" in record.pathname or "/grain/" in record.pathname
        if not noisy:
            return True
        if record.exc_info and storage_error_reason(record.exc_info[1]):
            return False
        return record.levelno > 20


def quiet_library_logs() -> None:
    """Keeps the command-line tools' stderr to their own messages (idempotent)."""
    handler = logging.get_absl_handler()
    if not any(isinstance(f, _QuietLibraries) for f in handler.filters):
        handler.addFilter(_QuietLibraries())


def fail(message: str) -> None:
    """Prints ``error: <message>`` on stderr and exits with status 2."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def run_cli(main: Callable[[], object], *, cache: bool = True) -> None:
    """Runs ``main`` with quiet library logs and (``cache``) XLA's persistent compilation cache
    on; a :class:`JaxRestoreError` becomes one line on stderr and exit 2."""
    quiet_library_logs()
    if cache:
        compilation_cache.enable()
    try:
        main()
    except JaxRestoreError as err:
        fail(str(err))


HELP_FLAGS = ("-h", "-help", "--help", "--helpshort", "--helpfull", "-?")


def run_app(main: Callable, **app_run_kwargs) -> None:
    """``absl.app.run(main)`` with conventional exit codes: ``--help`` prints the flags and exits
    0 (absl exits 1)."""
    wants_help = any(arg in HELP_FLAGS for arg in sys.argv[1:])
    try:
        app.run(main, **app_run_kwargs)
    except SystemExit as exit_:
        if wants_help and exit_.code in (1, None):
            raise SystemExit(0) from None
        raise


def reject_arguments(argv, command: str) -> None:
    """A command that takes only --flags refuses positional arguments (exit 2, one line)."""
    if len(argv) > 1:
        raise ConfigError(f"unexpected argument(s) {' '.join(argv[1:])!r}: every option of {command} is a "
                          f"--flag; see `python -m {command} --help`.")


# -- --config=FILE[:PRESET] and its --config.a.b=value overrides -----------------------------

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
OVERRIDE_PREFIXES = ("--config.", "--noconfig.")  # --noconfig.a.b sets a boolean field to False


def config_argument(argv: Sequence[str]) -> str | None:
    """The value of ``--config=FILE[:PRESET]`` in ``argv``, or None."""
    return next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)


def config_fields(argv: Sequence[str]) -> list[str] | None:
    """Every dotted field of the config that ``--config=FILE[:PRESET]`` names, without overrides
    (None if it cannot be loaded: absl's loading then reports why)."""
    spec = config_argument(argv)
    if not spec:
        return None
    path, _, preset = spec.partition(":")
    try:
        config = load_config_file(path, preset or None, module_name="_config_for_checks")
    except Exception:  # noqa: BLE001 - only for the check; absl's loading reports the error itself
        return None
    return list(flat_config(config.to_dict()))


def fields_listed_in(argv: Sequence[str]) -> str:
    """Where the fields of the ``--config`` file are explained: its own docstring when it has a
    ``Fields`` section (the restoration experiments), else ``configs/common.py`` (training)."""
    path = (config_argument(argv) or "").partition(":")[0]
    try:
        doc = ast.get_docstring(ast.parse(Path(path).read_text())) or ""
    except (OSError, SyntaxError, ValueError):
        doc = ""
    return f"the docstring of {path}" if re.search(r"^Fields\b", doc, re.M) else "configs/common.py"


def unknown_field_message(flag: str, field: str, fields: Sequence[str],
                          listed_in: str = "configs/common.py") -> str:
    """One sentence for a ``--config.*`` flag naming a field the config lacks, with suggestions."""
    name = field.split(".")[-1]
    known = set(fields)
    guesses = [f for f in FIELD_SYNONYMS.get(name, ()) if f in known]
    if name in ("learning_rate", "lr"):  # this config's learning rates, those of the flag's own section first
        section = field.rpartition(".")[0]
        rates = [f for f in fields if f.split(".")[-1] == "lr" or f.endswith("_lr")]
        guesses += sorted((f for f in rates if f not in guesses), key=lambda f: not f.startswith(section + "."))
    guesses += [f for f in difflib.get_close_matches(field, fields, n=3, cutoff=0.6) if f not in guesses]
    guesses += [f for f in fields if f.split(".")[-1] == name and f not in guesses]
    hint = f"; did you mean {' or '.join(guesses[:3])}?" if guesses else ""
    return f"unknown config field {field!r} in {flag}{hint} (the fields are listed in {listed_in})."


def check_config_overrides(argv: Sequence[str]) -> None:
    """Refuses a ``--config.a.b`` override of a field the loaded config does not have (one
    sentence, with suggestions), before absl applies any override."""
    overrides = [(name, name[len(prefix):]) for name in (a.split("=", 1)[0] for a in argv[1:])
                 for prefix in OVERRIDE_PREFIXES if name.startswith(prefix)]
    fields = config_fields(argv) if overrides else None
    if not fields:
        return
    known = set(fields)
    for flag, field in overrides:
        if field not in known:
            raise ConfigError(unknown_field_message(flag.replace("--noconfig.", "--config."), field, fields,
                                                    fields_listed_in(argv)))


def check_override_order(argv: Sequence[str]) -> None:
    """Refuses a ``--config.a.b`` override placed before ``--config=FILE``, which absl cannot apply."""
    first = next((i for i, a in enumerate(argv) if a.startswith("--config=")), None)
    if first is None:
        return
    early = next((a for a in argv[1:first] if a.startswith(OVERRIDE_PREFIXES)), None)
    if early is not None:
        raise ConfigError(f"{early.split('=', 1)[0]} comes before --config={config_argument(argv)}; put "
                          "--config=FILE first, then the --config.* overrides of its fields.")


def parse_config_flags(argv: Sequence[str]) -> list[str]:
    """Parses ``argv`` with absl's flags (which loads the config file and applies the overrides),
    for ``absl.app.run(..., flags_parser=parse_config_flags)``; a mistake is one line and exit 2."""
    config_arg = config_argument(argv) or "?"
    try:
        check_override_order(argv)
        check_config_overrides(argv)
        rest = flags.FLAGS(argv)
        if flags.FLAGS["config"].value is not None:
            flags.FLAGS.config.keys()  # the config file loads lazily: surface a bad path here
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
    except (AttributeError, KeyError) as err:
        text = " ".join(str(err).replace("\\n", " ").replace("\\", "").split())
        message = f"unknown config field in a --config.* flag ({text}); see configs/common.py"
    except (flags.Error, TypeError, ValueError) as err:
        message = "bad flag: " + " ".join(str(err).replace("\\n", " ").replace("\\", "").split())
    fail(f"{message.rstrip('.')}.")
