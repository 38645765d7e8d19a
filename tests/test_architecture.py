"""The package's architecture: import-linter's contracts (the layers of pyproject.toml, no
import cycle) hold and catch a violation; the loop, the evaluation code and the experiments
compare no registered method, task, protocol or problem name; function-local imports only keep
torch or TensorFlow off the import path; the public packages export their API."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "jaxrestore"
LINT = Path(sys.executable).parent / "lint-imports"


def lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_the_contracts_hold():
    result = lint(REPO)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


@pytest.mark.parametrize("module,line,message", [
    # an upward import: the ground may not import the loop
    ("runtime/atomic.py", "from jaxrestore import train", "jaxrestore.runtime is not allowed to import jaxrestore.train"),
    # training.tasks imports training.evaluators; the reverse import closes a cycle inside one layer
    ("training/evaluators.py", "import jaxrestore.training.tasks", "No import cycles anywhere in jaxrestore BROKEN"),
])
def test_a_violation_breaks_its_contract(tmp_path, module, line, message):
    shutil.copytree(PACKAGE, tmp_path / "jaxrestore", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "jaxrestore" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa: E402,F401\n")
    result = lint(tmp_path)
    assert result.returncode != 0 and message in result.stdout, result.stdout[-3000:]


def _registered_names() -> set[str]:
    """Training methods, tasks, evaluation protocols and the experiments' problems (the experiment
    commands' own key "iagan" is also the name of their IAGAN solver, a method of the 003 table)."""
    from jaxrestore.evaluation.protocols import PROTOCOLS
    from jaxrestore.inverse.experiments.problems_002 import PROBLEMS as PROBLEMS_002
    from jaxrestore.inverse.experiments.problems_003 import PROBLEMS as PROBLEMS_003
    from jaxrestore.training.methods import METHODS
    from jaxrestore.training.tasks import TASKS

    return set(METHODS) | set(TASKS) | set(PROTOCOLS) | set(PROBLEMS_002) | set(PROBLEMS_003)


# What the issue names: the loop, the evaluation code and the experiments (their registries, the
# modules that define the names, excepted).
NAME_FREE = ["train.py", "training/evaluators.py", "training/starts.py", "training/runs.py",
             *(f"evaluation/{p.name}" for p in (PACKAGE / "evaluation").glob("*.py") if p.name != "protocols.py"),
             "inverse/experiments/gan_prior.py", "inverse/experiments/iagan.py", "inverse/experiments/common.py",
             "inverse/experiments/chunks.py", "inverse/experiments/figures.py", "inverse/experiments/tune.py",
             "inverse/experiments/baselines.py"]


def _compared_strings(tree) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                items = operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand]
                found += [(node.lineno, item.value) for item in items
                          if isinstance(item, ast.Constant) and isinstance(item.value, str)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                "startswith", "endswith"):
            found += [(node.lineno, a.value) for a in node.args if isinstance(a, ast.Constant)]
    return found


def test_the_loop_the_evaluation_and_the_experiments_compare_no_registered_name():
    names = _registered_names()
    assert {"joint", "constrained", "esrgan", "sr", "jpeg", "generate", "inpaint", "cs_fourier"} <= names
    offenders = [f"{module}:{line} compares {text!r}" for module in NAME_FREE
                 for line, text in _compared_strings(ast.parse((PACKAGE / module).read_text()))
                 if text in names or text.rstrip("_") in names]
    assert not offenders, offenders


# Modules whose import pulls in torch or TensorFlow (directly or through clu's writers).
HEAVY = ("torch", "tensorflow", "tensorflow_datasets", "tensorboard", "jaxrestore.train",
         "jaxrestore.benchmarks.torch_compare", "jaxrestore.benchmarks.inverse_compare")


def _heavy(module: str) -> bool:
    return any(module == h or module.startswith(h + ".") for h in HEAVY)


def test_function_local_imports_only_keep_torch_or_tensorflow_off_the_import_path():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        module_level_try = {id(n) for t in tree.body if isinstance(t, ast.Try) for n in ast.walk(t)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.col_offset == 0 or id(node) in module_level_try:
                continue
            if isinstance(node, ast.Import):
                heavy = all(_heavy(a.name) for a in node.names)
            else:
                heavy = _heavy(node.module) or all(_heavy(f"{node.module}.{a.name}") for a in node.names)
            first = node.lineno - 1  # the reason stands on the import, or above a run of imports
            while first > 0 and lines[first - 1].strip().startswith(("import ", "from ")):
                first -= 1
            reason = "# local:" in lines[node.lineno - 1] or "# local:" in lines[first - 1]
            if not (heavy and reason):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno} {lines[node.lineno - 1].strip()}")
    assert not offenders, offenders


@pytest.mark.parametrize("package,names", [
    ("jaxrestore.inverse", ["Operator", "Mask", "GaussianCS", "SubsampledFourier", "Blur", "bicubic_downsample",
                            "map_search", "csgm", "iagan", "back_project", "MAPOptions", "CSGMOptions",
                            "IAGANOptions", "tv_restore", "dip_restore", "load_prior", "poisson_blend"]),
    ("jaxrestore.models", ["SRResNet", "RRDBNet", "DCGANGenerator", "BEGANGenerator", "PGGANGenerator", "SkipNet",
                           "VGG19", "LPIPS", "build_generator"]),
    ("jaxrestore.metrics", ["psnr", "ssim", "lpips_fn", "frechet_distance", "ma_score", "niqe"]),
    ("jaxrestore.evaluation", ["evaluate_folders", "evaluate_images", "BicubicRestorer", "ModelRestorer", "protocol"]),
])
def test_the_public_packages_export_their_api(package, names):
    import importlib

    module = importlib.import_module(package)
    assert set(names) <= set(module.__all__)
    assert all(hasattr(module, name) for name in module.__all__)
