"""The config reference page, docs/reference/config.md, holds the tables the schema renders.

The page is committed with its tables (so it reads on a repository browser too); the one
renderer, `thermo_ode.sweeps.config.reference.markdown()`, fills the page's generated block
through `mkdocs_hooks.config_reference`, which the site's build also checks with.
"""

import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
pytest.importorskip("mkdocs", reason="mkdocs_hooks.py needs mkdocs: pip install -e '.[docs]'")
sys.path.insert(0, str(ROOT))
import mkdocs_hooks


def test_the_committed_config_reference_is_the_schemas():
    page = mkdocs_hooks.CONFIG_PAGE.read_text(encoding="utf-8")
    assert mkdocs_hooks.config_reference(page) == page, (
        f"docs/reference/config.md differs from what the schema renders: run {mkdocs_hooks.REGENERATE}"
    )


def test_the_block_is_the_renderers_output():
    from thermo_ode.sweeps.config import reference

    page = mkdocs_hooks.CONFIG_PAGE.read_text(encoding="utf-8")
    assert reference.markdown() in page
    assert mkdocs_hooks.config_reference(page.replace("| `verify.tolerance` |", "| `verify.tol` |")) == page
    with pytest.raises(ValueError, match="no <!-- config-reference"):
        mkdocs_hooks.config_reference("# Config reference\n")
