"""Tests run in float64: the accuracy targets (1e-8 and below) are float64 targets.

The library itself never flips this flag; the float32 test runs in a subprocess.
"""

import fcntl
import os
import pathlib
import shutil

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory) -> pathlib.Path:
    """The session's folder that every pytest-xdist worker sees (each has its own below it)."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


@pytest.fixture(scope="session")
def cache_dir(shared_dir):
    """One persistent compilation cache for the CLI runs of the whole session, shared by the
    pytest-xdist workers (JAX writes each entry atomically): a program compiled by one test is
    loaded by the next that needs it. Tests of the cache itself make their own."""
    folder = shared_dir / "jax-cache"
    folder.mkdir(exist_ok=True)
    return str(folder)


@pytest.fixture(scope="session")
def once(shared_dir):
    """`once(name, make)`: the folder `name`, filled by `make(folder)` in the first worker that
    asks for it; the others wait for it and reuse it. For expensive setups that only read (a
    reference run, a gradient program), which a module fixture would repeat in each worker that
    runs tests of the module. A `make` that fails is not marked made: the next asker starts
    again from an empty folder."""

    def made(name: str, make) -> pathlib.Path:
        folder = shared_dir / name
        with open(shared_dir / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if not (folder / MADE).exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                make(folder)
                (folder / MADE).touch()
        return folder

    return made


MADE = ".made"


@pytest.fixture(scope="session", autouse=True)
def trace_counters():
    """Count the traces of the library's compiled programs from the session's start, for the
    tests that compare counts (`helpers.count_traces`): the library itself carries no counter."""
    from helpers import count_traces

    from thermo_ode import integration, refill, simulation

    for module, name in ((integration, "_solve"), (simulation, "_solve_group"), (refill, "solve_refill")):
        count_traces(module, name)


@pytest.fixture(scope="session")
def default_run(once, cache_dir):
    """`(out, result)`: the README's `thermo-ode run` (the embedded default config, into
    results/default), run once for the session."""
    from runs import run_once

    folder, result = run_once(once, "default-run", "run", cache_dir=cache_dir, in_folder=True)
    return folder / "results" / "default", result


@pytest.fixture(scope="module")
def reference(once, cache_dir):
    """`(config, out)`: a finished, uninterrupted run of `runs.TINY`, made once for all workers;
    the store and signal tests copy it before damaging it, or compare a resume with it."""
    from runs import TINY, cli, write_config

    def make(folder):
        config = write_config(folder / "tiny.yaml", TINY)
        result = cli("run", config, "--out", str(folder / "out"), cache_dir=cache_dir)
        assert result.returncode == 0, result.stderr + result.stdout

    folder = once("tiny-reference", make)
    return str(folder / "tiny.yaml"), folder / "out"
