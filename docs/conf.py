"""Sphinx configuration of jaxrestore's documentation site.

The pages are MyST Markdown; the API reference is generated from the public packages' docstrings
(autodoc + napoleon); the notebooks are rendered as tutorials without being executed (the test
suite executes them). Build: ``python -m sphinx -W --keep-going -n -b html docs docs/_build/html``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(REPO))  # the package and configs/ without an install, as on Read the Docs' checkout

project = "jaxrestore"
author = "the jaxrestore developers"
copyright = "2026, the jaxrestore developers"  # noqa: A001 (Sphinx's name)

extensions = [
    "myst_nb",  # MyST Markdown pages and .ipynb tutorials (myst-parser included)
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]

# The notebooks live in notebooks/ (where Colab and the tests find them); the docs render copies.
TUTORIALS = DOCS / "tutorials"


def _copy_notebooks() -> None:
    TUTORIALS.mkdir(exist_ok=True)
    for old in TUTORIALS.glob("*.ipynb"):
        old.unlink()
    for notebook in sorted((REPO / "notebooks").glob("*.ipynb")):
        shutil.copy2(notebook, TUTORIALS / notebook.name)


_copy_notebooks()

nb_execution_mode = "off"  # rendered as committed; tests/test_notebooks.py executes them
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3  # `page.md#a-heading` links
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

autodoc_typehints = "none"  # signatures name their parameters; types are in the docstrings' text
autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False  # a Flax module's setup() would show nn.Module's own docstring
autodoc_default_options = {"members": True, "undoc-members": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False



def _flax_module_signature(app, what, name, obj, options, signature, return_annotation):
    """A Flax module's constructor is its dataclass fields; Flax adds ``parent`` and ``name``, whose defaults
    print as object addresses. Show the fields and their defaults only."""
    import dataclasses

    import flax.linen as nn

    if what != "class" or not (isinstance(obj, type) and issubclass(obj, nn.Module)):
        return None
    parts = []
    for field in dataclasses.fields(obj):
        if field.name in ("parent", "name") or not field.init:
            continue
        if field.default is not dataclasses.MISSING:
            parts.append(f"{field.name}={field.default!r}")
        else:
            parts.append(field.name)
    return f"({', '.join(parts)})", None


def setup(app):
    app.connect("autodoc-process-signature", _flax_module_signature)


html_theme = "furo"
html_title = "jaxrestore"
html_static_path: list[str] = []
