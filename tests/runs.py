"""Running the command line from the tests: in a new process, in this one, or once for all
pytest-xdist workers; and reading back what a run stored."""

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np

from thermo_ode.sweeps.store import open_results

# A sweep of 8 points in 4 chunks that runs in seconds: the store tests damage, kill and resume it.
TINY = """\
name: tiny
system:
  tokens: 4
  energies: {kind: gaussian, scale: 1.0}
sweep:
  temperature: {logspace: [-1, 1, 4]}
  mass: [0.5, 1.0]
integrate: {t1: 20.0, saves: 11, chunk_size: 2}
"""
CHUNKS = 4


def cli(*args, cache_dir, env=None, cwd=None, timeout=None):
    """`thermo-ode ARGS` in a new process (`run` with the compilation cache in `cache_dir`),
    stopped after `timeout` seconds if given."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "thermo_ode.cli", *args, "--cache-dir", cache_dir]
        if args[0] == "run"
        else [sys.executable, "-m", "thermo_ode.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )


def reader_cli(*args):
    """`thermo-ode ARGS` in this process, for the commands that only read (`validate`, `show`,
    `verify`, `plot`, `report`): the same exit code and output as in a new process, without its
    start-up (about 1 s each). `run` stays in a process of its own: it sets process-wide JAX options."""
    assert args[0] in ("validate", "show", "verify", "plot", "report"), args
    from thermo_ode import cli as command_line

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = command_line.main(list(args))
    return subprocess.CompletedProcess(["thermo-ode", *args], code, out.getvalue(), err.getvalue())


def summary_counts(stdout: str) -> dict:
    """The counts of the run summary's table rows (`│ name │ value ...`)."""
    counts = {}
    for name in ("points", "converged", "not converged", "failed"):
        match = re.search(rf"│ {name}\s+│ (\d+)", stdout)
        counts[name.replace(" ", "_")] = int(match.group(1)) if match else None
    return counts


def write_config(path, text):
    path.write_text(textwrap.dedent(text))
    return str(path)


def raw(out):
    """Every variable of a store, points flat, as numpy arrays (for exact comparisons)."""
    ds = open_results(out, grid=False).load()
    return {name: ds[name].values for name in ds.variables}


def assert_identical(a, b, skip=()):
    assert set(a) == set(b)
    for name in a:
        if name not in skip:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def run_once(once, name: str, *args, cache_dir: str, files=None, in_folder=False):
    """`(folder, result)`: `thermo-ode ARGS` run once for all workers (see `once`) in a folder
    holding `files` (name: text), its output kept in `folder/result.json`. `{folder}` in ARGS
    and `cache_dir` is that folder; with `in_folder` the command runs there, as a user types it."""

    def make(folder):
        for file, text in (files or {}).items():
            write_config(folder / file, text)
        argv = [a.format(folder=folder) for a in args]
        result = cli(*argv, cache_dir=cache_dir.format(folder=folder), cwd=str(folder) if in_folder else None)
        record = dict(args=argv, returncode=result.returncode, stdout=result.stdout, stderr=result.stderr)
        (folder / "result.json").write_text(json.dumps(record))

    folder = once(name, make)
    return folder, subprocess.CompletedProcess(**json.loads((folder / "result.json").read_text()))
