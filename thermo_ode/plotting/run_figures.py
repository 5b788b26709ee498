"""The figures of a stored run: `plot_run` draws every figure that applies to it, reading the run
through the store's functions; `NothingToPlot` for a run with no finished chunk."""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure

from .analysis import collapse_points, thermal
from .equilibrium_figures import plot_run_heat_capacity
from .output import save
from .series import series_from_results
from .sweep_figures import plot_collapse, plot_convergence_map, plot_thermal
from .trajectory_figures import plot_energy, plot_phase_portrait, plot_relaxation, plot_simplex, plot_trajectory


class NothingToPlot(ValueError):
    """Raised by `plot_run` for a run that has no committed chunk yet.

    Examples:
        >>> import tempfile
        >>> from thermo_ode import plotting, sweeps
        >>> loaded = sweeps.parse('''
        ... name: demo
        ... system: {tokens: 3, energies: {kind: list, values: [0.0, 1.0, 2.0]}, temperature: 1.0}
        ... ''')
        >>> out = tempfile.mkdtemp()
        >>> _ = sweeps.run(loaded, out, chunks=range(0))  # the store, no chunk computed
        >>> try:
        ...     plotting.plot_run(out)
        ... except plotting.NothingToPlot as error:
        ...     print(error)
        /... has no finished chunk to plot yet; `thermo-ode run` computes them
    """


def plot_run(
    out_dir: str | os.PathLike[str],
    svg: bool = False,
    figures_dir: str | os.PathLike[str] | None = None,
    on_figure: Callable[[int, int, str], object] | None = None,
) -> list[str]:
    """Draw every figure that applies to a stored run and return the files written.

    The figures go to `figures_dir` (default `out_dir/figures`), as PNG and, with `svg`, SVG.
    Says on stderr why the collapse figure is left out when it is; raises `NothingToPlot` for
    a run with no committed chunk. `on_figure(done, total, name)` reports progress: before
    each figure is drawn (`name`: its file's name), and once at the end (`done == total`,
    `name` "").

    Examples:
        >>> import pathlib, tempfile
        >>> from thermo_ode import plotting, sweeps
        >>> out = sweeps.demo_run()  # a small finished sweep over two damping ratios
        >>> written = plotting.plot_run(out, figures_dir=tempfile.mkdtemp())
        >>> [pathlib.Path(name).name for name in written]
        ['trajectory.png', 'relaxation.png', 'energy.png', 'phase_portrait.png', 'simplex.png', 'convergence_map.png', 'heat_capacity.png']
    """
    from ..sweeps.store import grid_view, open_results, point_parameters, run_info, written_points

    out_dir = pathlib.Path(out_dir)
    target = pathlib.Path(figures_dir) if figures_dir else out_dir / "figures"
    raw = open_results(out_dir, grid=False)
    grid = grid_view(raw)
    keys = run_info(out_dir).sweep_keys
    done = written_points(raw)
    if done.size == 0:
        raise NothingToPlot(f"{out_dir} has no finished chunk to plot yet; `thermo-ode run` computes them")
    spread = done[np.linspace(0, done.size - 1, min(6, done.size)).round().astype(int)]
    first = series_from_results(raw, int(done[0]))

    def some(indices):
        return [series_from_results(raw, int(i)) for i in indices]

    figures: list[tuple[str, Callable[[], Figure]]] = [  # (file name, drawing), in the order drawn
        ("trajectory", lambda: plot_trajectory(first)),
        ("relaxation", lambda: plot_relaxation(some(spread))),
        ("energy", lambda: plot_energy(first)),
        ("phase_portrait", lambda: plot_phase_portrait(some(spread[:4]))),
    ]
    if raw.sizes["token"] == 3:
        figures.append(("simplex", lambda: plot_simplex(some(spread))))
    if {"temperature", "mass"} <= set(keys) or "damping_ratio" in keys:
        figures.append(("convergence_map", lambda: plot_convergence_map(grid)))
    if thermal(point_parameters(raw)):
        figures.append(("thermal", lambda: plot_thermal(raw.isel(point=done))))
    points, reason = collapse_points(raw)
    if points:
        figures.append(("collapse", lambda: plot_collapse(some(points))))
    else:
        print(f"collapse figure not drawn: {reason}", file=sys.stderr)
    figures.append(("heat_capacity", lambda: plot_run_heat_capacity(raw)))
    written = []
    for count, (name, draw) in enumerate(figures):
        if on_figure:
            on_figure(count, len(figures), name)
        written += save(draw(), target / name, svg)
    if on_figure:
        on_figure(len(figures), len(figures), "")
    return written
