"""Tests run in float64: the accuracy targets (1e-8 and below) are float64 targets.

The library itself never flips this flag; the float32 test runs in a subprocess.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """One persistent compilation cache for the CLI runs of the whole session, shared by the
    pytest-xdist workers (JAX writes each entry atomically): a program compiled by one test is
    loaded by the next that needs it. Tests of the cache itself make their own."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' common folder
    folder = root / "jax-cache"
    folder.mkdir(exist_ok=True)
    return str(folder)
