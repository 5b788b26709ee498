"""The report's HTML: one self-contained page (style, script and figures inline; its content
security policy forbids it any request), and `write_report`, which writes it."""

from __future__ import annotations

import datetime
import html
import math
import os
import pathlib
import typing

from .assets import CSS, JS
from .contents import Contents, read_contents

if typing.TYPE_CHECKING:
    from .rows import Table

REPORT_NAME = "report.html"
# Nothing leaves the page: no request of any kind; images only from data: URIs, style and script inline.
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
_TABLE_VARIABLES = ["status", "converged", "final_distance", "relaxation_time", "time_to_tolerance", "num_steps"]


def write_report(out_dir: str | os.PathLike[str], path: str | os.PathLike[str] | None = None) -> pathlib.Path:
    """Write the report of the run in `out_dir`, one self-contained HTML page, and return its path.

    The page (default `out_dir/report.html`) shows the run's identity and config, whether it
    is finished (its store verified first: an unfinished or damaged run says so at the top),
    its verdict (counts, the worst final distance, the slowest time to tolerance, measured
    over predicted relaxation time), every figure of `thermo-ode plot` (those in
    `out_dir/figures`, drawn there first where missing or older than the store) and a table of
    its points that sorts and filters. It needs no network and no other file. Raises
    FileNotFoundError for a folder without a run, `store.StoreDamaged` for a store whose
    metadata is damaged.

    Examples:
        >>> from thermo_ode import report, sweeps
        >>> out = sweeps.demo_run()  # a small finished sweep over two damping ratios
        >>> page = report.write_report(out)
        >>> page.name, page.parent == out
        ('report.html', True)
        >>> text = page.read_text()
        >>> "<title>thermo-ode report: demo</title>" in text, text.count('<tr class="row')
        (True, 2)
    """
    return write_page(read_contents(pathlib.Path(out_dir)), path)


def write_page(contents: Contents, path: str | os.PathLike[str] | None = None) -> pathlib.Path:
    """Write the page of `contents` at `path` (default: `report.html` in the run folder; a
    folder: `report.html` in it) and return where it is."""
    target = pathlib.Path(path) if path is not None else contents.run_dir / REPORT_NAME
    if target.is_dir():
        target = target / REPORT_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")  # two writers never share one
    try:
        partial.write_text(render(contents), encoding="utf-8")
        os.replace(partial, target)  # a reader never sees half a page
    finally:
        partial.unlink(missing_ok=True)
    return target


def render(contents: Contents) -> str:
    """The page of `contents`, as HTML text."""
    from .. import __version__

    name = html.escape(contents.info.name)
    now = _when(datetime.datetime.now(datetime.UTC).timestamp())
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>thermo-ode report: {name}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            f"<h1>Run <code>{name}</code></h1>",
            f'<p class="muted">{html.escape(str(contents.run_dir))}</p>',
            _state(contents),
            _verdict(contents),
            _identity(contents),
            _figures(contents),
            _table(contents.table, contents.run_dir),
            f'<p class="muted">Written {now} by thermo-ode {html.escape(__version__)} '
            f"(<code>thermo-ode report {html.escape(str(contents.run_dir))}</code>).</p>",
            f"<script>{JS}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _state(contents: Contents) -> str:
    state = contents.state
    kind = "finished" if state.complete else "alert"
    lines = "".join(f"<p>{_code(line)}</p>" for line in state.lines)  # the first, the headline, in bold if an alert
    return f'<section id="state" class="state {kind}" data-state="{state.word}">{lines}</section>'


def _verdict(contents: Contents) -> str:
    s, ratio = contents.summary, contents.ratio
    facts = [
        ("points", f"{s.points} (a point is one query row of one grid point)"),
        ("converged", f"{s.converged} (final Fisher-Rao distance to softmax below {s.tolerance:g})"),
        ("not converged", f"{s.not_converged} (solved, still above the tolerance at t1)"),
        ("failed", f"{s.failed} (solver status other than successful)"),
    ]
    if s.thermal:
        facts.append(
            (
                "thermal",
                f"{s.thermal} in a heat bath: they fluctuate about softmax and are not counted as converging; "
                f"mean kinetic energy over equipartition (N-1) T_b/2 = {s.equipartition:.4f}",
            )
        )
    if s.worst_at:
        facts.append(("worst final distance", f"{s.worst_final_distance:.2g} rad at {s.worst_at}"))
    if s.slowest_at:
        facts.append(("slowest to tolerance", f"t = {s.slowest_to_tolerance:.4g} at {s.slowest_at}"))
    facts.append(("measured / predicted relaxation time", _ratio_text(ratio)))
    return '<section id="verdict"><h2>Verdict</h2>' + _facts(facts) + "</section>"


def _ratio_text(ratio) -> str:
    if not ratio.rows:
        return "no row has both (its saves cannot tell the decay rate)"
    off = max(abs(ratio.high - 1.0), abs(1.0 - ratio.low))
    return (
        f"median {ratio.median:.4g} (range {ratio.low:.4g} to {ratio.high:.4g}) over {_plural(ratio.rows, 'row')}: "
        f"the measured relaxation time is within {100 * off:.3g}% of the linear theory's at every row where "
        "both exist"
    )


def _identity(contents: Contents) -> str:
    info = contents.info
    versions = ", ".join(f"{package} {version}" for package, version in info.versions.items())
    facts = [
        ("name", info.name),
        ("config digest", info.config_digest),
        ("precision", info.precision),
        ("machine", f"backend {info.backend}, {_plural(info.device_count, 'device')}"),
        ("engine", info.engine),
        ("sweep", _sweep(info)),
        (
            "made",
            f"{info.history or '?'}; its files written {_when(contents.written[0])} to {_when(contents.written[1])}",
        ),
        ("store format", str(info.store_format)),
        ("Python", info.python),
        ("versions", versions),
    ]
    config = html.escape(info.config_text) if info.config_text else "(not recorded)"
    return (
        '<section id="identity"><h2>Run</h2>'
        + _facts(facts)
        + f'<h3>Config, as written</h3><pre id="config">{config}</pre></section>'
    )


def _sweep(info) -> str:
    if not info.sweep_keys:
        return "no sweep: one point"
    grid = " x ".join(f"{n} {key}" for key, n in zip(info.sweep_keys, info.grid_shape))
    return f"{grid} = {_plural(math.prod(info.grid_shape), 'grid point')}, in chunks of {info.chunk_size}"


def _when(posix: float) -> str:
    return datetime.datetime.fromtimestamp(posix, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _figures(contents: Contents) -> str:
    figures = contents.figures
    notes = "".join(f'<p class="note">{_code(note)}</p>' for note in figures.notes)
    items = "".join(
        f'<figure id="figure-{html.escape(f.name)}"><img src="{f.uri}" alt="{html.escape(f.caption)}">'
        f"<figcaption>{html.escape(f.caption)}</figcaption></figure>"
        for f in figures.figures
    )
    return f'<section id="figures"><h2>Figures</h2>{notes}{items}</section>'


def _table(table: Table, run_dir: pathlib.Path) -> str:
    heads = "".join(
        f'<th data-key="{html.escape(c.key)}" data-type="{"number" if c.numeric else "text"}" '
        f'class="{"num" if c.numeric else "text"}" title="{html.escape(c.title)}" aria-sort="none">'
        f'<button type="button">{html.escape(c.heading)}</button></th>'
        for c in table.columns
    )
    text = [f"#points td:nth-child({i + 1})" for i, c in enumerate(table.columns) if not c.numeric]
    style = f"<style>{', '.join(text)} {{ text-align: left; }}</style>" if text else ""  # no class on every cell
    body = "\n".join(
        f'<tr class="row {kind}">' + "".join(f"<td>{html.escape(v)}</td>" for v in cells) + "</tr>"
        for cells, kind in zip(table.cells, table.kinds)
    )
    note = (
        f"{table.total} rows, one per point and query row: the failed first (red), then those that did not "
        "converge (yellow), then the rest. Click a heading to sort by it; type to keep the rows holding every word."
    )
    if table.left_out:
        note += (
            f" Only the first {len(table.cells)} are here; the other {table.left_out}, and every row, with xarray: "
            f"<code>thermo_ode.open_results({html.escape(repr(str(run_dir)))}, grid=False)"
            f"[{html.escape(repr(_TABLE_VARIABLES))}].to_dataframe()</code>."
        )
    box = (
        '<input id="filter" type="search" placeholder="filter: e.g. failed, or 0.5 not-converged" aria-label="filter the rows"> '
        f'<span class="muted"><span id="shown">{len(table.cells)}</span> rows shown</span>'
    )
    return (
        f'<section id="points-section"><h2>Points</h2>{style}<p id="points-note" class="note">{note}</p>{box}'
        f'<table id="points" class="points"><thead><tr>{heads}</tr></thead>\n<tbody>\n{body}\n</tbody></table></section>'
    )


def _facts(facts: list[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{_code(v)}</dd>" for k, v in facts)
    return f'<dl class="facts">{items}</dl>'


def _code(text: str) -> str:
    """`text` escaped, its `backticked` spans as code."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
