"""The figures of a report: the PNGs `thermo-ode plot` wrote into the run folder, drawn anew by
the same function (`thermo_ode.plotting.plot_run`) where there are none newer than the store,
each with its caption, embedded in the page as a data: URI."""

from __future__ import annotations

import base64
import contextlib
import io
import os
import pathlib
import sys
import tempfile
import typing

# What each figure of `plot_run` shows, in the order it draws them; a PNG of another name in the
# figures folder is shown after them, captioned by its name.
CAPTIONS = {
    "trajectory": "One attention row relaxing: each weight rho_i(t), with its softmax value dashed.",
    "relaxation": (
        "Fisher-Rao distance to softmax against time for up to six points across the sweep, each with "
        "the linear theory's envelope exp(-rate t) dotted: where theory holds, the curves follow them."
    ),
    "energy": "The Hamiltonian H(t), the free energy F(rho(t)) and its equilibrium value F* = -T ln Z.",
    "phase_portrait": (
        "The slowest mode once the motion is linear: spirals where underdamped, straight paths where overdamped."
    ),
    "simplex": "Paths on the N = 3 simplex over free-energy contours, and the same paths on the sphere.",
    "convergence_map": (
        "The measured relaxation time across the sweep's grid, and measured over predicted "
        "(1 where the linear theory holds)."
    ),
    "thermal": "Heat-bath points: equipartition at every point, and the fluctuations about softmax.",
    "collapse": "Several masses at one damping ratio: against natural time tau = t sqrt(T/m) they are one curve.",
    "heat_capacity": "The heat capacity C(T) of the stored energy spectra, peaks marked.",
}
FIGURES = "figures"  # the folder of the run that `thermo-ode plot` writes by default


class Figure(typing.NamedTuple):
    """One figure of the page: its name (the file's stem), caption and PNG as a data: URI."""

    name: str
    caption: str
    uri: str


class Figures(typing.NamedTuple):
    """The figures of a run and where they came from (`notes`: what the page says of them)."""

    figures: tuple[Figure, ...]
    notes: tuple[str, ...]


def run_figures(run_dir: pathlib.Path, changed: float, damaged: bool = False) -> Figures:
    """The figures of the run in `run_dir`: those of its `figures/*.png` newer than its store
    (`changed`: when the store's newest file was written, `store.written_times`),
    else drawn by `plot_run` into `figures/` (into a temporary folder if the run folder cannot
    be written). Nothing is drawn from a `damaged` store (`thermo-ode plot` refuses it too):
    its figures are shown as they are, if it has any."""
    folder = run_dir / FIGURES
    found = sorted(folder.glob("*.png"))
    if damaged:
        said = "these were drawn by `thermo-ode plot` before" if found else "none is drawn from it"
        return Figures(_embedded(found), (f"The store is damaged: {said}; `thermo-ode run` repairs it.",))
    fresh = [p for p in found if p.stat().st_mtime >= changed]  # an older one: of an earlier state, or left over
    if fresh:
        return Figures(
            _embedded(fresh),
            (f"From {folder}: drawn by `thermo-ode plot` (or an earlier report) since the store last changed.",),
        )
    why = "those there were older than the store" if found else "there were none yet"
    try:
        try:
            note = f"Drawn for this page into {folder} by `thermo_ode.plotting.plot_run`, as `thermo-ode plot` draws them: {why}."
            return _drawn(run_dir, folder, note)
        except OSError:  # a run folder that cannot be written
            with tempfile.TemporaryDirectory(prefix="thermo-ode-report-") as scratch:
                note = f"Drawn for this page only, by `thermo_ode.plotting.plot_run`: {why}, and {run_dir} cannot be written."
                return _drawn(run_dir, pathlib.Path(scratch), note)
    except _Nothing as exc:
        return Figures((), (f"No figure: {exc}; then `thermo-ode plot {run_dir}` draws them.",))


class _Nothing(Exception):
    """`plotting.NothingToPlot`, said without importing plotting (and matplotlib) to catch it."""


def _drawn(run_dir: pathlib.Path, folder: pathlib.Path, note: str) -> Figures:
    """The figures `plot_run` draws into `folder`, with `note` and what it said on stderr (why a
    figure is left out), a note each."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # files only, no screen needed
    from ..plotting import NothingToPlot, plot_run

    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            written = plot_run(run_dir, figures_dir=folder)
    except NothingToPlot as exc:
        raise _Nothing(str(exc)) from None
    lines = said.getvalue().splitlines()
    reasons = [line.strip() for line in lines if "not drawn" in line]  # "collapse figure not drawn: why"
    other = [line for line in lines if line.strip() and "not drawn" not in line]
    if other:  # warnings and the like: passed on, not put on the page
        print("\n".join(other), file=sys.stderr)
    notes = (note, *(line[0].upper() + line[1:] + "." for line in reasons))
    return Figures(_embedded([pathlib.Path(p) for p in written if p.endswith(".png")]), notes)


def _embedded(paths: list[pathlib.Path]) -> tuple[Figure, ...]:
    """The PNGs at `paths` as figures, `plot_run`'s first in its order, each with its caption."""
    order = list(CAPTIONS)
    ranked = sorted(paths, key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.name))
    return tuple(
        Figure(p.stem, CAPTIONS.get(p.stem, p.stem.replace("_", " ")), _data_uri(p.read_bytes())) for p in ranked
    )


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
