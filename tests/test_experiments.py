"""The experiments' committed results are complete, the README reports them as measured, and
every script takes `--out DIR` so that a run need not overwrite them."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "experiments"))

from summarize import ORDER  # noqa: E402

VERDICTS = {"supported", "not supported", "not testable as stated"}


def test_every_experiment_has_a_script_result_and_figure():
    for name in ORDER:
        assert (ROOT / "experiments" / f"{name}.py").exists(), name
        result = json.loads((ROOT / "experiments" / "results" / f"{name}.json").read_text())
        assert set(result["verdict"].split("; ")) <= VERDICTS, name
        for key in ("claim", "run", "outcome"):
            assert len(result[key]) > 40, (name, key)
        assert (ROOT / result["figure"]).exists(), name


SCRIPTS = sorted(p for p in (ROOT / "experiments").glob("*.py") if p.name not in {"_report.py", "summarize.py"})


def _run(*args, cwd=None, timeout=120):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_every_script_takes_out(script):
    """`--help` is answered before jax is imported (cheap), and documents `--out DIR`."""
    done = _run(script, "--help")
    assert done.returncode == 0, done.stderr
    assert "--out DIR" in done.stdout


def test_an_experiment_writes_into_out_and_leaves_the_committed_results_alone(tmp_path):
    """The fastest experiment (specific_heat, a few seconds) with --out: its JSON and figure land
    there, and experiments/results/ is unchanged."""

    def tracked():  # the committed outputs, byte for byte, and what git says of them
        files = {
            p: p.read_bytes()
            for d in ("experiments/results", "docs/figures")
            for p in sorted((ROOT / d).rglob("*"))
            if p.is_file()
        }
        git = subprocess.run(
            ["git", "status", "--porcelain", "experiments/results", "docs/figures"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        return files, git.stdout if git.returncode == 0 else None

    before = tracked()
    out = tmp_path / "out"
    done = _run(ROOT / "experiments" / "specific_heat.py", "--out", out, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["specific_heat.json", "specific_heat.png"]
    result = json.loads((out / "specific_heat.json").read_text())
    assert result["experiment"] == "specific_heat" and result["verdict"] in VERDICTS
    assert pathlib.Path(result["figure"]) == (out / "specific_heat.png").resolve()
    assert (out / "specific_heat.png").read_bytes().startswith(b"\x89PNG")
    assert tracked() == before
