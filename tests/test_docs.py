"""What the documentation promises about itself: every public name has an entry in the API reference, every
relative link of the README (which Sphinx does not build) points at a file that exists, and the README stays a
short front page. The Sphinx build itself (warnings and broken cross-references as errors) runs in .ci/run."""

import importlib
import re

import pytest

from conftest import REPO

PUBLIC = ["jaxrestore.inverse", "jaxrestore.models", "jaxrestore.metrics", "jaxrestore.evaluation"]


@pytest.mark.parametrize("package", PUBLIC)
def test_every_public_name_is_in_the_api_reference(package):
    page = (REPO / "docs" / "api" / f"{package.split('.')[-1]}.md").read_text()
    module = importlib.import_module(package)
    documented = set(re.findall(r"^\.\. (?:auto)?(?:class|function|data):: (\w+)", page, re.M))
    documented |= {m.rsplit(".", 1)[-1] for m in re.findall(r"^\.\. automodule:: ([\w.]+)", page, re.M)}
    missing = sorted(set(module.__all__) - documented)
    assert not missing, f"docs/api/{package.split('.')[-1]}.md has no entry for {missing}"
    assert f".. currentmodule:: {package}" in page


def test_the_readme_links_only_to_files_that_exist():
    readme = (REPO / "README.md").read_text()
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", readme) if "://" not in t]
    assert targets, "the README links to its docs pages"
    missing = [t for t in targets if t and not (REPO / t).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_the_readme_is_a_front_page():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move the details to a page under docs/"
    for page in ("papers/000-constrained.md", "papers/001-lsrgan.md", "papers/002-gan-prior.md",
                 "papers/003-iagan.md"):
        assert f"(docs/{page})" in "\n".join(lines), f"the README's papers table links docs/{page}"
