"""Every notebook in notebooks/ executes from its first cell to its last with its small settings
(JAXRESTORE_NOTEBOOK_SMALL=1), as CI runs it, and leaves the files it shows."""

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
# What each notebook shows, relative to its output folder.
SHOWN = {
    "000_csrgan": ["samples/grid_00000040.png", "checkpoints"],
    "001_lsrgan": ["esrgan_official/config.json", "restored/esrgan_official/baby.png", "restored/lsrgan/baby.png"],
    "002_gan_prior": [f"{task}/figure.png" for task in ("inpaint", "colorize", "sr", "denoise", "quantize")],
    "003_iagan": ["cs_gaussian/results.md", "cs_gaussian/figure.png", "figure2.png"],
    "004_bring_your_own_generator": ["inpaint.png", "sr4.png", "results.md"],
}


def test_every_notebook_is_listed():
    assert sorted(p.stem for p in NOTEBOOKS) == sorted(SHOWN)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_with_small_settings(path, tmp_path, monkeypatch):
    monkeypatch.setenv("JAXRESTORE_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("JAXRESTORE_NOTEBOOK_RUNS", str(tmp_path))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()  # raises on a failed cell
    outputs = tmp_path / path.stem
    missing = [name for name in SHOWN[path.stem] if not (outputs / name).exists()]
    assert not missing, f"{path.name} did not write {missing}"
    printed = "".join(o.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for o in cell.get("outputs", []))
    assert "small settings" in printed
