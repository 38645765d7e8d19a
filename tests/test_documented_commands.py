"""Every ``python -m jaxrestore.…`` command that README.md and docs/**/*.md show is one the code
accepts: checked without running it, one test per command (id ``FILE:LINE``), so a renamed flag,
a misspelt config field or a placeholder left in a command fails here with one sentence naming
the file, the line and the mistake instead of failing a reader.

Which files: README.md and every docs/**/*.md that exists when the tests are collected (a page
added later is picked up by itself); ``$DOCUMENTED_COMMANDS_FILES`` (paths separated by ``:``)
replaces the list, e.g. to check one page while writing it.

What counts as a command
  * A line of a fenced code block (```, ~~~, or MyST's ```{code-block} LANG / ```{code} LANG)
    whose language is none, bash, sh, shell, zsh or console (or a *-session variant); in a
    block with ``$ `` prompts only the prompted lines. Fences of other MyST directives
    (```{note} ...) hold Markdown, which is read as such. Backslash continuations are
    joined; a line is split at ``;``, ``&&``, ``||``, ``|`` and ``&``; comments and
    redirections are dropped, and so is whatever precedes ``python`` (``VAR=value``, ``env``,
    ``time``, ``srun`` ...). Only ``python[3] -m jaxrestore[.…]`` commands are checked
    (``python -m pytest``, ``pip`` and ``bash launch/...`` are not).
  * An inline code span (it may wrap lines) whose text starts with such a command, e.g.
    ``python -m jaxrestore.tune --config=...``. A span that is only a fragment
    (``--config.train.batch_size=32``, ``jaxrestore.evaluate``) is not a command.

What is checked, in code blocks and inline spans alike
  1. The module exists (jaxrestore/a/b.py or jaxrestore/a/b/__main__.py) and is a command:
     it has an ``if __name__ == "__main__":`` block that parses absl flags.
  2. Positional arguments: a command with a fixed set of sub-commands (SUBCOMMAND_TABLES:
     ``convert vgg19``, ``plot fid``) gets one of them, and only one positional; a command
     that refuses positional arguments (it imports ``runtime.cli.reject_arguments``) gets none;
     others (``restore`` FILES) take any.
  3. Every ``--flag`` (or ``-flag``, ``--noflag`` of a boolean, a short name, ``--flag VALUE``)
     is a flag of that command's absl parser, and the value of a boolean, integer, float or
     enum flag is one that absl's parser of the flag accepts (bounds included). Help flags
     and ``--flagfile``/``--undefok`` are always accepted.
  4. ``--config=FILE[:PRESET]`` loads from the repository root with the project's loader
     (jaxrestore.runtime.configs.load_config_file), preset included, and so does any other
     flag value of the form ``configs/NAME.py[:PRESET]`` (``benchmark --startup``). Its
     overrides (written ``--config.a.b=value``, or ``--[no]config.a.b`` for a boolean) pass the checks the commands run before parsing
     (runtime.cli.check_override_order and check_config_overrides: the same sentence with
     "did you mean" the command would print), and then ml_collections' config_flags parses
     them against the loaded config exactly as the command's absl parser does (a field that
     does not exist, a value of the wrong type, a bad boolean).

Code blocks are for copying, so they must also be copy-pasteable
  5. No placeholder: an ALL-CAPS word (RUN, OUT, DIR, PATH/TO, CELEBA_HQ_DIR) as a value, a
     path component, a comma-separated item or a positional argument, or an ``<angle>``
     placeholder, and no ``$VAR``, unless the block assigns the variable earlier (``RUN=runs/x``,
     ``export RUN=...``, ``for RUN in ...``; a bare ``RUN`` is still refused: the shell needs
     ``$RUN``). Exempt: NAME in a ``NAME=VALUE`` value (``--run=SRGAN=runs/srgan`` labels a
     line), data set names in NOT_PLACEHOLDERS, and the standard environment (``$HOME``).
     Assigned variables are substituted, a for loop's values one by one, with bash's
     ``${v%%pat}``, ``${v%pat}``, ``${v##pat}``, ``${v#pat}`` and ``${v:-default}``, so the checks
     above see the values the shell would pass.
  6. No ``[--optional]`` part (bash passes ``[--ema]`` on literally, and a ``|`` inside one
     starts a pipe) and no ``...``; the flags inside brackets are still checked by 3 and 4.
  7. Every flag the command's absl parser marks required (``main --config --workdir``) is given.
Inline spans sit in prose, where a synopsis is the point (``--solver=map [--images=64]``,
``--which=best|latest``, ``--data=DIR``), so 5-7 do not apply to them: brackets, ``a|b``
alternatives (each alternative is checked), ``...`` and placeholders are allowed there, and
placeholder values are not parsed; everything else is checked as in a code block.

How each command's flags are found: in one subprocess for the whole run (shared by the xdist
workers through a file under pytest's base temp directory, behind a lock), each command module
is run as ``__main__`` by runpy with ``absl.flags.FlagValues.__call__`` replaced by a stub that
stops the command at the moment it would parse its arguments and records the FlagValues it
was about to parse. So the table is exactly what the command's own parser knows: flags
defined at import (main, evaluate), flags defined just before parsing (restore, benchmark,
tune: they define them late precisely so that importing several commands into one process
does not clash on ``--config``/``--output``), private FlagValues (convert, plot), absl's own
flags, and the flags of the libraries it imports. Between modules the previous command's own
flags are deleted from absl's global FlagValues, so each command defines its flags afresh.
Nothing runs beyond imports and flag definitions (about 4 s of one core for all commands, where
``--helpfull`` in a process per command costs 2-3 s each and leaves help text to parse;
importing the commands into the test process instead would clash on ``--config`` and leave
their flags in the workers' absl state).

Two more tests check the checker: a synthetic page with one mistake of each kind (a misspelt
config field, an unknown module, an unknown flag, unassigned and bare placeholders, a bad
value, a wrong sub-command, brackets, a missing required flag, a loop's expanded values) must
be reported line by line, and a MyST page must be read as described above.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import fnmatch
import functools
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Commands whose first positional argument is a sub-command: module -> the dict of sub-commands.
SUBCOMMAND_TABLES = {"jaxrestore.convert": "CONVERTERS", "jaxrestore.plot": "PLOTS"}
# ALL-CAPS words that are real names (data set folders), not placeholders.
NOT_PLACEHOLDERS = {"BSD100", "BSDS100", "BSDS200", "BSDS500", "DIV2K", "PIRM", "T91", "COCO", "LIVE1", "FFHQ"}
# Environment variables a shell has without the block assigning them.
STANDARD_ENV = {"HOME", "PWD", "USER", "TMPDIR", "PATH", "SHELL", "HOSTNAME", "OLDPWD"}
SHELL_LANGUAGES = {"", "bash", "sh", "shell", "zsh", "console", "shell-session", "bash-session", "sh-session",
                   "shellsession"}
CODE_DIRECTIVES = {"code-block", "code", "sourcecode"}
HELP_FLAGS = {"help", "h", "?", "helpshort", "helpfull", "helpxml", "flagfile", "undefok"}


# -- Markdown -------------------------------------------------------------------------------

@dataclasses.dataclass
class Block:
    line: int  # 1-based line of the block's first content line
    lines: list[str]
    console: bool  # only "$ "-prompted lines are commands


_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,}|:{3,})\s*(?P<info>[^`]*)$")


def markdown_parts(text: str) -> tuple[list[Block], str]:
    """The shell code blocks of a Markdown (MyST) text, and the text with every fence and code
    line blanked (line numbers kept), in which the inline spans are looked for."""
    lines = text.split("\n")
    prose = list(lines)
    blocks: list[Block] = []
    containers: list[tuple[str, int]] = []  # open fences of directives whose content is Markdown
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        i += 1
        if not m:
            continue
        char, length, info = m["fence"][0], len(m["fence"]), m["info"].strip()
        directive = re.fullmatch(r"\{([\w:-]+)\}\s*(.*)", info)
        if not info and containers and containers[-1][0] == char and length >= containers[-1][1]:
            containers.pop()  # the end of a directive holding Markdown
            prose[i - 1] = ""
            continue
        if directive and directive[1] not in CODE_DIRECTIVES:
            containers.append((char, length))  # {note}, {admonition}, {eval-rst} ...: read what is inside
            prose[i - 1] = ""
            continue
        if char == ":" and not directive:
            continue  # a line of colons, no fence
        start = i  # a code block, up to its closing fence (or the end of the text)
        while i < len(lines) and not re.fullmatch(rf"\s*{re.escape(char)}{{{length},}}\s*", lines[i]):
            i += 1
        body = lines[start:i]
        prose[start - 1:i + 1] = [""] * len(prose[start - 1:i + 1])
        i += 1
        skip = 0
        while directive and skip < len(body) and re.match(r"\s*:[\w-]+:", body[skip]):
            skip += 1  # the options of a MyST code directive (:caption: ...)
        language = ((directive[2] if directive else info).split() or [""])[0].lower()
        if language in SHELL_LANGUAGES:
            body = body[skip:]
            console = language.endswith(("console", "session")) or any(b.lstrip().startswith("$ ") for b in body)
            blocks.append(Block(start + skip + 1, body, console))
    return blocks, "\n".join(prose)


_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_PYTHON = r"(?:\S*/)?python(?:\d+(?:\.\d+)?)?"
_STARTS_COMMAND = re.compile(rf"^(?:[A-Za-z_]\w*=\S*\s+)*{_PYTHON}\s+(?:-\S+\s+)*-m\s+jaxrestore(?:\.\w+)*(?:\s|$)")


def inline_commands(prose: str) -> Iterator[tuple[int, str]]:
    """(line, text) of the inline code spans that start with a ``python -m jaxrestore`` command."""
    for paragraph in re.finditer(r"(?:^[ \t]*\S.*(?:\n|$))+", prose, re.MULTILINE):  # a span never leaves one
        for m in _SPAN.finditer(paragraph[0]):
            content = " ".join(m[2].replace("\\|", "|").split())  # \| in a table cell is a |
            if _STARTS_COMMAND.match(content):
                yield prose.count("\n", 0, paragraph.start() + m.start()) + 1, content


# -- Shell ----------------------------------------------------------------------------------

@dataclasses.dataclass
class DocCommand:
    where: str  # FILE:LINE
    strict: bool  # a code block's command (copy-pasteable) or an inline span's (a synopsis)
    module: str | None = None
    variants: list[list[str]] = dataclasses.field(default_factory=list)  # argv after the module
    issues: list[str] = dataclasses.field(default_factory=list)  # found while reading it


_OPT = "\x00{}\x00"  # stands for the n-th [--optional] part while the line is tokenised
_ALT = "\x01"  # a|b alternatives of a synopsis
_ANGLE = r"<[A-Za-z_][\w./-]*>"  # a <placeholder>


def _unquoted_mask(line: str) -> str:
    """``line`` with every quoted character replaced by a space (for the regexes below)."""
    out, quote = [], None
    for ch in line:
        if quote:
            out.append(" ")
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _substitute(line: str, pattern: str, replace) -> str:
    """Replaces the matches of ``pattern`` found outside quotes."""
    mask = _unquoted_mask(line)
    for m in reversed(list(re.finditer(pattern, mask))):
        line = line[:m.start()] + replace(m) + line[m.end():]
    return line


def _segments(line: str, strict: bool) -> tuple[list[list[str]], list[list[str]]]:
    """The simple commands of one logical line (tokens, quotes removed) and its [optional] parts."""
    line = _substitute(line, r"(?:^|(?<=\s))#.*$", lambda m: "")
    line = _substitute(line, _ANGLE, lambda m: "\x02" + m[0][1:-1] + "\x03")  # <run_dir>: a placeholder
    line = _substitute(line, r"(?<!\S)\d*(?:>>?|<|&>)(?:&\d+|\s*[^\s;&|]+)", lambda m: " ")
    optional: list[list[str]] = []

    def keep_optional(m):
        optional.append(m[1])
        return " " + _OPT.format(len(optional) - 1) + " "

    line = _substitute(line, r"(?<!\S)\[(-[^\]]*)\](?!\S)", keep_optional)
    optional = [o.replace("|", _ALT) for o in optional]  # [--which=best|latest]: alternatives
    if not strict:  # in prose `a|b` offers alternatives too; a pipe has spaces around it
        line = _substitute(line, r"(?<=[^\s|])\|(?=[^\s|])", lambda m: _ALT)
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split, lexer.commenters = True, ""
    segments: list[list[str]] = [[]]
    for token in lexer:
        if token and set(token) <= set("();<>|&"):
            segments.append([])
        else:
            segments[-1].append(token.replace("\x02", "<").replace("\x03", ">"))
    return [s for s in segments if s], [shlex.split(o) for o in optional]


_VARIABLE = re.compile(r"\$(?:\{(\w+)(?:(%%|%|##|#|:-)([^}]*))?\}|(\w+))")


def _expand(text: str, values: dict[str, str]) -> str:
    """``text`` with the variables of ``values`` expanded as bash does; others are left."""

    def one(m):
        name = m[1] or m[4]
        if name not in values:
            return m[0]
        value, op, pattern = values[name], m[2], m[3]
        if op == ":-":
            return value or pattern
        if op in ("%", "%%"):
            cuts = range(len(value) + 1) if op == "%%" else range(len(value), -1, -1)
            return next((value[:k] for k in cuts if fnmatch.fnmatchcase(value[k:], pattern)), value)
        if op in ("#", "##"):
            cuts = range(len(value), -1, -1) if op == "##" else range(len(value) + 1)
            return next((value[k:] for k in cuts if fnmatch.fnmatchcase(value[:k], pattern)), value)
        return value

    return _VARIABLE.sub(one, text)


def _placeholders(token: str) -> list[str]:
    """The ALL-CAPS placeholders in one argument (see the module docstring, rule 5)."""
    value = token.split("=", 1)[1] if token.startswith("-") and "=" in token else token
    if token.startswith("-") and "=" not in token:
        return []
    label, sep, rest = value.partition("=")
    if sep and "/" not in label and ":" not in label:
        value = rest  # NAME=VALUE: the NAME labels something
    value = _VARIABLE.sub(" ", value)
    pieces = re.split(r"[/:,=\s\[\]]+", value)
    return [p for p in pieces if re.fullmatch(r"[A-Z][A-Z0-9_]*", p) and p not in NOT_PLACEHOLDERS]


def _jaxrestore_command(tokens: list[str]) -> tuple[str, list[str]] | None:
    """(module, arguments) if ``tokens`` run ``python -m jaxrestore...`` (after any prefix)."""
    for i, token in enumerate(tokens):
        if re.fullmatch(_PYTHON, token):
            j = i + 1
            while j < len(tokens) and tokens[j].startswith("-") and tokens[j] != "-m":
                j += 2 if tokens[j] in ("-W", "-X") else 1
            if j + 1 < len(tokens) and tokens[j] == "-m" and re.match(r"jaxrestore(\.|$)", tokens[j + 1]):
                return tokens[j + 1], tokens[j + 2:]
            return None
    return None


def _logical_lines(lines: list[str], first: int, console: bool) -> Iterator[tuple[int, str]]:
    """(line number, text) with backslash continuations joined (and prompts removed)."""
    i = 0
    while i < len(lines):
        number, text = first + i, lines[i]
        i += 1
        if console:
            if not text.lstrip().startswith("$ "):
                continue  # output
            text = text.lstrip()[2:]
        while re.search(r"(?<!\\)(\\\\)*\\\s*$", text) and i < len(lines):
            text = text.rstrip()[:-1] + " " + lines[i]
            i += 1
        yield number, text


def commands_in_shell(lines: list[str], first: int, name: str, strict: bool = True,
                      console: bool = False) -> list[DocCommand]:
    """The jaxrestore commands of a code block (``strict``) or of one inline span."""
    commands: list[DocCommand] = []
    variables: dict[str, list[str] | None] = {}  # assigned so far: values (a loop's several) or None: unknown
    for number, text in _logical_lines(lines, first, console):
        where = f"{name}:{number}"
        try:
            segments, optional = _segments(text, strict)
        except ValueError as err:
            if "jaxrestore" in text:
                commands.append(DocCommand(where, strict, issues=[f"the line is not shell syntax ({err})."]))
            continue
        for tokens in segments:
            while tokens and tokens[0] in ("do", "then", "else", "elif", "if", "while", "until", "!", "{"):
                tokens = tokens[1:]
            if not tokens or tokens[0] in ("done", "fi", "esac", "}"):
                continue
            if tokens[0] == "for":
                words = tokens[3:] if len(tokens) > 2 and tokens[2] == "in" else None
                if len(tokens) > 1:
                    variables[tokens[1]] = _values(words, variables)
                continue
            if tokens[0] in ("export", "local", "readonly", "declare"):
                tokens = tokens[1:]
            if all(re.match(r"[A-Za-z_]\w*=", t) for t in tokens):
                for t in tokens:
                    key, _, value = t.partition("=")
                    variables[key] = _values([value], variables)
                continue
            found = _jaxrestore_command(tokens)
            if found:
                commands.append(_command(where, strict, *found, optional, variables))
    return commands


def _values(words: list[str] | None, variables: dict) -> list[str] | None:
    """The values ``words`` take after expanding known variables (None if unknowable)."""
    if words is None:
        return None
    known = {k: v for k, v in variables.items() if v is not None and len(v) == 1}
    out = [_expand(w, {k: v[0] for k, v in known.items()}) for w in words]
    return None if any("$" in w or "`" in w or re.search(r"[*?]", w) for w in out) else out


def _command(where: str, strict: bool, module: str, args: list[str], optional: list[list[str]],
             variables: dict[str, list[str] | None]) -> DocCommand:
    command = DocCommand(where, strict, module)
    flat: list[str] = []
    for arg in args:
        m = re.fullmatch(_OPT.format(r"(\d+)"), arg)
        if not m:
            flat.append(arg)
            continue
        part = optional[int(m[1])]
        if strict:
            shown = " ".join(part).replace(_ALT, "|")
            command.issues.append(f"[{shown}] is an optional part in brackets, which the shell passes on "
                                  "literally (and a | inside it starts a pipe); write the command without it.")
        flat += part
    if strict and "..." in args:
        command.issues.append("'...' stands for arguments left out, so the command cannot be pasted; write them "
                              "out or leave it off.")
    flat = [a for a in flat if a != "..."]
    used = sorted({m[1] or m[4] for a in flat for m in _VARIABLE.finditer(a)})
    if strict:
        for name in used:
            if name not in variables and name not in STANDARD_ENV:
                command.issues.append(f"${name} is never assigned in this code block; assign it first "
                                      f"({name}=...) or write the value.")
        for arg in flat:
            for word in _placeholders(arg):
                command.issues.append(f"{word} in {arg} is the word, not the variable the block assigns; write "
                                      f"${word}." if word in variables else
                                      f"{word} in {arg} is a placeholder; write a real value or assign "
                                      f"{word}=... earlier in the block and use ${word}.")
            for word in re.findall(_ANGLE, arg):
                command.issues.append(f"{word}{'' if word == arg else f' in {arg}'} is a placeholder; write a real "
                                      "value.")
    known = [(n, variables[n]) for n in used if variables.get(n)]
    for combination in itertools.islice(itertools.product(*(v for _, v in known)), 50):
        values = dict(zip((n for n, _ in known), combination))
        command.variants.append([_expand(a, values) for a in flat])
    return command


def commands_in_markdown(text: str, name: str) -> list[DocCommand]:
    """Every jaxrestore command of a Markdown text, in order of lines."""
    blocks, prose = markdown_parts(text)
    commands = [c for b in blocks for c in commands_in_shell(b.lines, b.line, name, console=b.console)]
    for line, content in inline_commands(prose):
        commands += commands_in_shell([content], line, name, strict=False)
    return sorted(commands, key=lambda c: int(c.where.rsplit(":", 1)[1]))


def documentation_files() -> list[Path]:
    """README.md and docs/**/*.md, or the files ``$DOCUMENTED_COMMANDS_FILES`` names."""
    chosen = os.environ.get("DOCUMENTED_COMMANDS_FILES")
    if chosen:
        return [Path(p).resolve() for p in chosen.split(os.pathsep) if p]
    pages = [p for p in sorted((REPO / "docs").glob("**/*.md"))
             if not any(part.startswith(("_", ".")) for part in p.relative_to(REPO / "docs").parts[:-1])]
    return [p for p in [REPO / "README.md", *pages] if p.is_file()]


def documented_commands() -> list[DocCommand]:
    commands = []
    for path in documentation_files():
        name = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
        commands += commands_in_markdown(path.read_text(encoding="utf-8"), name)
    return commands


# -- The commands' flags --------------------------------------------------------------------

def module_file(module: str) -> Path | None:
    """The file that makes ``module`` (a package: its __main__.py, else its __init__.py), if any."""
    base = REPO.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__main__.py", base / "__init__.py"):
        if path.is_file():
            return path
    return None


def command_modules() -> list[str]:
    """Every module of the package that ``python -m`` runs as a command."""
    out = []
    for path in sorted((REPO / "jaxrestore").glob("**/*.py")):
        text = path.read_text(encoding="utf-8")
        if path.name == "__main__.py" or re.search(r"""^if __name__ == ["']__main__["']""", text, re.MULTILINE):
            parts = path.relative_to(REPO).with_suffix("").parts
            out.append(".".join(parts[:-1] if path.name == "__main__.py" else parts))
    return out


def describe_commands(modules: list[str]) -> dict:
    """The flag table of each command module, read in a fresh process (see the module docstring)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "flags.json"
        env = {**os.environ, "JAXRESTORE_COMPILATION_CACHE": "off", "JAX_PLATFORMS": "cpu"}
        done = subprocess.run([sys.executable, __file__, "--describe", str(out), *modules], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0 or not out.is_file():
            raise RuntimeError(f"describing the commands failed:\n{done.stdout}\n{done.stderr}")
        return json.loads(out.read_text())


def _describe_here(modules: list[str]) -> dict:
    """Runs in the subprocess: each module as ``__main__``, stopped where it parses its flags."""
    import runpy

    from absl import app, flags
    from absl import logging as absl_logging  # noqa: F401 - its flags (--verbosity ...) are every absl app's

    app.define_help_flags()  # once per process, so before the first module's flags are taken away
    global_flags = flags.FLAGS

    class Parsing(BaseException):
        pass

    def stop(self, argv, known_only=False):
        raise Parsing(self, sys.modules["__main__"])

    flags.FlagValues.__call__ = stop
    result = {}
    for module in modules:
        before, argv = set(global_flags), sys.argv
        sys.argv = [module]
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
            result[module] = {"error": "it ran to the end without parsing absl flags"}
        except Parsing as parsing:
            result[module] = _flag_table(*parsing.args)
        except BaseException as err:  # noqa: BLE001 - SystemExit included: the message is the finding
            result[module] = {"error": f"{type(err).__name__}: {' '.join(str(err).split())}"}
        finally:
            sys.argv = argv
            for name in set(global_flags) - before:  # the command's own: the next one defines its own
                owner = global_flags.find_module_defining_flag(name) or ""
                if owner == "__main__" or owner.endswith(".py") or owner.startswith("jaxrestore"):
                    delattr(global_flags, name)
    return result


def _flag_table(fv, main_module) -> dict:
    spec = getattr(main_module, "__spec__", None)
    name = spec.name if spec else main_module.__name__  # the module that parses (a wrapper runs another)
    table = {}
    for key in fv:
        flag = fv[key]
        owner = fv.find_module_defining_flag(flag.name) or ""
        parser = flag.parser
        table[flag.name] = {
            "bool": bool(flag.boolean), "parser": type(parser).__name__,
            "enum": list(getattr(parser, "enum_values", None) or []) or None,
            "case_sensitive": bool(getattr(parser, "case_sensitive", True)),
            "lower": getattr(parser, "lower_bound", None), "upper": getattr(parser, "upper_bound", None),
            "short": flag.short_name, "own": owner == "__main__" or owner.endswith(".py"),
            "required": any(getattr(v, "message", "") == f"Flag --{flag.name} must have a value other than None."
                            for v in flag.validators),
        }
    if name in SUBCOMMAND_TABLES:
        subcommands = getattr(main_module, SUBCOMMAND_TABLES[name], None)
        if not isinstance(subcommands, dict):
            return {"error": f"it has no dict {SUBCOMMAND_TABLES[name]} of sub-commands (SUBCOMMAND_TABLES in "
                             f"{Path(__file__).name} says where they are)"}
        positionals = list(subcommands)
    else:
        positionals = "none" if hasattr(main_module, "reject_arguments") else "any"
    return {"module": name, "flags": table, "positionals": positionals}


@pytest.fixture(scope="session")
def command_flags(tmp_path_factory) -> dict:
    """:func:`describe_commands` of every command module, once per test run (xdist workers share it)."""
    import fcntl

    modules = command_modules()
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's directory, above each worker's
    cache = shared / "documented_commands_flags.json"
    with open(shared / "documented_commands_flags.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cache.is_file():
            table = json.loads(cache.read_text())
            if table.get("modules") == modules:
                return table["commands"]
        table = {"modules": modules, "commands": describe_commands(modules)}
        cache.write_text(json.dumps(table))
        return table["commands"]


# -- Checks ---------------------------------------------------------------------------------

@contextlib.contextmanager
def _in_repo():
    previous = os.getcwd()
    os.chdir(REPO)  # config paths are relative to the repository root, where the commands run
    try:
        yield
    finally:
        os.chdir(previous)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).replace("\\n", " ").replace("\\", "").split()).rstrip(".")
    return text or type(err).__name__


@functools.cache
def config_problems(argv: tuple[str, ...], values: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """What is wrong with ``--config=FILE[:PRESET]`` and its overrides, by the commands' own code.

    ``argv``: the program name, --config=..., then the --config.* overrides in their order, whose
    fields are checked; ``values``: the same without the overrides whose value cannot be known
    (an unexpanded variable), parsed as the command's absl parser would (default: ``argv``)."""
    from absl import flags
    from ml_collections import config_flags

    from jaxrestore.errors import JaxRestoreError
    from jaxrestore.runtime import cli
    from jaxrestore.runtime.configs import load_config_file

    spec = cli.config_argument(argv)
    path, _, preset = spec.partition(":")
    with _in_repo():
        try:
            load_config_file(path, preset or None)
        except Exception as err:  # noqa: BLE001 - whatever stops the loading is the finding
            return (f"--config={spec} does not load: {_one_line(err)}.",)
        try:
            cli.check_override_order(argv)
            cli.check_config_overrides(argv)
        except JaxRestoreError as err:
            return (f"--config={spec}: {_one_line(err)}.",)
        values = list(argv if values is None else values)
        fv = flags.FlagValues()
        config_flags.DEFINE_config_file("config", None, "", flag_values=fv, lock_config=True, sys_argv=values)
        try:
            with warnings.catch_warnings():  # config_flags loads the file with importlib's deprecated load_module
                warnings.simplefilter("ignore", DeprecationWarning)
                fv(values)
                fv.config.keys()
        except Exception as err:  # noqa: BLE001 - absl's or ml_collections' refusal is the finding
            return (f"--config={spec}: {_one_line(err)}.",)
    return ()


def _checkable(value: str) -> bool:
    """Whether a value is literal: no unexpanded variable and no placeholder (reported apart in a
    code block, allowed in prose)."""
    return "$" not in value and not _placeholders(value) and not re.search(_ANGLE, value)


def _value_problem(flag: str, info: dict, value: str) -> str | None:
    """Why absl's parser of the flag would refuse ``value`` (booleans, numbers, enums)."""
    parser = info["parser"]
    try:
        if info["bool"]:
            ok = value.lower() in ("true", "t", "1", "false", "f", "0")
            return None if ok else f"--{flag}={value}: a boolean flag takes true or false."
        if parser in ("IntegerParser", "FloatParser"):
            number = (int(value, 0) if not re.fullmatch(r"0\d+", value) else int(value)) \
                if parser == "IntegerParser" else float(value)
            if (info["lower"] is not None and number < info["lower"]) or \
                    (info["upper"] is not None and number > info["upper"]):
                return f"--{flag}={value} is out of its range [{info['lower']}, {info['upper']}]."
        if info["enum"]:
            same = (lambda a, b: a == b) if info["case_sensitive"] else (lambda a, b: a.lower() == b.lower())
            if not any(same(value, e) for e in info["enum"]):
                return f"--{flag}={value}: the values are {', '.join(info['enum'])}."
    except ValueError:
        return f"--{flag}={value}: not a{'n integer' if parser == 'IntegerParser' else ' number'}."
    return None


def _argv_problems(command: DocCommand, args: list[str], described: dict) -> list[str]:
    module, strict = command.module, command.strict
    table = described["flags"]
    by_short = {i["short"]: n for n, i in table.items() if i["short"]}
    has_config = table.get("config", {}).get("parser") == "ConfigFileFlagParser"
    problems, positional, given, config_argv = [], [], set(), []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positional += args[i:]
            break
        if not arg.startswith("-") or arg == "-":
            positional.append(arg)
            continue
        name, eq, value = arg.lstrip("-").partition("=")
        if has_config and re.match(r"(no)?config\.", name):
            config_argv.append("--" + arg.lstrip("-"))
            continue
        if name in HELP_FLAGS:
            continue
        name = by_short.get(name, name)
        info = table.get(name)
        if info is None and name.startswith("no") and table.get(name[2:], {}).get("bool") and not eq:
            given.add(name[2:])
            continue
        if info is None:
            own = [n for n, f in table.items() if f["own"]]
            guesses = difflib.get_close_matches(name, own, n=1) or difflib.get_close_matches(name, table, n=1)
            hint = f"did you mean --{guesses[0]}?" if guesses else f"`python -m {module} --help` lists its flags."
            problems.append(f"--{name} is not a flag of {module}; {hint}")
            continue
        given.add(name)
        if not info["bool"] and not eq:
            if i == len(args):
                problems.append(f"--{name} needs a value (--{name}=VALUE).")
                continue
            value, eq = args[i], "="
            i += 1
        if name == "config" and has_config:
            config_argv.append(f"--config={value}")
            continue
        for alternative in value.split(_ALT) if eq else ():
            if not _checkable(alternative):
                continue
            problem = _value_problem(name, info, alternative)
            if problem:
                problems.append(problem)
            elif re.fullmatch(r"configs/[\w/.-]+\.py(:.*)?", alternative):
                problems += config_problems(("prog", f"--config={alternative}"))
    problems += _positional_problems(module, strict, positional, described["positionals"])
    if strict:
        problems += [f"{module} requires --{n}, which the command does not give."
                     for n, f in table.items() if f["required"] and n not in given]
    spec = next((a for a in config_argv if a.startswith("--config=")), None)
    if config_argv and spec is None:
        problems.append(f"{config_argv[0].split('=')[0]} overrides a field of the config, but the command names "
                        "no --config=FILE.")
    elif config_argv and _checkable(spec):
        for variant in _alternatives(config_argv):
            problems += config_problems(("prog", *variant), ("prog", *[a for a in variant if _checkable(a)]))
    return problems


def _alternatives(argv: list[str]) -> list[list[str]]:
    """``argv`` with its first alternatives, then each other alternative of each argument in turn."""
    first = [a.split(_ALT)[0] if "=" in a else a for a in argv]
    out = [first]
    for k, arg in enumerate(argv):
        if _ALT in arg:
            name, _, values = arg.partition("=")
            out += [first[:k] + [f"{name}={v}"] + first[k + 1:] for v in values.split(_ALT)[1:]]
    return out


def _positional_problems(module: str, strict: bool, positional: list[str], allowed) -> list[str]:
    positional = positional if strict else [p for p in positional if _checkable(p)]
    if allowed == "none":
        return [f"{module} takes no positional argument, but the command passes {p!r}." for p in positional]
    if isinstance(allowed, list):
        if not positional:
            return [f"{module} needs a sub-command first, one of {', '.join(allowed)}."] if strict else []
        out = [] if positional[0] in allowed else [
            f"{module} has no sub-command {positional[0]!r}; it has {', '.join(allowed)}."]
        if positional[1:]:
            out.append(f"{module} takes one sub-command, but the command passes {' '.join(positional[1:])!r} too.")
        return out
    return []


def check(command: DocCommand, described: dict) -> list[str]:
    """Every problem of one documented command, each one sentence (empty when it is right)."""
    problems = list(command.issues)
    module = command.module
    if module is not None:
        info = described.get(module)
        if module_file(module) is None:
            known = difflib.get_close_matches(module, described, n=1)
            hint = f"; did you mean {known[0]}?" if known else f"; the commands are {', '.join(described)}."
            problems.append(f"there is no module {module}{hint}")
        elif info is None:
            problems.append(f"{module} is a module but not a command (it has no `if __name__ == \"__main__\":`); "
                            f"the commands are {', '.join(described)}.")
        elif "error" in info:
            problems.append(f"cannot read the flags of {module}: {info['error']}")
        else:
            for args in command.variants:
                problems += _argv_problems(command, args, info)
    return [f"{command.where}: {p}" for p in dict.fromkeys(problems)]


# -- Tests ----------------------------------------------------------------------------------

def _ids(commands: list[DocCommand]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for c in commands:
        seen[c.where] = seen.get(c.where, 0) + 1
        out.append(c.where if seen[c.where] == 1 else f"{c.where}#{seen[c.where]}")
    return out


DOCUMENTED = documented_commands() if __name__ != "__main__" else []


@pytest.mark.parametrize("command", DOCUMENTED, ids=_ids(DOCUMENTED))
def test_documented_command(command, command_flags):
    problems = check(command, command_flags)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


SYNTHETIC = """\
# A page

```bash
RUN=runs/srgan_quick
python -m jaxrestore.main --config=configs/srgan.py:quick --workdir=$RUN \\
    --config.train.num_step=10     # misspelt field
python -m jaxrestore.evaulate --checkpoint=$RUN --data=Set5 --output=results.json
python -m jaxrestore.evaluate --checkpoint=$RUN --data=Set5 --outptu=results.json
python -m jaxrestore.restore --checkpoint=$OUT photo.png --output=restored/ --which=bets && echo done
python -m jaxrestore.evaluate --checkpoint=CKPT --data=Set5 --output=RUN/results.json --scale=four
python -m jaxrestore.convert vgg --input=vgg19.pth --output=vgg19.npz
for task in inpaint:1500 colorize:500; do
  python -m jaxrestore.main --config=configs/gan_prior.py:task=${task%%:*} --workdir=runs/$task \\
      --config.solver.iterations=${task##*:} --config.solver.chunk=fifty
done
JAX_PLATFORMS=cpu python -m jaxrestore.main --config=configs/srgan.py --workdir=runs/x --config.train.batch_size=8
python -m jaxrestore.main --config=configs/srgan.py:fast [--config.train.batch_size=4] ...
python -m jaxrestore.train --config=configs/srgan.py
python -m pytest -q tests
```

Prose: `python -m jaxrestore.benchmark --solver=map [--images=64 --iteration=100]` and
`python -m jaxrestore.evaluate --checkpoint=RUN_DIR
--metrics=psnr|niqe` are synopses; `python -m jaxrestore.…` is no command.
"""


def test_checker_reports_each_kind_of_mistake(command_flags):
    """The checker itself, on a page with one mistake of each kind per line (and right lines)."""
    commands = commands_in_markdown(SYNTHETIC, "page.md")
    found = {c.where: check(c, command_flags) for c in commands}
    expected = {  # FILE:LINE -> a fragment of each problem reported there, in order
        "page.md:5": [("page.md:5: --config=configs/srgan.py:quick: unknown config field 'train.num_step' in "
                       "--config.train.num_step; did you mean train.num_steps")],
        "page.md:7": ["there is no module jaxrestore.evaulate; did you mean jaxrestore.evaluate?"],
        "page.md:8": ["--outptu is not a flag of jaxrestore.evaluate; did you mean --output?"],
        "page.md:9": ["$OUT is never assigned in this code block", "--which=bets: the values are auto, best, latest."],
        "page.md:10": ["CKPT in --checkpoint=CKPT is a placeholder; write a real value or assign CKPT=...",
                       "RUN in --output=RUN/results.json is the word, not the variable the block assigns; write $RUN.",
                       "--scale=four: not an integer."],
        "page.md:11": ["jaxrestore.convert has no sub-command 'vgg'; it has vgg19, inception, esrgan, pggan,"],
        "page.md:13": ["--config=configs/gan_prior.py:task=inpaint: flag --config.solver.chunk=fifty: invalid literal",
                       "--config=configs/gan_prior.py:task=colorize: flag --config.solver.chunk=fifty: invalid"],
        "page.md:16": [],  # an environment assignment before python is fine
        "page.md:17": ["[--config.train.batch_size=4] is an optional part in brackets", "'...' stands for arguments",
                       "jaxrestore.main requires --workdir", "--config=configs/srgan.py:fast does not load: unknown"],
        "page.md:18": ["jaxrestore.train is a module but not a command"],
        "page.md:22": ["--iteration is not a flag of jaxrestore.benchmark; did you mean --iterations?"],
        "page.md:23": [],  # a placeholder and alternatives are fine in prose
    }
    assert list(found) == list(expected)  # python -m pytest and the `jaxrestore.…` fragment are no commands
    for where, fragments in expected.items():
        assert len(found[where]) == len(fragments), found[where]
        for problem, fragment in zip(found[where], fragments):
            assert problem.startswith(f"{where}: ") and fragment in problem, (problem, fragment)


MYST = """\
````{note}
Inside a note:
```{code-block} bash
:caption: a caption
python -m jaxrestore.main --config=configs/srgan.py:quick \\
    --workdir=runs/a   # a comment; --not-a-flag
```
````
~~~console
$ python -m jaxrestore.evaluate --checkpoint=runs/a --data=Set5 --output=r.json 2>&1 | tee log
python -m jaxrestore.output --of=the-command
~~~
```python
subprocess.run("python -m jaxrestore.main --config=x")
```
| command | what |
|---|---|
| `python -m jaxrestore.convert esrgan_export --input=runs/a --layout=basicsr\\|esrgan` | export |

A span may wrap: `python -m jaxrestore.benchmark
--solver=cg`; `--config.train.num_steps=1` is a fragment.
"""


def test_markdown_extraction():
    """Code directives, Markdown containers, console prompts, tables and wrapped spans (no subprocess)."""
    found = [(c.where, c.strict, c.module, c.variants) for c in commands_in_markdown(MYST, "p.md")]
    assert found == [
        ("p.md:5", True, "jaxrestore.main", [["--config=configs/srgan.py:quick", "--workdir=runs/a"]]),
        ("p.md:10", True, "jaxrestore.evaluate", [["--checkpoint=runs/a", "--data=Set5", "--output=r.json"]]),
        ("p.md:18", False, "jaxrestore.convert",
         [["esrgan_export", "--input=runs/a", f"--layout=basicsr{_ALT}esrgan"]]),
        ("p.md:20", False, "jaxrestore.benchmark", [["--solver=cg"]]),
    ]


def test_the_documentation_has_commands():
    """The extraction finds commands in the documentation (a parser that finds nothing checks nothing)."""
    assert len(DOCUMENTED) >= 1 and all(c.module for c in DOCUMENTED)


if __name__ == "__main__" and sys.argv[1:2] == ["--describe"]:
    sys.path.insert(0, str(REPO))  # the package as the commands import it, installed or not
    Path(sys.argv[2]).write_text(json.dumps(_describe_here(sys.argv[3:])))
