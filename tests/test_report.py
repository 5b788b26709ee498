"""A run's report (`thermo-ode report`, `thermo_ode.report.write_report`): one self-contained
HTML page with the run's identity, its state and verdict, every figure and a table of its
points, failed first; an unfinished run says so at the top; and, in a real browser from
file:// with the network off, the page loads nothing, its figures show and its table sorts
and filters."""

import base64
import html.parser
import os
import shutil

import numpy as np
import pytest
from browser import open_page, skip_without_browser
from runs import reader_cli, run_once

from thermo_ode import report
from thermo_ode.report import contents as report_contents
from thermo_ode.report import figures as report_figures
from thermo_ode.report import page as report_page
from thermo_ode.sweeps import store

# 6 points of 2 query rows in 3 chunks: at T = 0.1 one row of each point fails (max_steps) and
# the other ends above the tolerance; the rest converge.
SMALL = """\
name: small
system:
  tokens: 4
  queries: 2
  energies: {kind: gaussian, scale: 1.0}
  damping_ratio: 0.5
sweep:
  temperature: [0.1, 1.0, 10.0]
  mass: [0.1, 10.0]
integrate: {t1: {relaxation_times: 10}, saves: 41, chunk_size: 2, max_steps: 300}
verify: {tolerance: 5.0e-5}
"""
ROWS, FAILED, NOT_CONVERGED = 12, 2, 2


@pytest.fixture(scope="module")
def small(once, cache_dir):
    """`(run folder, result)`: `thermo-ode run` of SMALL, once for all workers (read only: the
    tests report on copies)."""
    folder, result = run_once(
        once,
        "report-run",
        "run",
        "{folder}/small.yaml",
        "--out",
        "{folder}/out",
        cache_dir=cache_dir,
        files={"small.yaml": SMALL},
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return folder / "out", result


def _copy(run, tmp_path, name="run"):
    target = tmp_path / name
    shutil.copytree(run, target, ignore=shutil.ignore_patterns("figures", "report.html", ".thermo-ode.lock"))
    return target


@pytest.fixture(scope="module")
def finished(small, tmp_path_factory):
    """`(run folder, page path, parsed page)`: the report of a copy of the finished run."""
    run = _copy(small[0], tmp_path_factory.mktemp("report"))
    path = report.write_report(run)
    return run, path, Page.parse(path.read_text())


class Page(html.parser.HTMLParser):
    """What the tests read of a page: every tag's attributes, the table's rows (cells and
    class), the text of each element with an id, and the figures' captions."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.rows: list[tuple[str, list[str]]] = []
        self.texts: dict[str, str] = {}
        self.captions: list[str] = []
        self._open: list[tuple[str, str | None]] = []  # (tag, id) of the open elements
        self._cell = self._caption = None

    @classmethod
    def parse(cls, text: str) -> "Page":
        page = cls()
        page.feed(text)
        return page

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag not in ("img", "meta", "input", "br"):
            self._open.append((tag, attrs.get("id")))
        if tag == "tr" and "row" in attrs.get("class", "").split():
            self.rows.append((attrs["class"], []))
        if tag == "td" and self.rows and self._inside("tbody"):
            self._cell = []
        if tag == "figcaption":
            self._caption = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1][1].append("".join(self._cell))
            self._cell = None
        if tag == "figcaption" and self._caption is not None:
            self.captions.append("".join(self._caption))
            self._caption = None
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for part in (self._cell, self._caption):
            if part is not None:
                part.append(data)
        for _, element_id in self._open:
            if element_id:
                self.texts[element_id] = self.texts.get(element_id, "") + data

    def _inside(self, tag):
        return any(t == tag for t, _ in self._open)

    def attribute(self, name):
        return [(tag, attrs[name]) for tag, attrs in self.tags if attrs.get(name) is not None]


def test_run_prints_the_report_line(small):
    out, result = small
    text = result.stdout.replace("\n", "")
    assert f"figures: thermo-ode plot {out}" in text  # kept as it was
    assert f"report: thermo-ode report {out}   (writes {out / 'report.html'})" in text


def test_finished_page_rows_failed_first(finished):
    run, path, page = finished
    assert path == run / "report.html"
    state = [attrs for tag, attrs in page.tags if attrs.get("id") == "state"][0]
    assert state["data-state"] == "finished" and "alert" not in state["class"]
    assert "Finished: 3/3 chunks, checksums verified." in page.texts["state"]
    heads = [attrs["data-key"] for tag, attrs in page.tags if tag == "th" and "data-key" in attrs]
    assert heads[:3] == ["temperature", "mass", "query"]
    assert {"status", "converged", "final_distance", "relaxation_time", "predicted_relaxation_time"} <= set(heads)
    assert {"time_to_tolerance", "num_steps"} <= set(heads)
    assert len(page.rows) == ROWS  # one per point and query row
    column = {key: heads.index(key) for key in heads}
    kinds = [kind.split()[1:] for kind, _ in page.rows]
    assert kinds == [["failed"]] * FAILED + [["not-converged"]] * NOT_CONVERGED + [[]] * (ROWS - FAILED - NOT_CONVERGED)
    for _, cells in page.rows[:FAILED]:
        assert cells[column["status"]] == "max_steps_reached" and cells[column["converged"]] == "no"
    for _, cells in page.rows[FAILED : FAILED + NOT_CONVERGED]:
        assert cells[column["status"]] == "successful" and cells[column["converged"]] == "no"
        assert float(cells[column["final_distance"]]) > 5e-5
    for _, cells in page.rows[FAILED + NOT_CONVERGED :]:
        assert cells[column["converged"]] == "yes" and float(cells[column["final_distance"]]) < 5e-5
        assert float(cells[column["predicted_relaxation_time"]]) > 0 and int(cells[column["num_steps"]]) > 0
    # Within a group, rows go by point, then query row.
    rest = [(float(c[column["temperature"]]), float(c[column["mass"]])) for _, c in page.rows[FAILED + NOT_CONVERGED :]]
    assert rest == sorted(rest)


def test_finished_page_identity_and_verdict(finished):
    run, _, page = finished
    info = store.run_info(run)
    identity = page.texts["identity"]
    assert page.texts["config"] == SMALL  # the config as written
    for fact in (
        "name",
        "config digest",
        info.config_digest,
        "precision",
        "float64",
        f"backend {info.backend}, {info.device_count} device",
        "engine",
        "one process",
        "store format",
        str(store.STORE_FORMAT),
        "made",
        "created by thermo-ode",
        f"thermo-ode {info.versions['thermo-ode']}, jax {info.versions['jax']}",
    ):
        assert fact in identity, fact
    verdict = page.texts["verdict"]
    for fact in (
        f"points{ROWS} ",
        f"converged{ROWS - FAILED - NOT_CONVERGED} ",
        f"not converged{NOT_CONVERGED} ",
        f"failed{FAILED} ",
        "worst final distance",
        "at temperature=0.1, mass=",
        "slowest to tolerance",
    ):
        assert fact in verdict, (fact, verdict)
    # Measured over predicted relaxation time, over the solved rows where both exist, as the store has them.
    ds = store.open_results(run, grid=False)
    ratio = (ds["relaxation_time"] / ds["predicted_relaxation_time"]).where(ds["status"] == 0).values
    ratio = ratio[np.isfinite(ratio)]
    assert ratio.size >= ROWS - FAILED - NOT_CONVERGED
    assert (
        f"measured / predicted relaxation timemedian {np.median(ratio):.4g} (range {ratio.min():.4g} to "
        f"{ratio.max():.4g}) over {ratio.size} rows: the measured relaxation time is within"
    ) in verdict


def test_finished_page_is_self_contained_with_every_figure(finished):
    run, _, page = finished
    drawn = sorted(p.stem for p in (run / "figures").glob("*.png"))  # drawn for the page: the run had none
    assert len(drawn) >= 5
    figures = sorted(attrs["id"].removeprefix("figure-") for tag, attrs in page.tags if tag == "figure")
    assert figures == drawn
    assert len(page.captions) == len(drawn) and all(len(c) > 20 for c in page.captions)
    for tag, src in page.attribute("src") + page.attribute("href"):
        assert src.startswith(("data:", "#")), (tag, src[:80])  # no http(s), no file path
    images = [src for tag, src in page.attribute("src") if tag == "img"]
    assert len(images) == len(drawn)
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [tag for tag, attrs in page.tags if tag in ("link", "iframe", "object", "embed")]
    policy = [attrs["content"] for tag, attrs in page.tags if attrs.get("http-equiv") == "Content-Security-Policy"]
    assert policy == [report_page.POLICY] and "default-src 'none'" in policy[0]


def test_figures_are_reused_and_redrawn_when_older_than_the_store(finished, tmp_path):
    run, _, _ = finished
    copy = _copy(run, tmp_path)
    shutil.copytree(run / "figures", copy / "figures")
    changed = store.written_times(copy)[1]
    assert (
        report_figures.run_figures(copy, changed)
        .notes[0]
        .startswith(f"From {copy / 'figures'}: drawn by `thermo-ode plot`")
    )
    for png in (copy / "figures").glob("*.png"):
        os.utime(png, (0, 0))  # older than every file of the store
    notes = report_figures.run_figures(copy, changed).notes
    assert notes[0].startswith("Drawn for this page into") and "those there were older than the store" in notes[0]


def test_unfinished_run_says_so(small, tmp_path):
    run = _copy(small[0], tmp_path)
    store.uncommit(store.open_writable(run), [2])  # as a run killed before its last chunk
    (run / store.NETCDF_NAME).unlink()
    result = reader_cli("report", str(run))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(run / "report.html")
    assert f"report of {run}: Unfinished: 2/3 chunks" in result.stderr
    page = Page.parse((run / "report.html").read_text())
    state = [attrs for tag, attrs in page.tags if attrs.get("id") == "state"][0]
    assert state["data-state"] == "unfinished" and "alert" in state["class"].split()
    assert page.texts["state"].startswith("Unfinished: 2/3 chunks are in the store")
    assert len(page.rows) == ROWS - 4  # the points of the committed chunks only
    # The state comes first on the page, before the verdict.
    ids = [attrs["id"] for _, attrs in page.tags if attrs.get("id") in ("state", "verdict", "identity")]
    assert ids == ["state", "verdict", "identity"]


def test_long_tables_are_capped_with_the_way_to_every_row(finished):
    run, _, _ = finished
    contents = report_contents.read_contents(run, limit=5)
    page = Page.parse(report_page.render(contents))
    assert len(page.rows) == 5 and [k for k, _ in page.rows][:2] == ["row failed"] * 2
    note = page.texts["points-note"]
    assert f"{ROWS} rows" in note and f"Only the first 5 are here; the other {ROWS - 5}" in note
    snippet = note.split("with xarray: ")[1].removesuffix(".")
    import thermo_ode

    frame = eval(snippet, {"thermo_ode": thermo_ode})  # the note's own advice gets every row
    assert len(frame) == ROWS


def test_cli_report_out_missing_folder_and_damaged_store(finished, tmp_path):
    run, _, _ = finished
    target = tmp_path / "pages" / "small.html"
    result = reader_cli("report", str(run), "--out", str(target))
    assert result.returncode == 0 and result.stdout.strip() == str(target) and not result.stderr
    assert target.read_text().startswith("<!DOCTYPE html>")
    missing = reader_cli("report", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.strip() == f"{tmp_path / 'nothing'}: no run here (no results.zarr)"
    damaged = _copy(run, tmp_path, "damaged")
    (damaged / store.STORE_NAME / "final_distance" / "zarr.json").write_text("{}")
    result = reader_cli("report", str(damaged))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"{damaged}: damaged: metadata altered") and "Traceback" not in result.stderr
    assert not (damaged / "report.html").exists()


# In a browser: the cell values of a column, in the order shown, of the rows not hidden.
COLUMN = """key => {
    const heads = [...document.querySelectorAll('#points thead th')];
    const i = heads.findIndex(th => th.dataset.key === key);
    return [...document.querySelectorAll('#points tbody tr')].filter(r => !r.hidden).map(r => r.cells[i].textContent);
}"""


def test_page_in_a_browser_offline(finished):
    skip_without_browser()
    _, path, _ = finished
    with open_page(path) as seen:
        page = seen.page
        assert page.evaluate("() => document.images.length") >= 5
        assert page.evaluate("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
        assert page.evaluate("() => document.querySelectorAll('#points tbody tr').length") == ROWS
        page.click("#points th[data-key=final_distance]")
        shown = page.evaluate(COLUMN, "final_distance")
        numbers = [float(v) for v in shown if v]
        assert numbers == sorted(numbers) and len(numbers) == ROWS - FAILED
        assert shown[-FAILED:] == ["", ""]  # empty (NaN: failed) last
        assert page.get_attribute("#points th[data-key=final_distance]", "aria-sort") == "ascending"
        page.click("#points th[data-key=final_distance]")
        numbers = [float(v) for v in page.evaluate(COLUMN, "final_distance") if v]
        assert numbers == sorted(numbers, reverse=True)
        page.click("#points th[data-key=temperature]")
        temperatures = [float(v) for v in page.evaluate(COLUMN, "temperature")]
        assert temperatures == sorted(temperatures)
        page.fill("#filter", "max_steps")
        assert page.evaluate(COLUMN, "status") == ["max_steps_reached"] * FAILED
        assert page.text_content("#shown") == str(FAILED)
        page.fill("#filter", "successful no")  # every word: solved, not converged
        assert len(page.evaluate(COLUMN, "status")) == NOT_CONVERGED
        page.fill("#filter", "")
        assert len(page.evaluate(COLUMN, "status")) == ROWS
        assert not seen.errors, "\n".join(seen.errors)
        assert not seen.left, "requests that tried to leave the page:\n" + "\n".join(seen.left)
        assert not seen.failed, "\n".join(seen.failed)
