"""Figures of a sweep: the convergence map over its grid, the mass collapse (several masses at one
damping ratio, against physical and natural time) and the heat-bath statistics."""

from __future__ import annotations

import typing
from collections.abc import Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..formulas import equipartition
from .analysis import same_damping_ratio
from .output import NATURAL_TIME, PHYSICAL_TIME, SEQUENTIAL, colors
from .series import Series

if typing.TYPE_CHECKING:
    import xarray as xr


def plot_convergence_map(ds: xr.Dataset) -> Figure:
    """The measured relaxation time of a sweep, and measured over predicted, across its grid.

    Over a temperature x mass grid, with the critical-damping line gamma = 2 sqrt(m T) where it
    falls in the grid. Without both axes, a damping-ratio sweep is drawn against zeta with the
    line zeta = 1. Each value is the median over the other axes, which the title names. `ds` is
    the grid view, `open_results(DIR)`; raises `ValueError` for a sweep with neither.

    Examples:
        >>> from thermo_ode import plotting, sweeps
        >>> out = sweeps.demo_run()  # a small finished sweep over two damping ratios
        >>> fig = plotting.plot_convergence_map(sweeps.open_results(out))
        >>> fig.get_suptitle()
        "Convergence against damping ratio: run 'demo', tolerance 0.0001"
    """
    dims = ds["relaxation_time"].dims
    shown: tuple[str, ...]
    if {"temperature", "mass"} <= set(dims):
        shown = ("temperature", "mass")
    elif "damping_ratio" in dims:
        shown = ("damping_ratio",)
    else:
        raise ValueError("plot_convergence_map needs temperature and mass, or damping_ratio, among the sweep axes")
    pooled = [d for d in dims if d not in shown]
    measured = ds["relaxation_time"].median(pooled)
    predicted = ds["predicted_relaxation_time"].median([d for d in pooled if d in ds["predicted_relaxation_time"].dims])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
    if shown == ("temperature", "mass"):
        T, m = ds["temperature"].values, ds["mass"].values
        gamma = _damping_values(ds)
        # Time to reach the tolerance over the e-folding time 1/rate is ln(d_linear / tol) when
        # the linear theory holds: the same number at every grid point.
        panels = (
            (axes[0], measured, "measured relaxation time (time unit of the inputs)"),
            (axes[1], measured / predicted, "measured time to tolerance x predicted rate"),
        )
        for ax, field, label in panels:
            values = field.transpose("mass", "temperature").values
            relaxed = np.isfinite(values) & (values > 0)
            mesh = ax.pcolormesh(
                _log_edges(T),
                _log_edges(m),
                values,
                cmap=SEQUENTIAL,
                norm=matplotlib.colors.LogNorm() if field is measured and relaxed.any() else None,
            )
            if relaxed.any():
                fig.colorbar(mesh, ax=ax, label=label)
            else:  # nothing to colour: say so rather than draw an empty scale
                ax.text(0.5, 0.5, "no point relaxed to the tolerance", transform=ax.transAxes, ha="center")
            if gamma.size == 1 and gamma[0] > 0:  # fixed damping: zeta = 1 on m = gamma^2 / (4 T)
                tt = np.geomspace(T.min(), T.max(), 100)
                ax.plot(tt, gamma[0] ** 2 / (4 * tt), "w--", lw=1.5, label="critical: gamma = 2 sqrt(mT)")
                ax.set_ylim(_log_edges(m)[0], _log_edges(m)[-1])
                ax.legend(fontsize=7, loc="lower right")
            ax.set(xscale="log", yscale="log", xlabel="temperature T (units of E)", ylabel="mass m", title=label)
        fig.suptitle(_title(ds, "Convergence map") + _median_note(ds, pooled))
    else:
        zeta = ds["damping_ratio"].values
        axes[0].semilogy(zeta, measured.values, "o-", color=colors(2)[0], label="measured")
        axes[0].semilogy(zeta, predicted.values, "--", color=colors(2)[1], label="1 / predicted rate")
        axes[1].plot(zeta, (measured / predicted).values, "o-", color=colors(1)[0], label="measured / predicted")
        for ax in axes:
            ax.axvline(1.0, color="0.4", ls=":", label="critical zeta = 1")
            ax.set(xscale="log", xlabel="damping ratio zeta = gamma / (2 sqrt(mT))")
            ax.legend(fontsize=8)
        axes[0].set(ylabel="relaxation time (time unit of the inputs)")
        axes[1].set(ylabel="measured / predicted")
        fig.suptitle(_title(ds, "Convergence against damping ratio") + _median_note(ds, pooled))
    return fig


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


def _title(ds, what: str) -> str:
    """A sweep figure's title: what it shows, the run's name and its tolerance."""
    from ..sweeps.store import dataset_info

    info = dataset_info(ds)
    return f"{what}: run '{info.name}', tolerance {info.tolerance:g}"


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
