"""The command line: fast help, exit codes, the embedded default."""

import subprocess
import sys

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
    assert "no results.zarr here" in capsys.readouterr().err


def test_too_many_devices_exit_2(tmp_path):
    out = subprocess.run([sys.executable, "-m", "thermo_ode.cli", "run", "--devices", "64", "--out", str(tmp_path / "o")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "--devices: 64 requested" in out.stderr
