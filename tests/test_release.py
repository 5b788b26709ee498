"""The release: the wheel holds the whole package, the embedded default config and the physics
page, and its metadata is the one pyproject.toml and the package declare. (`.ci/release-check`
installs the built wheel and sdist in a fresh environment on a second Python and runs the
default sweep from them.)"""

from __future__ import annotations

import email
import pathlib
import subprocess
import sys
import tomllib
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    # Offline: the build backend of this environment, no isolated build environment.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("thermo_ode-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def test_wheel_holds_every_module_the_default_config_and_the_physics_page(wheel):
    names = set(wheel.namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "thermo_ode").rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    assert wheel.read("thermo_ode/configs/default.yaml") == (ROOT / "configs" / "default.yaml").read_bytes()
    # the page itself, not a link to it
    assert wheel.read("thermo_ode/physics.md") == (ROOT / "docs" / "physics.md").read_bytes()
    assert not [n for n in names if n.startswith(("tests/", "docs/", "experiments/", "site/"))]


def test_wheel_metadata_is_the_declared_one(wheel):
    import thermo_ode

    (meta_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    meta = email.message_from_bytes(wheel.read(meta_name))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["Version"] == thermo_ode.__version__
    assert meta["Requires-Python"] == project["requires-python"]
    assert meta["License-Expression"] == "MIT"
    from packaging.requirements import Requirement

    requires = {r.name: r for r in map(Requirement, meta.get_all("Requires-Dist")) if r.marker is None}
    # the two ends the project supports: Python 3.11 with jax 0.10, 3.12/3.13 with jax 0.12
    for version in ("0.10.2", "0.12.0"):
        assert requires["jax"].specifier.contains(version), requires["jax"]
        assert requires["jaxlib"].specifier.contains(version), requires["jaxlib"]
    (entry_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "thermo-ode = thermo_ode.cli:main" in wheel.read(entry_name).decode()
