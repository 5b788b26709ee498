"""Figures (matplotlib). Each takes `Series` (one trajectory, from a `Trajectory` or from a stored
run) or a results dataset, and returns the figure. Ordered quantities use a sequential colour
map, never a rainbow; every axis says what it shows and in which units: energies in the units of
`E`, physical time `t` in the time unit the inputs imply (the data are not rescaled), natural
time `tau = t sqrt(T/m)` dimensionless."""

from __future__ import annotations

import json
import sys
import typing

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from . import physics
from .formulas import equipartition

SEQUENTIAL = "viridis"
PHYSICAL_TIME = "physical time t (time unit of the inputs)"
NATURAL_TIME = "natural time tau = t sqrt(T/m) (dimensionless)"
# Damping ratios of one collapse may differ by float32 rounding of zeta = gamma / (2 sqrt(m T)).
ZETA_RTOL = 1e-5
# Phase portraits: points drawn per interval between saves on the interpolating cubic.
PHASE_POINTS_PER_SAVE = 16


class Series(typing.NamedTuple):
    """One trajectory as plain arrays (tokens outside `mask` are 0)."""

    t: np.ndarray  # (S,)
    rho: np.ndarray  # (S, N)
    rho_dot: np.ndarray  # (S, N)
    distance: np.ndarray  # (S,)
    hamiltonian: np.ndarray
    free_energy: np.ndarray
    equilibrium: np.ndarray  # (N,)
    energies: np.ndarray  # (N,)
    mask: np.ndarray  # (N,)
    temperature: float
    mass: float
    damping: float
    label: str

    @property
    def natural_frequency(self) -> float:
        return float(_theory(self.temperature, self.mass, self.damping).natural_frequency)

    @property
    def damping_ratio(self) -> float:
        return float(_theory(self.temperature, self.mass, self.damping).damping_ratio)

    @property
    def decay_rate(self) -> float:
        return float(_theory(self.temperature, self.mass, self.damping).decay_rate)


class NothingToPlot(ValueError):
    """The run has no committed chunk yet."""


def _theory(temperature, mass, damping):
    """The linear theory of systems with these parameters (any energies: it does not use them)."""
    from .linear import linear_theory
    from .system import AttentionSystem

    temperature = np.asarray(temperature, float)
    return linear_theory(AttentionSystem(np.zeros(temperature.shape + (1,)), temperature, mass, damping))


def series_from_trajectory(traj, index=()) -> Series:
    index = index if isinstance(index, tuple) else (index,)
    s = traj.system
    T, m, g = (float(np.asarray(getattr(s, k))[index]) for k in ("temperature", "mass", "damping"))
    pick = lambda a: np.asarray(a)[index]
    return Series(
        pick(traj.ts),
        pick(traj.rho),
        pick(traj.rho_dot),
        pick(traj.distance),
        pick(traj.hamiltonian),
        pick(traj.free_energy),
        pick(traj.equilibrium),
        pick(s.energies),
        pick(s.mask),
        T,
        m,
        g,
        _label(T, m, g),
    )


def series_from_results(ds, point: int, query: int = 0) -> Series:
    """From `open_results(DIR, grid=False)`."""
    row = ds.isel(point=point, query=query)
    T, m, g = (float(ds["parameters"].isel(point=point).sel(parameter=k)) for k in ("temperature", "mass", "damping"))
    return Series(
        row["t"].values,
        row["rho"].values,
        row["rho_dot"].values,
        row["distance"].values,
        row["hamiltonian"].values,
        row["free_energy"].values,
        row["equilibrium"].values,
        row["energies"].values,
        row["mask"].values,
        T,
        m,
        g,
        f"point {point}: {_label(T, m, g)}",
    )


def _label(T, m, g) -> str:
    return f"T={T:.3g}, m={m:.3g}, zeta={float(_theory(T, m, g).damping_ratio):.3g}"


def _colors(n):
    return plt.get_cmap(SEQUENTIAL)(np.linspace(0.0, 0.85, max(n, 1)))


def _figure(ax, size=(6.4, 4.2)):
    if ax is None:
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        return fig, ax
    return ax.figure, ax


# 1 ---------------------------------------------------------------------------------------------
def plot_trajectory(s: Series, ax=None, max_tokens: int = 12):
    """`rho_i(t)` for one point, with the softmax values as dashed lines."""
    fig, ax = _figure(ax)
    live = np.flatnonzero(s.mask)
    shown = live[np.argsort(-s.equilibrium[live])][:max_tokens]
    for color, i in zip(_colors(len(shown)), shown):
        ax.plot(s.t, s.rho[:, i], color=color, lw=1.4, label=f"token {i}")
        ax.axhline(s.equilibrium[i], color=color, ls="--", lw=0.9)
    ax.set(xlabel=PHYSICAL_TIME, ylabel="attention weight rho_i", title=f"Relaxation of one attention row\n{s.label}")
    ax.legend(title="solid: rho_i(t); dashed: softmax", fontsize=7, ncol=2, loc="upper right")
    return fig


# 2 ---------------------------------------------------------------------------------------------
def plot_relaxation(series: list[Series], ax=None, floor: float = 1e-12):
    """Fisher–Rao distance to softmax on a log axis, each with the linear theory's envelope
    `d(t_a) exp(-rate (t - t_a))`, anchored where the motion has become linear (d < 1e-2)."""
    fig, ax = _figure(ax)
    for color, s in zip(_colors(len(series)), series):
        ax.semilogy(s.t, np.maximum(s.distance, floor), color=color, lw=1.3, label=s.label)
        linear = np.flatnonzero(s.distance < 1e-2)
        rate = s.decay_rate
        if linear.size and rate > 0:
            window = s.t <= s.t[linear[0]] + (
                2 * np.pi / s.natural_frequency if np.isfinite(s.natural_frequency) else 0
            )
            anchor = int(np.argmax(np.where(window & (s.t >= s.t[linear[0]]), s.distance, -np.inf)))
            envelope = s.distance[anchor] * np.exp(-rate * (s.t - s.t[anchor]))
            after = s.t >= s.t[anchor]
            ax.semilogy(s.t[after], np.maximum(envelope[after], floor), color=color, ls=":", lw=1.2)
    ax.set_ylim(bottom=floor)
    ax.set(
        xlabel=PHYSICAL_TIME,
        ylabel="Fisher-Rao distance to softmax (rad)",
        title="Relaxation to softmax; dotted: linear theory exp(-rate t)",
    )
    ax.legend(fontsize=7)
    return fig


# 3 ---------------------------------------------------------------------------------------------
def plot_energy(s: Series, ax=None):
    """`H(t)` and `F(rho(t))` against `F* = -T ln Z`."""
    fig, ax = _figure(ax)
    f_star = float(physics.equilibrium_free_energy(_system(s.energies, s.temperature, s.mask)))
    ax.plot(s.t, s.hamiltonian, color=_colors(2)[0], lw=1.5, label="H = K + F")
    ax.plot(s.t, s.free_energy, color=_colors(2)[1], lw=1.2, label="F(rho(t))")
    ax.axhline(f_star, color="0.3", ls="--", lw=1, label="F* = -T ln Z")
    kind = "conserved (damping 0)" if s.damping == 0 else "dissipated"
    drift = np.max(np.abs(s.hamiltonian - s.hamiltonian[0])) / max(abs(s.hamiltonian[0]), 1e-300)
    ax.set(
        xlabel=PHYSICAL_TIME,
        ylabel="energy (units of E)",
        title=f"Energy: H {kind}; max |H - H(0)|/|H(0)| = {drift:.1e}\n{s.label}",
    )
    ax.legend(fontsize=8)
    return fig


def _system(energies, temperature, mask=None):
    """The `AttentionSystem` whose closed forms (thermo_ode.physics) a figure draws."""
    from .system import AttentionSystem

    return AttentionSystem(np.asarray(energies, float), temperature, mask=mask)


# 4 ---------------------------------------------------------------------------------------------
def slowest_mode(s: Series):
    """Amplitude of `eps = rho/rho* - 1` along its late-time direction (orthonormal in the
    `rho*`-weighted norm) and its rate, in natural units."""
    live = s.mask & (s.equilibrium > 0)
    eps = np.where(live, s.rho / np.where(live, s.equilibrium, 1) - 1, 0)
    eps_dot = np.where(live, s.rho_dot / np.where(live, s.equilibrium, 1), 0)
    # Late in the relaxation only the slowest mode is left: its direction is eps there.
    size = np.linalg.norm(eps, axis=1)
    small = np.flatnonzero(size < 1e-2 * size[0])
    late = eps[small[0]] if small.size else eps[-1]
    direction = late / max(np.sqrt(np.sum(s.equilibrium * late**2)), 1e-300)
    amplitude = eps @ (s.equilibrium * direction)
    rate = eps_dot @ (s.equilibrium * direction)
    return amplitude, rate / _clock_rate(s)


def _clock_rate(s: Series) -> float:
    """d tau / d t: the natural frequency, or 1 (physical time) for the gradient flow."""
    omega0 = s.natural_frequency
    return omega0 if np.isfinite(omega0) else 1.0


def cubic_hermite(t, y, dy, at):
    """The piecewise cubic through samples `y` (along axis 0) at increasing times `t` with slopes
    `dy` there, and its derivative, evaluated at times `at` in `[t[0], t[-1]]`."""
    t, y, dy, at = (np.asarray(a, float) for a in (t, y, dy, at))
    i = np.clip(np.searchsorted(t, at, side="right") - 1, 0, len(t) - 2)
    h = (t[i + 1] - t[i]).reshape((-1,) + (1,) * (y.ndim - 1))
    s = (at - t[i]).reshape(h.shape) / h
    y0, y1, d0, d1 = y[i], y[i + 1], dy[i] * h, dy[i + 1] * h
    value = (1 + 2 * s) * (1 - s) ** 2 * y0 + s * (1 - s) ** 2 * d0 + s**2 * (3 - 2 * s) * y1 + s**2 * (s - 1) * d1
    slope = (6 * s * (s - 1) * (y0 - y1) + (1 - s) * (1 - 3 * s) * d0 + s * (3 * s - 2) * d1) / h
    return value, slope


def _refined(t, per_interval: int):
    """`t` with `per_interval - 1` evenly spaced times added inside each interval."""
    fractions = np.arange(per_interval) / per_interval
    return np.append((t[:-1, None] + np.diff(t)[:, None] * fractions).ravel(), t[-1])


def plot_phase_portrait(series: list[Series], ax=None, linear_below: float = 0.05):
    """Phase portrait of the slowest mode from the moment the motion is linear (distance below
    `linear_below`), scaled by the amplitude there: spirals in when underdamped, creeps when
    overdamped. Between saves the curve is the cubic Hermite interpolant of the saved amplitudes
    and their exact rates, so it passes through every save (marked) with the saved slope."""
    fig, ax = _figure(ax, size=(5.4, 5.0))
    for color, s in zip(_colors(len(series)), series):
        a, a_dot = slowest_mode(s)
        linear = np.flatnonzero(s.distance < linear_below)
        if linear.size < 2:
            continue
        tau, a, a_dot = s.t[linear[0] :] * _clock_rate(s), a[linear[0] :], a_dot[linear[0] :]
        curve, slope = cubic_hermite(tau, a, a_dot, _refined(tau, PHASE_POINTS_PER_SAVE))
        scale = np.max(np.abs(a)) or 1.0
        ax.plot(curve / scale, slope / scale, color=color, lw=1.2, label=s.label)
        ax.plot(a / scale, a_dot / scale, ls="none", marker=".", ms=3, color=color)
        ax.plot(a[0] / scale, a_dot[0] / scale, "o", color=color, ms=5)
    ax.plot(0, 0, "k*", ms=10, label="softmax")
    ax.set(
        xlabel="slowest-mode amplitude eps / eps_max",
        ylabel="(d eps / d tau) / eps_max,  tau = t sqrt(T/m)",
        title=f"Slowest mode once linear (distance < {linear_below:g})\nlarge dot: start; dots: saves; curve: cubic Hermite",
    )
    ax.legend(fontsize=7)
    return fig


# 5 ---------------------------------------------------------------------------------------------
def plot_simplex(series: list[Series], grid: int = 200):
    """N = 3: paths on a ternary plot over free-energy contours, softmax marked; and the same
    paths on the positive octant of the radius-2 sphere `x = 2 sqrt(rho)`."""
    s0 = series[0]
    if s0.rho.shape[1] != 3:
        raise ValueError(f"plot_simplex needs N = 3 tokens, got {s0.rho.shape[1]}")
    fig = plt.figure(figsize=(11, 4.8), layout="constrained")
    ax = fig.add_subplot(1, 2, 1)
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    to_xy = lambda r: r @ corners
    a, b = np.meshgrid(np.linspace(0, 1, grid), np.linspace(0, 1, grid))
    c = 1 - a - b
    inside = c > 1e-9
    r = np.stack([np.where(inside, a, np.nan), np.where(inside, b, np.nan), np.where(inside, c, np.nan)], -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        F = np.sum(r * s0.energies, -1) + s0.temperature * np.nansum(np.where(r > 0, r * np.log(r), 0), -1)
    xy = to_xy(np.nan_to_num(r))
    contour = ax.tricontourf(xy[inside][:, 0], xy[inside][:, 1], F[inside], levels=20, cmap="Greys")
    fig.colorbar(contour, ax=ax, label="free energy F(rho) (units of E)")
    ax.plot(*np.vstack([corners, corners[:1]]).T, color="k", lw=0.8)
    for color, s in zip(_colors(len(series)), series):
        p = to_xy(s.rho)
        ax.plot(p[:, 0], p[:, 1], color=color, lw=1.2, label=s.label)
    star = to_xy(s0.equilibrium)
    ax.plot(*star, "r*", ms=12, label="softmax")
    for i, corner in enumerate(corners):
        ax.annotate(
            f"token {i}", corner, textcoords="offset points", xytext=(0, -12 if i < 2 else 5), ha="center", fontsize=8
        )
    ax.set_aspect("equal")
    ax.set_title("Paths on the simplex over F contours", pad=16)
    ax.axis("off")
    ax.legend(fontsize=7, loc="upper right")
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    u, v = np.meshgrid(np.linspace(0, np.pi / 2, 30), np.linspace(0, np.pi / 2, 30))
    ax3.plot_surface(
        2 * np.cos(u) * np.sin(v), 2 * np.sin(u) * np.sin(v), 2 * np.cos(v), color="0.85", alpha=0.35, lw=0
    )
    for color, s in zip(_colors(len(series)), series):
        x = 2 * np.sqrt(np.clip(s.rho, 0, None))
        ax3.plot(x[:, 0], x[:, 1], x[:, 2], color=color, lw=1.2)
    xs = 2 * np.sqrt(s0.equilibrium)
    ax3.scatter(*xs, color="r", marker="*", s=80)
    ax3.set(xlabel="x_0", ylabel="x_1", zlabel="x_2", title="Same paths on the radius-2 sphere, x = 2 sqrt(rho)")
    return fig


# 6 ---------------------------------------------------------------------------------------------
def plot_convergence_map(ds):
    """Measured relaxation time over a temperature x mass grid, and measured / predicted; the
    critical-damping line gamma = 2 sqrt(m T) where it falls in the grid. Without both axes, a
    damping-ratio sweep is drawn against zeta with the line zeta = 1. Each value is the median
    over the other axes, which the title names."""
    dims = ds["relaxation_time"].dims
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
        gamma = np.unique(np.round(ds["parameters"].sel(parameter="damping").values, 12))
        # Time to reach the tolerance over the e-folding time 1/rate is ln(d_linear / tol) when
        # the linear theory holds: the same number at every grid point.
        panels = (
            (axes[0], measured, "measured relaxation time (time unit of the inputs)"),
            (axes[1], measured / predicted, "measured time to tolerance x predicted rate"),
        )
        for ax, field, label in panels:
            mesh = ax.pcolormesh(
                _log_edges(T),
                _log_edges(m),
                field.transpose("mass", "temperature").values,
                cmap=SEQUENTIAL,
                norm=matplotlib.colors.LogNorm() if field is measured else None,
            )
            fig.colorbar(mesh, ax=ax, label=label)
            if gamma.size == 1 and gamma[0] > 0:  # fixed damping: zeta = 1 on m = gamma^2 / (4 T)
                tt = np.geomspace(T.min(), T.max(), 100)
                ax.plot(tt, gamma[0] ** 2 / (4 * tt), "w--", lw=1.5, label="critical: gamma = 2 sqrt(mT)")
                ax.set_ylim(_log_edges(m)[0], _log_edges(m)[-1])
                ax.legend(fontsize=7, loc="lower right")
            ax.set(xscale="log", yscale="log", xlabel="temperature T (units of E)", ylabel="mass m", title=label)
        fig.suptitle(_title(ds, "Convergence map") + _median_note(ds, pooled))
    else:
        zeta = ds["damping_ratio"].values
        axes[0].semilogy(zeta, measured.values, "o-", color=_colors(2)[0], label="measured")
        axes[0].semilogy(zeta, predicted.values, "--", color=_colors(2)[1], label="1 / predicted rate")
        axes[1].plot(zeta, (measured / predicted).values, "o-", color=_colors(1)[0], label="measured / predicted")
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


def _title(ds, what: str) -> str:
    return f"{what}: run '{ds.attrs.get('name', '?')}', tolerance {_tolerance(ds):g}"


def _tolerance(ds) -> float:
    try:
        return json.loads(ds.attrs["config_resolved"])["verify"]["tolerance"]
    except (KeyError, ValueError):
        return float("nan")


# 7 ---------------------------------------------------------------------------------------------
def plot_collapse(series: list[Series]):
    """The same problem at several masses and one damping ratio: different clocks in physical
    time, one curve in natural time `tau = t sqrt(T/m)`. Refuses (ValueError) series that differ
    in anything but the mass and the damping that keeps zeta fixed, where the claim is false."""
    zetas = np.array([s.damping_ratio for s in series])
    if np.ptp(zetas) > ZETA_RTOL * np.abs(zetas).max():
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
    for color, s in zip(_colors(len(ordered)), ordered):
        label = f"m = {s.mass:.3g}"
        axes[0].semilogy(s.t, np.maximum(s.distance, 1e-12), color=color, lw=1.3, label=label)
        axes[1].semilogy(s.t * s.natural_frequency, np.maximum(s.distance, 1e-12), color=color, lw=1.3, label=label)
    axes[0].set(xlabel=PHYSICAL_TIME, ylabel="Fisher-Rao distance to softmax (rad)", title="against physical time")
    axes[1].set(xlabel=NATURAL_TIME, title="against natural time: one curve")
    for ax in axes:
        ax.legend(fontsize=8, title="mass")
    fig.suptitle(f"Mass only sets the clock (T = {first.temperature:.3g}, zeta = {zetas[0]:.3g})")
    return fig


def _thermal(raw) -> bool:
    return bool((raw["parameters"].sel(parameter="bath_temperature").values > 0).any())


def collapse_points(raw) -> tuple[list[int], str]:
    """For `plot_collapse` from `open_results(DIR, grid=False)`: the finished points of the first
    slice of the other sweep axes that holds several masses at one damping ratio; or no points
    and why there is no such slice."""
    keys = json.loads(raw.attrs["sweep_keys"])
    if "mass" not in keys:
        return [], "the mass is not swept"
    if _thermal(raw):
        return [], "a heat bath: the noise differs between masses, so no two curves coincide"
    T, m, g = (raw["parameters"].sel(parameter=k).values for k in ("temperature", "mass", "damping"))
    done = np.flatnonzero((raw["status"].values[:, 0] >= 0) & (m > 0))  # natural time needs m > 0
    if done.size == 0:
        return [], "no finished point with m > 0"
    zeta = np.asarray(_theory(T[done], m[done], g[done]).damping_ratio)
    others = [k for k in keys if k != "mass"]
    columns = [raw[k].values[done] for k in others]
    slices: dict[tuple, list[int]] = {}
    for j, values in enumerate(zip(*columns) if columns else [()] * done.size):
        slices.setdefault(values, []).append(j)
    for rows in slices.values():
        if len(set(m[done[rows]])) > 1 and np.ptp(zeta[rows]) <= ZETA_RTOL * np.abs(zeta[rows]).max():
            return [int(i) for i in done[rows]], ""
    return [], (
        f"no slice of {', '.join(others) or 'the sweep'} holds several masses at one damping ratio "
        f"(zeta = gamma / (2 sqrt(m T)) spans {zeta.min():.3g} to {zeta.max():.3g}): sweep damping_ratio, not damping, to see the collapse"
    )


# 8 ---------------------------------------------------------------------------------------------
def heat_capacity_curve(energies, temperatures):
    """`C(T) = Var_{rho*}(E) / T^2` of one energy spectrum at each temperature (numpy)."""
    T = np.asarray(temperatures, float)
    E = np.broadcast_to(np.asarray(energies, float), T.shape + np.shape(energies))
    return np.asarray(physics.heat_capacity(_system(E, T)), float)


def plot_heat_capacity(spectra: dict[str, np.ndarray], temperatures=None, ax=None):
    """`C(T)` of one or several energy spectra, each with its peak marked."""
    fig, ax = _figure(ax)
    for color, (label, energies) in zip(_colors(len(spectra)), spectra.items()):
        spread = np.ptp(energies) if np.ptp(energies) > 0 else 1.0
        T = temperatures if temperatures is not None else np.geomspace(spread / 200, spread * 20, 400)
        C = heat_capacity_curve(energies, T)
        peak = int(np.argmax(C))
        ax.semilogx(T, C, color=color, lw=1.5, label=f"{label}: peak C={C[peak]:.3g} at T={T[peak]:.3g}")
        ax.plot(T[peak], C[peak], "v", color=color, ms=7)
    ax.set(
        xlabel="temperature T (units of E)",
        ylabel="heat capacity C = Var(E)/T^2 (dimensionless)",
        title="Heat capacity of the attention spectrum (triangle: peak)",
    )
    ax.legend(fontsize=7)
    return fig


# 9 ---------------------------------------------------------------------------------------------
def plot_energy_error(series: list[Series], ax=None):
    """`H(t) - H(0)` of conservative runs, one curve per integrator (labels say which): a
    symplectic method's error oscillates without trend, a Runge–Kutta method's drifts."""
    fig, ax = _figure(ax, (7.5, 4.2))
    for color, s in zip(_colors(len(series)), series):
        ax.plot(s.t * s.natural_frequency, s.hamiltonian - s.hamiltonian[0], lw=0.6, color=color, label=s.label)
    ax.axhline(0, color="0.5", lw=0.5)
    ax.set(
        xlabel=NATURAL_TIME,
        ylabel="energy error H(t) - H(0) (units of E)",
        title="Energy error over a long conservative run (gamma = 0)",
    )
    ax.legend(fontsize=8)
    return fig


def stationary_density_n2(energies, temperature, bath_temperature, grid: int = 2001):
    """The predicted stationary density of `rho_1` for N = 2 on `(0, 1)`:
    `(rho_1 rho_2)^(-1/2) exp(-F(rho)/T_b)`, normalised numerically (midpoints of a grid)."""
    edges = np.linspace(0, 1, grid + 1)
    r = (edges[1:] + edges[:-1]) / 2
    rho = np.stack([r, 1 - r], -1)
    free = np.asarray(physics.free_energy(rho, _system(energies, temperature)))
    density = np.exp(-(free - free.min()) / bath_temperature) / np.sqrt(r * (1 - r))
    return r, density / (density.sum() * (edges[1] - edges[0]))


def plot_stationary_density(samples, energies, temperature, bath_temperature, ax=None, bins: int = 40):
    """Histogram of sampled `rho_1` (N = 2) against the predicted stationary density, and the
    density the flat measure on the simplex would give instead (what the sphere's metric adds)."""
    fig, ax = _figure(ax, (6.8, 4.2))
    colors = _colors(3)
    heights, _, _ = ax.hist(
        samples,
        bins=bins,
        range=(0, 1),
        density=True,
        color=colors[1],
        alpha=0.5,
        label=f"sampled ({len(samples)} states)",
    )
    r, density = stationary_density_n2(energies, temperature, bath_temperature)
    ax.plot(r, density, color=colors[0], lw=2, label="prod rho^(-1/2) exp(-F/T_b)")
    flat = density * np.sqrt(r * (1 - r))
    ax.plot(r, flat / (flat.sum() * (r[1] - r[0])), color="0.4", ls="--", lw=1.2, label="exp(-F/T_b) (flat measure)")
    star = np.asarray(physics.equilibrium(_system(energies, temperature)))
    ax.axvline(star[0], color="0.3", ls=":", label="softmax rho*_1")
    # The density is integrable but infinite at the faces: scale to the histogram.
    ax.set(
        xlabel="rho_1",
        ylabel="probability density",
        ylim=(0, 1.5 * heights.max()),
        title=f"Stationary density, N = 2, T = {temperature:g}, T_b = {bath_temperature:g}",
    )
    ax.legend(fontsize=8)
    return fig


def plot_thermal(ds):
    """A heat-bath sweep: measured mean kinetic energy over equipartition `(N - 1) T_b / 2`
    (should be 1), and the mean Fisher–Rao distance to softmax against `T_b / T` with the
    small-`T_b` prediction: `sqrt(T_b/T)` times the mean of a chi distribution with `N - 1`
    degrees of freedom (each mode amplitude has variance `T_b / T`)."""
    from scipy.special import gammaln

    raw = ds
    bath = raw["parameters"].sel(parameter="bath_temperature").values
    T = raw["parameters"].sel(parameter="temperature").values
    hot = bath > 0
    live = raw["mask"].values.sum(-1)  # (point, query)
    kinetic = raw["mean_kinetic_energy"].values
    ratio = kinetic[hot] / equipartition(live[hot], bath[hot, None])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    axes[0].semilogx(
        np.repeat(bath[hot], ratio.shape[1]), ratio.ravel(), "o", color=_colors(1)[0], alpha=0.6, label="points"
    )
    axes[0].axhline(1.0, color="0.3", ls="--", label="equipartition")
    axes[0].set(xlabel="bath temperature T_b (units of E)", ylabel="<K> / ((N - 1) T_b / 2)", title="Equipartition")
    axes[0].legend(fontsize=8)
    x = (bath / T)[hot]
    axes[1].loglog(
        np.repeat(x, kinetic.shape[1]),
        raw["mean_distance"].values[hot].ravel(),
        "o",
        color=_colors(2)[1],
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


def notebook_show(namespace: dict):
    """`show(fig, name)` for a notebook kept as a jupytext script, given its `globals()`.

    In a notebook (an IPython kernel) figures display inline and `show` does nothing. Run as a
    plain script (`python notebooks/NAME.py [--out DIR]`), `show` saves each figure as
    `DIR/name.png` (default `notebooks/figures/NAME/`) and prints the path.
    """
    import argparse
    import pathlib

    if namespace.get("__name__") != "__main__" or "ipykernel" in sys.modules:
        return lambda fig, name: None
    here = pathlib.Path(namespace["__file__"])
    parser = argparse.ArgumentParser(description=f"Run the {here.stem} notebook as a script and save its figures.")
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=here.parent / "figures" / here.stem,
        help="folder for the figures (default: %(default)s)",
    )
    out = parser.parse_args().out

    def show(fig, name):
        print("wrote", save(fig, out / name)[0])

    return show


def save(fig, path, svg: bool = False) -> list[str]:
    """Write PNG (and SVG on request); close the figure."""
    import pathlib

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = [str(path.with_suffix(".png"))]
    fig.savefig(written[0], dpi=130)
    if svg:
        written.append(str(path.with_suffix(".svg")))
        fig.savefig(written[1])
    plt.close(fig)
    return written


def plot_run(out_dir, svg: bool = False, figures_dir=None) -> list[str]:
    """Every figure that applies to a stored run; returns the files written, and says on stderr
    why the collapse figure is left out when it is."""
    import pathlib

    from .sweeps.store import grid_view, open_results

    out_dir = pathlib.Path(out_dir)
    target = pathlib.Path(figures_dir) if figures_dir else out_dir / "figures"
    raw = open_results(out_dir, grid=False)
    grid = grid_view(raw)
    keys = json.loads(raw.attrs["sweep_keys"])
    done = np.flatnonzero(raw["status"].values[:, 0] >= 0)  # points written so far
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
    if _thermal(raw):
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
