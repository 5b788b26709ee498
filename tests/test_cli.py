"""The command line: fast help, the built-in example, exit codes."""

import subprocess
import sys

from thermo_ode.cli import main


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "thermo_ode.cli", *args], capture_output=True, text=True)


def test_help_does_not_import_jax():
    code = "import sys; from thermo_ode.cli import main; rc = main(['--help']); print('JAX', 'jax' in sys.modules, rc)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "usage: thermo-ode" in out.stdout
    assert out.stdout.strip().endswith("JAX False 0")


def test_run_builtin_example_relaxes_to_softmax():
    out = _cli("run", "--tokens", "5", "--d-k", "8")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all 15 trajectories relaxed to softmax" in out.stdout


def test_bad_arguments_exit_2():
    assert main(["run", "--tokens", "0"]) == 2
    assert main(["frobnicate"]) == 2
    assert _cli("run", "--precision", "float16").returncode == 2
