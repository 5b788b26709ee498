"""Figures of a sweep: the convergence map (measured relaxation time against the linear theory)
over its grid, the mass collapse (several masses at one damping ratio, against physical and
natural time) and the heat-bath statistics."""

from __future__ import annotations

import itertools
import typing
import warnings
from collections.abc import Sequence

import matplotlib
import matplotlib.patheffects
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..formulas import decay_rate, equipartition
from .analysis import same_damping_ratio
from .output import NATURAL_TIME, PHYSICAL_TIME, SEQUENTIAL, colors, log_ticks, nice_values, stored_label
from .series import Series

if typing.TYPE_CHECKING:
    import xarray as xr


# Where no point has a measured relaxation time, the panels say why rather than draw an empty scale.
BOX = dict(facecolor="white", edgecolor="0.6", alpha=0.9)
NOT_MEASURED = "no point has a measured relaxation time:\ntoo few saves to fit a rate (save more often)\nor no decay"
# A damping-ratio sweep draws one line per combination of its other axes, up to this many.
MAX_LINES = 8
SHORT = {"temperature": "T", "mass": "m", "damping": "gamma"}


def plot_convergence_map(ds: xr.Dataset) -> Figure:
    """The measured relaxation time `1/rate` of a sweep against the linear theory's, across its grid.

    Like with like: the store's `relaxation_time` (fitted to the decay of the distance to
    softmax) and its ratio to `predicted_relaxation_time`, 1 wherever the linear theory holds
    (the time to tolerance is not drawn: it is about ln(d(0)/tolerance) relaxation times). A
    damping-ratio sweep is drawn against zeta, one line per combination of the other swept
    axes (up to `MAX_LINES`; beyond, one line per value of the first and the median over the
    rest, which the title names), with the line zeta = 1. Without damping_ratio, a temperature
    x mass grid is drawn as a map with the critical-damping line gamma = 2 sqrt(m T) where it
    falls in the grid, each cell the median over the other axes, which the title names. Several
    query rows are pooled by their median, also named. Where no point has a measured relaxation
    time (too few saves), the panels say so. `ds` is the grid view, `open_results(DIR)`; raises
    `ValueError` for a sweep with neither damping_ratio nor temperature and mass.

    Examples:
        >>> from thermo_ode import plotting, sweeps
        >>> out = sweeps.demo_run()  # two damping ratios, 5 saves: too few to measure a rate
        >>> fig = plotting.plot_convergence_map(sweeps.open_results(out))
        >>> fig.get_suptitle()
        "Relaxation time against damping ratio: run 'demo'"
        >>> print(fig.axes[1].texts[0].get_text())
        no point has a measured relaxation time:
        too few saves to fit a rate (save more often)
        or no decay
    """
    dims = [str(d) for d in ds["relaxation_time"].dims if d != "query"]
    others = [d for d in dims if d != "damping_ratio" and ds.sizes[d] > 1]
    lines = int(np.prod([ds.sizes[d] for d in others]))
    grid = {"temperature", "mass"} <= set(dims)
    if "damping_ratio" in dims and not (grid and lines > MAX_LINES):
        return _against_damping_ratio(ds, others if lines <= MAX_LINES else others[:1])
    if grid:
        return _temperature_mass_map(ds)
    raise ValueError("plot_convergence_map needs damping_ratio, or temperature and mass, among the sweep axes")


def _against_damping_ratio(ds, line_dims: list[str]) -> Figure:
    """Measured and predicted relaxation times, and their ratio, against zeta: one line per
    combination of `line_dims`, the median over the other axes."""
    ds, shown = _at_most_lines(ds, line_dims)
    measured, predicted = ds["relaxation_time"], ds["predicted_relaxation_time"]
    pooled = [d for d in measured.dims if d not in ("damping_ratio", *line_dims)]
    times, labels = _lines(_median(measured, pooled), line_dims)
    theory, _ = _lines(_median(predicted, [d for d in pooled if d in predicted.dims]), line_dims)
    ratios, _ = _lines(_median(measured / predicted, pooled), line_dims)
    zeta = ds["damping_ratio"].values
    fine = np.geomspace(zeta.min(), zeta.max(), 200)
    # In natural time the predicted rate is a function of zeta alone: rate = omega0 g(zeta).
    g, g_fine = (decay_rate(1.0, 1.0, 2 * z) for z in (zeta, fine))
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.6), layout="constrained", sharex=True)
    for j, color in enumerate(colors(len(labels))):
        omega0 = np.nanmedian(1 / (theory[:, j] * g))
        axes[0].plot(zeta, times[:, j], "o", color=color, label=labels[j])
        axes[0].plot(fine, 1 / (omega0 * g_fine), "--", color=color, lw=1.1)
        axes[1].plot(zeta, ratios[:, j], "o-", color=color, label=labels[j])
    axes[1].axhline(1.0, color="0.3", ls="--", lw=1, label="linear theory holds")
    finite = ratios[np.isfinite(ratios)]
    axes[1].set_ylim(min(0.8, 0.95 * finite.min(initial=1)), max(1.25, 1.05 * finite.max(initial=1)))
    axes[0].set(yscale="log", ylabel=stored_label(ds["relaxation_time"], "relaxation time 1/rate"))
    axes[0].set_title("Relaxation time: measured (dots), linear theory (dashed)", fontsize=10)
    axes[1].set(ylabel="measured / predicted relaxation time")
    # At zeta = 1 the decay is (a + b t) e^(-omega0 t): the fitted exponential reads slow there.
    axes[1].set_title("Measured over predicted: 1 for an exponential decay (not at zeta = 1)", fontsize=10)
    for ax in axes:
        ax.axvline(1.0, color="0.5", ls=":", label="critical zeta = 1")
        ax.set(xscale="log", xlabel=stored_label(ds["damping_ratio"]))
        log_ticks(ax.xaxis, np.append(zeta, 1.0))  # the swept values and critical damping
        if not finite.size:
            ax.text(0.5, 0.5, NOT_MEASURED, transform=ax.transAxes, ha="center", va="center", fontsize=8, bbox=BOX)
    low, high = axes[0].get_ylim()
    log_ticks(axes[0].yaxis, nice_values(low, high), min_gap=0.08)
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), title=" x ".join(line_dims) or None)
    notes = shown + _median_note(ds, pooled) + _measured_note(measured)
    fig.suptitle(_title(ds, "Relaxation time against damping ratio", tolerance=False) + notes)
    return fig


def _temperature_mass_map(ds) -> Figure:
    """Measured relaxation time and measured / predicted over a temperature x mass grid (the
    median over the other axes), each cell written on the map when there are few."""
    measured = ds["relaxation_time"]
    pooled = [d for d in measured.dims if d not in ("temperature", "mass")]
    fields = (_median(measured, pooled), _median(measured / ds["predicted_relaxation_time"], pooled))
    T, m = ds["temperature"].values, ds["mass"].values
    gamma = _damping_values(ds)
    labels = (stored_label(measured, "measured relaxation time 1/rate"), "measured / predicted relaxation time")
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.6), layout="constrained")
    for ax, field, label in zip(axes, fields, labels):
        values = field.transpose("mass", "temperature").values
        finite = values[np.isfinite(values) & (values > 0)]
        if finite.size:
            ratio = field is fields[1]
            norm: matplotlib.colors.Normalize
            if ratio:
                norm = matplotlib.colors.TwoSlopeNorm(1.0, min(0.8, finite.min()), max(1.25, finite.max()))
            elif finite.max() > 10 * finite.min():
                norm = matplotlib.colors.LogNorm(finite.min(), finite.max())
            else:
                norm = matplotlib.colors.Normalize(finite.min(), finite.max())
            mesh = ax.pcolormesh(
                _log_edges(T), _log_edges(m), values, cmap="RdBu_r" if ratio else SEQUENTIAL, norm=norm
            )
            bar = fig.colorbar(mesh, ax=ax, label=label)
            if isinstance(norm, matplotlib.colors.LogNorm):
                log_ticks(bar.ax.yaxis, nice_values(finite.min(), finite.max()))
            if values.size <= 64:
                _write_cells(ax, mesh, T, m, values)
        else:
            ax.text(0.5, 0.5, NOT_MEASURED, transform=ax.transAxes, ha="center", va="center", fontsize=8, bbox=BOX)
        if gamma.size == 1 and gamma[0] > 0:  # fixed damping: zeta = 1 on m = gamma^2 / (4 T)
            tt = np.geomspace(_log_edges(T)[0], _log_edges(T)[-1], 100)
            halo = [matplotlib.patheffects.withStroke(linewidth=3, foreground="w")]
            ax.plot(
                tt, gamma[0] ** 2 / (4 * tt), "k--", lw=1.3, path_effects=halo, label="critical: gamma = 2 sqrt(mT)"
            )
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))
        ax.set(xscale="log", yscale="log", xlim=_log_edges(T)[[0, -1]], ylim=_log_edges(m)[[0, -1]])
        ax.set(xlabel=stored_label(ds["temperature"]), ylabel=stored_label(ds["mass"]))
        ax.set_title(label, fontsize=10)
        log_ticks(ax.xaxis, T)
        log_ticks(ax.yaxis, m, min_gap=0.08)
    notes = _median_note(ds, pooled) + _measured_note(measured)
    fig.suptitle(_title(ds, "Relaxation time against the linear theory", tolerance=False) + notes)
    return fig


def _write_cells(ax, mesh, T, m, values) -> None:
    """Each cell's value written at its centre, dark or light to read against its colour."""
    for i, mass in enumerate(m):
        for j, temperature in enumerate(T):
            if np.isfinite(values[i, j]):
                r, g, b, _ = mesh.cmap(mesh.norm(values[i, j]))
                ink = "k" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "w"
                ax.text(temperature, mass, f"{values[i, j]:.3g}", ha="center", va="center", fontsize=7, color=ink)


def _median(field, pooled):
    """The median over `pooled` (NaN where every value is: a slice without a measurement)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices
        return field.median(pooled) if pooled else field


def _at_most_lines(ds, line_dims):
    """`ds` with a single line axis thinned to `MAX_LINES` evenly spread values, and the title
    line that says so ("" when nothing is left out)."""
    if len(line_dims) != 1 or ds.sizes[line_dims[0]] <= MAX_LINES:
        return ds, ""
    (d,) = line_dims
    kept = np.unique(np.linspace(0, ds.sizes[d] - 1, MAX_LINES).round().astype(int))
    return ds.isel({d: kept}), f"\n{d}: {kept.size} of {ds.sizes[d]} values shown, evenly spread"


def _lines(field, line_dims):
    """`(values (zeta, lines), labels)`: a field against damping_ratio, one column per
    combination of `line_dims` ("T = 0.5, seed = 1"; "all points" when there are none)."""
    f = field.transpose("damping_ratio", *line_dims)
    values = np.asarray(f.values, float).reshape(f.sizes["damping_ratio"], -1)
    combos = itertools.product(*(f[d].values for d in line_dims))
    labels = [", ".join(f"{SHORT.get(d, d)} = {v:g}" for d, v in zip(line_dims, combo)) for combo in combos]
    return values, labels if line_dims else ["all points"]


def _measured_note(measured) -> str:
    """A title line counting the systems without a measured relaxation time ("" if none lacks one)."""
    values = np.asarray(measured.values, float)
    missing = int((~np.isfinite(values)).sum())
    if missing == 0 or missing == values.size:
        return ""
    return f"\nrelaxation time measured for {values.size - missing} of {values.size} systems (the rest: too few saves or no decay)"


def _median_note(ds, pooled) -> str:
    """A title line naming the axes a median was taken over (those with more than one value)."""
    many = [f"{d} ({ds.sizes[d]} values)" for d in pooled if ds.sizes[d] > 1]
    return f"\neach value: median over {', '.join(many)}" if many else ""


def _log_edges(values):
    """Cell edges halfway (geometrically) between grid values, so cells are even on log axes."""
    v = np.sort(np.asarray(values, float))
    if v.size == 1:
        return np.array([v[0] / 1.5, v[0] * 1.5])
    mid = np.sqrt(v[1:] * v[:-1])
    return np.concatenate([[v[0] ** 2 / mid[0]], mid, [v[-1] ** 2 / mid[-1]]])


def _damping_values(grid) -> np.ndarray:
    """The distinct damping coefficients of a grid view."""
    from ..sweeps.store import point_parameters

    return np.unique(np.round(point_parameters(grid)["damping"], 12))


def _title(ds, what: str, tolerance: bool = True) -> str:
    """A sweep figure's title: what it shows, the run's name and (if it matters) its tolerance."""
    from ..sweeps.store import dataset_info

    info = dataset_info(ds)
    return f"{what}: run '{info.name}'" + (f", tolerance {info.tolerance:g}" if tolerance else "")


def plot_collapse(series: Sequence[Series]) -> Figure:
    """The same problem at several masses and one damping ratio, against physical and natural time.

    Different clocks in physical time, one curve in natural time `tau = t sqrt(T/m)`. Refuses
    (ValueError) series that differ in anything but the mass and the damping that keeps zeta
    fixed, where the claim is false.

    Examples:
        At `zeta = 0.5` (`gamma = sqrt(m)` for `T = 1`):

        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0)
        >>> series = [
        ...     plotting.series_from_trajectory(to.solve(system.replace(mass=m, damping=m**0.5), jnp.full(3, 1 / 3), 20.0, saves=21))
        ...     for m in (0.5, 2.0)
        ... ]
        >>> plotting.plot_collapse(series).get_suptitle()
        'Mass only sets the clock (T = 1, zeta = 0.5)'
    """
    zetas = np.array([s.damping_ratio for s in series])
    if not same_damping_ratio(zetas):
        raise ValueError(
            f"no collapse to draw: the damping ratio zeta differs between the masses ({np.min(zetas):.3g} to {np.max(zetas):.3g})"
        )
    first = series[0]
    if not all(
        np.allclose(s.energies / s.temperature, first.energies / first.temperature)
        and np.allclose(s.rho[0], first.rho[0])
        for s in series
    ):
        raise ValueError("no collapse to draw: the series differ in E/T or in their start, not only in mass")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    ordered = sorted(series, key=lambda s: s.mass)
    for color, s in zip(colors(len(ordered)), ordered):
        label = f"m = {s.mass:.3g}"
        axes[0].semilogy(s.t, np.maximum(s.distance, 1e-12), color=color, lw=1.3, label=label)
        axes[1].semilogy(s.t * s.natural_frequency, np.maximum(s.distance, 1e-12), color=color, lw=1.3, label=label)
    axes[0].set(xlabel=PHYSICAL_TIME, ylabel="Fisher-Rao distance to softmax (rad)", title="against physical time")
    axes[1].set(xlabel=NATURAL_TIME, title="against natural time: one curve")
    for ax in axes:
        ax.legend(fontsize=8, title="mass")
    fig.suptitle(f"Mass only sets the clock (T = {first.temperature:.3g}, zeta = {zetas[0]:.3g})")
    return fig


def plot_thermal(ds: xr.Dataset) -> Figure:
    """A heat-bath sweep: mean kinetic energy over equipartition, and mean distance to softmax.

    Left, the measured mean kinetic energy over equipartition `(N - 1) T_b / 2` (should be 1);
    right, the mean Fisher–Rao distance to softmax against `T_b / T` with the small-`T_b`
    prediction: `sqrt(T_b/T)` times the mean of a chi distribution with `N - 1` degrees of
    freedom (each mode amplitude has variance `T_b / T`). `ds` is `open_results(DIR,
    grid=False)`.

    Examples:
        >>> import tempfile
        >>> from thermo_ode import plotting, sweeps
        >>> loaded = sweeps.parse('''
        ... name: bath
        ... precision: float32
        ... system: {tokens: 3, energies: {kind: list, values: [0.0, 1.0, 2.0]}, temperature: 1.0, damping_ratio: 1.0}
        ... sweep: {bath_temperature: [0.05, 0.1]}
        ... integrate: {t1: {natural: 50}, dt: {natural: 0.1}, saves: 51}
        ... ''')
        >>> out = tempfile.mkdtemp()
        >>> sweeps.run(loaded, out).thermal
        2
        >>> fig = plotting.plot_thermal(sweeps.open_results(out, grid=False))
        >>> [ax.get_title() for ax in fig.axes]
        ['Equipartition', 'Fluctuations about softmax']
    """
    from scipy.special import gammaln

    from ..sweeps.store import point_parameters

    raw = ds
    parameters = point_parameters(raw)
    bath, T = parameters["bath_temperature"], parameters["temperature"]
    hot = bath > 0
    live = raw["mask"].values.sum(-1)  # (point, query)
    kinetic = raw["mean_kinetic_energy"].values
    ratio = kinetic[hot] / equipartition(live[hot], bath[hot, None])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    axes[0].semilogx(
        np.repeat(bath[hot], ratio.shape[1]), ratio.ravel(), "o", color=colors(1)[0], alpha=0.6, label="points"
    )
    axes[0].axhline(1.0, color="0.3", ls="--", label="equipartition")
    axes[0].set(xlabel="bath temperature T_b (units of E)", ylabel="<K> / ((N - 1) T_b / 2)", title="Equipartition")
    axes[0].legend(fontsize=8)
    x = (bath / T)[hot]
    axes[1].loglog(
        np.repeat(x, kinetic.shape[1]),
        raw["mean_distance"].values[hot].ravel(),
        "o",
        color=colors(2)[1],
        alpha=0.6,
        label="measured mean distance",
    )
    dof = live[hot].max() - 1
    chi_mean = np.exp(0.5 * np.log(2) + gammaln((dof + 1) / 2) - gammaln(dof / 2))
    xx = np.geomspace(x.min(), x.max(), 50)
    axes[1].loglog(xx, chi_mean * np.sqrt(xx), "k--", lw=1, label=f"small-T_b theory (N - 1 = {dof} modes)")
    axes[1].set(xlabel="T_b / T", ylabel="mean Fisher-Rao distance to softmax", title="Fluctuations about softmax")
    axes[1].legend(fontsize=8)
    fig.suptitle(_title(ds, "Heat bath"))
    return fig
