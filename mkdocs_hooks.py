"""mkdocs hooks for the documentation site (`mkdocs.yml`).

The pages are written to read well on a repository browser too, so they link to files outside
`docs/` (`../thermo_ode/integration.py`, `../experiments/results/x.png`) and the README (the site's
home page) links into `docs/`. These hooks make such pages a site:

- the README becomes the home page, the CHANGELOG a page, the notebooks pages (executed by
  mkdocs-jupyter), and the figures the pages show are copied into the site;
- a link to a repository file that is not part of the site is checked to exist (a broken one
  fails the build) and kept as its text, since the site cannot show source files;
- the site needs no network: MathJax (from the django-static-mathjax package) is copied into it,
  and the notebooks run in a kernel whose connection is encrypted (notebooks/jupyter_nbconvert_config.json;
  ipykernel warns on every start otherwise);
- the config reference, docs/reference/config.md, holds the tables rendered from the schema, so
  that it reads on a repository browser too; the build fails when they are stale, and
  `python mkdocs_hooks.py --write` renders them anew;
- every object the API reference renders must have a docstring with a summary line and an
  `Examples:` section (mkdocstrings would render a bare signature without complaint).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import os
import pathlib
import posixpath
import re

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = pathlib.Path(__file__).resolve().parent

# Files from outside docs/ that the site shows, by their path in the repository.
SITE_FILES = ("README.md", "CHANGELOG.md", "notebooks/*.ipynb", "experiments/results/*.png", "benchmarks/results/*.png")
LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")
CONFIG_PAGE = ROOT / "docs" / "reference" / "config.md"
CONFIG_BLOCK = re.compile(r"(<!-- config-reference: [^\n]* -->\n).*?(<!-- end: config-reference -->)", re.DOTALL)
REGENERATE = "python mkdocs_hooks.py --write"
# The MathJax files the site ships (docs/javascripts/mathjax-config.js configures it), by their
# path in the django-static-mathjax package: one script with every TeX extension and SVG output
# (no font files), and its licence.
MATHJAX = {"es5/tex-svg-full.js": "tex-svg-full.js", "LICENSE": "LICENSE"}
# Where the jupyter_nbconvert_config.json that mkdocs-jupyter's notebook runs read lies.
JUPYTER_CONFIG = ROOT / "notebooks"
DIRECTIVE = re.compile(r"^::: ([\w.]+)\n((?:    .*\n)*)", re.MULTILINE)


def _resolve(dotted: str) -> object:
    """The object a mkdocstrings identifier names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise PluginError(f"API reference: cannot import {dotted}")


def _undocumented(markdown: str) -> list[str]:
    """The objects of `::: name` directives (and their listed `members`) whose docstring lacks
    a summary line or an `Examples:` section."""
    problems = []
    for match in DIRECTIVE.finditer(markdown):
        name, options = match.groups()
        members = re.findall(r"^\s+- (\w+)$", options, re.MULTILINE)
        for dotted in [f"{name}.{m}" for m in members] or [name]:
            doc = inspect.getdoc(_resolve(dotted)) or ""
            if not doc.strip() or "Examples:" not in doc:
                problems.append(dotted)
    return problems


def config_reference(page: str) -> str:
    """The config reference page `page` with the block between its `<!-- config-reference: ... -->`
    and `<!-- end: config-reference -->` lines rendered anew from the schema."""
    from thermo_ode.sweeps.config import reference

    if not CONFIG_BLOCK.search(page):
        raise ValueError(f"{CONFIG_PAGE.relative_to(ROOT)}: no <!-- config-reference: ... --> block")
    return CONFIG_BLOCK.sub(lambda m: f"{m[1]}\n{reference.markdown()}\n{m[2]}", page, count=1)


def _mathjax() -> pathlib.Path:
    spec = importlib.util.find_spec("mathjax")
    folder = pathlib.Path(spec.origin).parent / "static" / "mathjax" if spec and spec.origin else None
    if folder is None or not all((folder / name).is_file() for name in MATHJAX):
        raise PluginError("MathJax not found: pip install -e '.[docs]' (the django-static-mathjax package)")
    return folder


def on_startup(command: str, dirty: bool) -> None:
    # nbconvert reads jupyter_nbconvert_config.json from each folder of JUPYTER_CONFIG_PATH.
    folders = [str(JUPYTER_CONFIG), *filter(None, os.environ.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep))]
    os.environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join(folders)


@event_priority(100)  # before mkdocs-jupyter looks for notebooks
def on_files(files: Files, config) -> Files:
    for pattern in SITE_FILES:
        for path in sorted(ROOT.glob(pattern)):
            uri = path.relative_to(ROOT).as_posix()
            files.append(File(uri, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    mathjax = _mathjax()
    for source, name in MATHJAX.items():
        files.append(File.generated(config, f"javascripts/mathjax/{name}", abs_src_path=str(mathjax / source)))
    return files


def _repository_path(page_src: pathlib.Path, target: str) -> pathlib.Path:
    return (page_src.parent / target).resolve()


def on_page_markdown(markdown: str, page, config, files: Files) -> str:
    if pathlib.Path(page.file.abs_src_path).resolve() == CONFIG_PAGE and config_reference(markdown) != markdown:
        raise PluginError(f"{page.file.src_uri}: the config reference differs from the schema; run {REGENERATE}")
    undocumented = _undocumented(markdown)
    if undocumented:
        raise PluginError(f"{page.file.src_uri}: no docstring with Examples: for {', '.join(undocumented)}")
    src = pathlib.Path(page.file.abs_src_path)
    docs = pathlib.Path(config["docs_dir"]).resolve()
    by_path = {pathlib.Path(f.abs_src_path).resolve(): f for f in files if f.abs_src_path}

    def rewrite(match: re.Match) -> str:
        opening, target, closing = match.groups()
        path, _, anchor = target.partition("#")
        if not path or re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", path):  # an anchor, or http:, mailto:
            return match.group(0)
        resolved = _repository_path(src, path)
        site_file = by_path.get(resolved)
        if site_file is not None:  # a page or figure of the site: link to it where the site has it
            relative = posixpath.relpath(site_file.src_uri, posixpath.dirname(page.file.src_uri) or ".")
            return f"{opening}{relative}{'#' + anchor if anchor else ''}{closing}"
        if resolved.is_relative_to(docs):
            return match.group(0)  # mkdocs reports it
        if not resolved.exists() or not resolved.is_relative_to(ROOT):
            raise PluginError(f"{page.file.src_uri}: link to {target}, which is not in the repository")
        return opening[:-2].lstrip("!").removeprefix("[")  # the link's text; the site has no source files

    return LINK.sub(rewrite, markdown)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Render the config reference (docs/reference/config.md) from the schema."
    )
    parser.add_argument("--write", action="store_true", help="update docs/reference/config.md in place")
    page = CONFIG_PAGE.read_text(encoding="utf-8")
    rendered = config_reference(page)
    if not parser.parse_args().write:
        print(rendered, end="")
    elif rendered != page:
        CONFIG_PAGE.write_text(rendered, encoding="utf-8")
        print(f"updated {CONFIG_PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
