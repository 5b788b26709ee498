"""Notebooks: jupytext percent scripts paired with .ipynb; each script runs top to bottom."""

import pathlib
import runpy

import jupytext
import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.py"))


def test_the_three_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} == {"quickstart", "equilibrium_sweep", "paper_claims"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, monkeypatch):
    monkeypatch.chdir(path.parent)
    runpy.run_path(str(path), run_name="__main__")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_ipynb_is_paired_with_the_script(path):
    """The .ipynb holds the same cells as the .py (regenerate: jupytext --sync notebooks/*.py)."""
    script, notebook = jupytext.read(path), jupytext.read(path.with_suffix(".ipynb"))
    cells = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]
    assert cells(script) == cells(notebook)
