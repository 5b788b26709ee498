"""The physics page docs/physics.md is what the code cites, and its citations and links hold.

Citations have one form only, `docs/physics.md, section N`, where N is the number of a heading
`## N. Title` of the page (each with an explicit anchor `<a id="section-N"></a>`).
"""

import pathlib
import re
import subprocess
from urllib.parse import unquote

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "physics.md"
THIS = pathlib.Path(__file__).resolve().relative_to(ROOT).as_posix()


# The project used to cite a physics write-up that lay outside the repository; these are the
# ways it was referred to.
STALE = (
    re.compile(re.escape("../shared")),
    re.compile(re.escape("shared/physics")),
    re.compile(r"physics[\s#]+note", re.IGNORECASE),  # also when wrapped in a comment
)

# Searched when git is not available (an unpacked archive, say).
WALKED = (
    "thermo_ode",
    "tests",
    "experiments",
    "notebooks",
    "configs",
    "docs",
    "benchmarks",
    "README.md",
    "pyproject.toml",
)
SKIPPED_DIRS = {"__pycache__", ".hypothesis", ".pytest_cache"}

# Where citations of the page live: code, tests, scripts, configs and notebooks.
CODE = ("thermo_ode/", "tests/", "experiments/", "notebooks/", "configs/", "benchmarks/")

MENTION = re.compile(re.escape("docs/physics.md"))
CITATION = re.compile(re.escape("docs/physics.md") + r",\s+section\s+(\d+)\b")
HEADING = re.compile(r"^## (\d+)\. \S.*$", re.MULTILINE)
ANCHOR = re.compile(r'<a id="([^"]+)"></a>')
INTERNAL = re.compile(r"\bsections?\s+(\d+)\b")
INLINE_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)


def _names():
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        return sorted({n for n in out.decode("utf-8").split("\0") if n} | {PAGE.relative_to(ROOT).as_posix()})
    except (OSError, subprocess.CalledProcessError):
        names = []
        for entry in WALKED:
            path = ROOT / entry
            files = [path] if path.is_file() else (p for p in path.rglob("*") if p.is_file())
            names += [p.relative_to(ROOT).as_posix() for p in files if not SKIPPED_DIRS & set(p.parts)]
        return sorted(names)


def text_files():
    """`(name, text)` for every tracked file that is text (binary files are skipped)."""
    for name in _names():
        path = ROOT / name
        if not path.is_file() or path.is_symlink():  # deleted in the working tree; a link is its target's text
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        try:
            yield name, data.decode("utf-8")
        except UnicodeDecodeError:
            continue


def _line(text, index):
    return text.count("\n", 0, index) + 1


def page_sections():
    return [int(n) for n in HEADING.findall(PAGE.read_text(encoding="utf-8"))]


def test_no_file_cites_the_physics_note_outside_the_repository():
    found = []
    for name, text in text_files():
        if name == THIS:
            continue
        for pattern in STALE:
            found += [f"{name}:{_line(text, m.start())}: {m.group()!r}" for m in pattern.finditer(text)]
    assert not found, "cite `docs/physics.md, section N` instead:\n" + "\n".join(found)


def test_page_sections_are_numbered_and_anchored():
    text = PAGE.read_text(encoding="utf-8")
    numbers = page_sections()
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    assert len(numbers) >= 10
    # Every section has its explicit anchor, and no anchor is left without a section.
    assert ANCHOR.findall(text) == [f"section-{n}" for n in numbers]
    # Cross-references inside the page name sections that exist.
    missing = [
        f"line {_line(text, m.start())}: {m.group()!r}"
        for m in INTERNAL.finditer(text)
        if int(m.group(1)) not in numbers
    ]
    assert not missing, missing


def test_every_citation_names_a_section_of_the_page():
    sections = set(page_sections())
    problems, cited = [], 0
    for name, text in text_files():
        if not name.startswith(CODE) or name == THIS:
            continue
        citations = {m.start(): int(m.group(1)) for m in CITATION.finditer(text)}
        for mention in MENTION.finditer(text):
            where = f"{name}:{_line(text, mention.start())}"
            if mention.start() not in citations:
                problems.append(f"{where}: not in the form `docs/physics.md, section N`")
            elif citations[mention.start()] not in sections:
                problems.append(f"{where}: section {citations[mention.start()]} is not a heading of docs/physics.md")
            else:
                cited += 1
    assert not problems, "\n".join(problems)
    assert cited >= 20, cited  # the code does cite the page


def _slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_relative_links_resolve_to_files_in_the_repository():
    text = PAGE.read_text(encoding="utf-8")
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    targets = [m.group(1) for m in INLINE_LINK.finditer(prose)] + REFERENCE_LINK.findall(prose)
    anchors = set(ANCHOR.findall(text)) | {_slug(m.group(0)[3:]) for m in HEADING.finditer(text)}
    broken, relative = [], 0
    for target in targets:
        if re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", target):  # http:, https:, mailto:
            continue
        relative += 1
        path, _, fragment = target.partition("#")
        if not path:
            if fragment not in anchors:
                broken.append(f"{target}: no such anchor on the page")
            continue
        resolved = (PAGE.parent / unquote(path)).resolve()
        if not resolved.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
        elif not resolved.is_file():
            broken.append(f"{target}: no such file")
    assert not broken, "\n".join(broken)
    assert relative > 0
