"""What a report says of a run, read through the store's functions: its identity (`RunInfo`),
its state (finished, unfinished, being written, damaged: from the store's `check`), its
verdict (`RunSummary`, and how the measured relaxation time compares with the linear
theory's), its figures and its table of points."""

from __future__ import annotations

import pathlib
import typing

import numpy as np

from .figures import Figures, run_figures
from .rows import LIMIT, Table, point_table

if typing.TYPE_CHECKING:
    from ..sweeps.store import RunInfo, Verification
    from ..sweeps.summary import RunSummary


class State(typing.NamedTuple):
    """How complete and sound the run is: `word` is "finished", "unfinished", "running" or
    "damaged", `lines` say it in full (the first is the headline)."""

    word: str
    lines: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """Whether the run is finished and intact (the page then has no warning)."""
        return self.word == "finished"


class Ratio(typing.NamedTuple):
    """Measured over predicted relaxation time, over the rows where both exist."""

    rows: int
    median: float
    low: float
    high: float


class Contents(typing.NamedTuple):
    """Everything the page shows of a run."""

    run_dir: pathlib.Path
    info: RunInfo
    summary: RunSummary
    state: State
    ratio: Ratio
    figures: Figures
    table: Table
    written: tuple[float, float]  # when the store's files were written, the oldest and the newest


def read_contents(run_dir: str | pathlib.Path, limit: int = LIMIT) -> Contents:
    """The contents of the report of the run in `run_dir`, its store verified first; chunks that
    fail their checksums are left out. Raises FileNotFoundError without a store, and
    `store.StoreDamaged` where its metadata is damaged (nothing it says can be trusted)."""
    from .. import sweeps
    from ..sweeps import store

    if not store.store_path(run_dir).is_dir():
        raise FileNotFoundError(f"{run_dir}: no run here (no {store.STORE_NAME})")
    run_dir = pathlib.Path(run_dir).resolve()  # the page names it wherever the page is read
    check = store.check(run_dir)
    if check.metadata_problem:
        raise store.StoreDamaged(f"{run_dir}: damaged: {check.metadata_problem}")
    holder = store.writer(run_dir)  # a live run: what follows is a moment of it
    info = store.run_info(run_dir)
    summary = sweeps.summarize(run_dir, exclude=check.damaged)
    table = point_table(run_dir, check.damaged, limit)
    state = _state(check, summary, holder, store.netcdf_problem(run_dir))
    written = store.written_times(run_dir)
    figures = run_figures(run_dir, written[1], damaged=state.word == "damaged")
    return Contents(run_dir, info, summary, state, _ratio(table.measured), figures, table, written)


def _state(check: Verification, summary: RunSummary, holder: str, netcdf: str) -> State:
    done = f"{summary.chunks_done}/{summary.chunks_total} chunks"
    extra = tuple(line for line in (check.describe_foreign(), netcdf) if line)
    if not check.intact:
        lines = (
            f"Damaged: {len(check.damaged)} of {check.committed} committed chunks fail their checksums and are "
            "left out of everything below; the same `thermo-ode run` recomputes them.",
            *check.describe(),
        )
        return State("damaged", lines + extra)
    if holder:
        return State(
            "running",
            (
                f"Running: another thermo-ode run ({holder}) is writing this store; {done} so far. This page is a moment of it.",
            )
            + extra,
        )
    if not summary.finished:
        said = (
            f"{done} are in the store; the points of the others are not on this page"
            if summary.chunks_done
            else f"none of its {summary.chunks_total} chunks is in the store yet"
        )
        return State("unfinished", (f"Unfinished: {said}. The same `thermo-ode run` resumes it.",) + extra)
    return State("finished", (f"Finished: {done}, checksums verified.",) + extra)


def _ratio(measured: np.ndarray) -> Ratio:
    if measured.size == 0:
        return Ratio(0, float("nan"), float("nan"), float("nan"))
    return Ratio(int(measured.size), float(np.median(measured)), float(measured.min()), float(measured.max()))
