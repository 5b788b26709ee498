"""Notebooks: jupytext percent scripts paired with .ipynb; each runs top to bottom as a script
(saving its figures) and, with the `notebooks` extra installed, as a notebook under jupytext."""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import jupytext
import pytest

ROOT = pathlib.Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
FIGURES = {
    "quickstart": {"trajectory", "relaxation"},
    "equilibrium_sweep": {"convergence_map", "collapse"},
    "paper_claims": set(),
}
PNG = b"\x89PNG\r\n\x1a\n"


def _env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def test_the_three_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} == set(FIGURES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_as_a_script_and_saves_its_figures(path, tmp_path):
    out = tmp_path / "figures"
    done = subprocess.run(
        [sys.executable, str(path), "--out", str(out)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    written = {p.stem for p in out.glob("*")} if out.exists() else set()
    assert written == FIGURES[path.stem]
    for name in written:
        figure = out / f"{name}.png"
        assert figure.read_bytes().startswith(PNG) and figure.stat().st_size > 1000, figure
        assert str(figure) in done.stdout  # the script says what it wrote
    assert {p.name for p in tmp_path.iterdir()} <= {"figures"}  # nothing else in the working directory


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_ipynb_is_paired_with_the_script(path):
    """The .ipynb holds the same cells as the .py (regenerate: jupytext --sync notebooks/*.py)."""
    script, notebook = jupytext.read(path), jupytext.read(path.with_suffix(".ipynb"))
    cells = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]
    assert cells(script) == cells(notebook)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_ipynb_has_no_outputs(path):
    notebook = json.loads(path.with_suffix(".ipynb").read_text())
    for cell in notebook["cells"]:
        assert not cell.get("outputs") and cell.get("execution_count") is None, cell["source"][:1]


@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("nbconvert", "nbclient", "ipykernel")),
    reason="jupytext --execute needs nbconvert, nbclient and ipykernel: pip install -e '.[notebooks]'",
)
def test_jupytext_executes_the_quickstart(tmp_path):
    """`jupytext --execute` runs the notebook in a kernel of this interpreter; the figures show
    inline (as outputs), none is saved, and the committed notebook is not touched."""
    kernel = tmp_path / "jupyter" / "kernels" / "thermo-ode-test"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "thermo-ode (test)",
                "language": "python",
            }
        )
    )
    source = ROOT / "notebooks" / "quickstart.py"
    committed = source.with_suffix(".ipynb").read_bytes()
    executed = tmp_path / "run" / "quickstart.ipynb"
    executed.parent.mkdir()
    env = {**_env(), "JUPYTER_PATH": str(tmp_path / "jupyter")}
    env.pop("MPLBACKEND", None)  # conftest's Agg would keep the kernel from drawing inline
    jupytext_cli = [sys.executable, "-c", "import sys; from jupytext.cli import jupytext; sys.exit(jupytext())"]
    done = subprocess.run(
        [
            *jupytext_cli,
            "--set-kernel",
            "thermo-ode-test",
            "--execute",
            "--to",
            "ipynb",
            "-o",
            str(executed),
            str(source),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    cells = [c for c in json.loads(executed.read_text())["cells"] if c["cell_type"] == "code"]
    assert all(c["execution_count"] for c in cells)
    images = [o for o in cells[-1]["outputs"] if "image/png" in o.get("data", {})]
    assert len(images) == len(FIGURES["quickstart"])
    assert sorted(p.name for p in executed.parent.iterdir()) == ["quickstart.ipynb"]  # no figure files saved
    assert source.with_suffix(".ipynb").read_bytes() == committed
