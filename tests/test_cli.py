"""The command line: fast help, exit codes, the embedded default."""

import re
import subprocess
import sys

from runs import reader_cli

from thermo_ode.cli import main


def test_help_does_not_import_jax():
    code = "import sys; from thermo_ode.cli import main; rc = main(['run', '--help']); print('JAX', 'jax' in sys.modules, rc)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "usage: thermo-ode run" in out.stdout and "--no-resume" in out.stdout
    assert out.stdout.strip().endswith("JAX False 0")


def test_validate_does_not_import_jax(tmp_path):
    code = "import sys; from thermo_ode.cli import main; rc = main(['validate', 'configs/default.yaml']); print('JAX', 'jax' in sys.modules, rc)"
    import pathlib

    root = pathlib.Path(__file__).parent.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip().endswith("JAX False 0")


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["frobnicate"]) == 2
    assert main(["run", "--devices", "0"]) == 2
    assert main(["run", "--chunks", "5"]) == 2
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2
    assert main(["show", str(tmp_path)]) == 2
    assert "no run here (no results.zarr)" in capsys.readouterr().err


def test_too_many_devices_exit_2(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "thermo_ode.cli", "run", "--devices", "64", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "--devices: 64 requested" in out.stderr


TINY = """\
name: tiny
system:
  tokens: 4
  energies: {kind: random_qk, d_k: 8, seed: 0}
sweep:
  mass: [0.5, 2.0]
integrate: {t1: {relaxation_times: 20}, saves: 11}
"""


def _cli(*args, cwd, cache):
    import os

    env = dict(os.environ, COLUMNS="80", THERMO_ODE_CACHE_DIR=str(cache))
    return subprocess.run(
        [sys.executable, "-m", "thermo_ode.cli", *args], capture_output=True, text=True, env=env, cwd=cwd
    )


def test_version_flag_and_positional_help(capsys):
    from thermo_ode import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"thermo-ode {__version__}"
    for command, positional, words in (
        ("run", "config", "YAML sweep config"),
        ("validate", "config", "config to check"),
        ("show", "dir", "output folder"),
        ("plot", "dir", "output folder"),
    ):
        assert main([command, "--help"]) == 0
        out = capsys.readouterr().out
        assert re.search(rf"^\s+{positional}\s+\S", out, re.M) and words in out, out


def test_run_summary_rerun_precision_and_paths(tmp_path, cache_dir):
    """The summary names the worst and slowest rows with units and prints whole paths at 80
    columns; a rerun says the run is already complete; --precision is recorded and is part of
    the run's identity; show and plot take the folder or its results.zarr, and a mistyped
    folder gets the runs that exist."""
    (tmp_path / "tiny.yaml").write_text(TINY)
    out_dir = tmp_path / "a-rather-long-folder-name-for-the-results-of-this-tiny-sweep"
    first = _cli("run", "tiny.yaml", "--out", str(out_dir), cwd=tmp_path, cache=cache_dir)
    assert first.returncode == 0, first.stderr
    text = first.stdout
    assert re.search(r"worst final distance\s+│\s+\d\.\de-\d\d \(Fisher-Rao, rad\) at mass=", text), text
    assert "physical time" in text and "already complete" not in text
    assert f"results: {out_dir / 'results.zarr'} and {out_dir / 'results.nc'}" in text.replace("\n", "")
    assert f"figures: thermo-ode plot {out_dir}" in text.replace("\n", "")
    assert re.search(r"\d+ programs? loaded, \d+ programs? compiled", text)
    again = _cli("run", "tiny.yaml", "--out", str(out_dir), cwd=tmp_path, cache=cache_dir)
    assert again.returncode == 0 and "already complete: 1/1 chunks" in again.stdout
    # Another precision is another run: refused on the same folder, recorded in its own.
    clash = _cli("run", "tiny.yaml", "--out", str(out_dir), "--precision", "float32", cwd=tmp_path, cache=cache_dir)
    assert clash.returncode == 2 and "different config" in clash.stderr
    single = _cli("run", "tiny.yaml", "--out", "f32", "--precision", "float32", cwd=tmp_path, cache=cache_dir)
    assert single.returncode == 0, single.stderr
    import zarr

    attrs = zarr.open_group(tmp_path / "f32" / "results.zarr", mode="r").attrs
    assert attrs["precision"] == "float32" and '"precision": "float32"' in attrs["config_resolved"]
    # show and plot: the folder, its results.zarr, and a helpful miss.
    shown = reader_cli("show", str(out_dir / "results.zarr"))
    assert shown.returncode == 0 and "finished: 1/1 chunks" in shown.stdout
    missing = reader_cli("show", str(tmp_path / "f3"))
    assert missing.returncode == 2 and f"did you mean {tmp_path / 'f32'}?" in missing.stderr
    assert "runs found:" in missing.stderr and str(out_dir) in missing.stderr


def test_mistyped_config_path_gets_did_you_mean(tmp_path, capsys):
    (tmp_path / "tiny.yaml").write_text(TINY)
    assert main(["validate", str(tmp_path / "tinny.yaml")]) == 2
    assert f"did you mean {tmp_path / 'tiny.yaml'}?" in capsys.readouterr().err


def test_plot_names_each_figure_as_it_draws_it(reference, tmp_path, monkeypatch):
    """`plot` takes seconds: a progress bar on stderr names the figure being drawn, n of m;
    stdout stays the list of the files written."""
    _, out = reference
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # as on a terminal: every state of the bar is drawn
    monkeypatch.setenv("COLUMNS", "120")
    plotted = reader_cli("plot", str(out), "--figures", str(tmp_path / "figures"))
    assert plotted.returncode == 0, plotted.stderr
    names = [line.rsplit("/", 1)[-1].removesuffix(".png") for line in plotted.stdout.split()]
    assert "trajectory" in names and "heat_capacity" in names, plotted.stdout
    frames = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", plotted.stderr)  # the bar without its colours
    for done, name in enumerate(names):
        assert re.search(rf"plot .*\b{done}/{len(names)} figures [0-9:]+ {name}\b", frames), (name, frames)
    assert f"{len(names)}/{len(names)} figures" in frames, frames
