"""The figures of a stored run: `plot_run` draws every figure that applies to it, reading the run
through the store's functions; `NothingToPlot` for a run with no finished chunk."""

from __future__ import annotations

import os
import pathlib
import sys

import numpy as np

from .analysis import collapse_points, thermal
from .equilibrium_figures import plot_heat_capacity
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
    out_dir: str | os.PathLike[str], svg: bool = False, figures_dir: str | os.PathLike[str] | None = None
) -> list[str]:
    """Draw every figure that applies to a stored run and return the files written.

    The figures go to `figures_dir` (default `out_dir/figures`), as PNG and, with `svg`, SVG.
    Says on stderr why the collapse figure is left out when it is; raises `NothingToPlot` for
    a run with no committed chunk.

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
    written = []
    written += save(plot_trajectory(first), target / "trajectory", svg)
    written += save(plot_relaxation([series_from_results(raw, int(i)) for i in spread]), target / "relaxation", svg)
    written += save(plot_energy(first), target / "energy", svg)
    written += save(
        plot_phase_portrait([series_from_results(raw, int(i)) for i in spread[:4]]), target / "phase_portrait", svg
    )
    if raw.sizes["token"] == 3:
        written += save(plot_simplex([series_from_results(raw, int(i)) for i in spread]), target / "simplex", svg)
    if {"temperature", "mass"} <= set(keys) or "damping_ratio" in keys:
        written += save(plot_convergence_map(grid), target / "convergence_map", svg)
    if thermal(point_parameters(raw)):
        written += save(plot_thermal(raw.isel(point=done)), target / "thermal", svg)
    points, reason = collapse_points(raw)
    if points:
        written += save(plot_collapse([series_from_results(raw, i) for i in points]), target / "collapse", svg)
    else:
        print(f"collapse figure not drawn: {reason}", file=sys.stderr)
    spectra = {}
    for i in spread[:3]:
        s = series_from_results(raw, int(i))
        spectra[f"point {int(i)}"] = s.energies[s.mask]
    written += save(plot_heat_capacity(spectra), target / "heat_capacity", svg)
    return written
