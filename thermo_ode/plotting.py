"""Figures (matplotlib). Each takes `Series` (one trajectory, from a `Trajectory` or from a stored
run) or a results dataset, and returns the figure. Ordered quantities use a sequential colour
map, never a rainbow; every axis says what it shows and in which units: energies in the units of
`E`, physical time `t` in the time unit the inputs imply (the data are not rescaled), natural
time `tau = t sqrt(T/m)` dimensionless."""

from __future__ import annotations

import json
import os
import sys
import typing
from collections.abc import Callable, Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import physics
from .formulas import equipartition

if typing.TYPE_CHECKING:
    import xarray as xr

    from .trajectory import Trajectory

__all__ = [
    "NothingToPlot",
    "Series",
    "collapse_points",
    "cubic_hermite",
    "heat_capacity_curve",
    "notebook_show",
    "plot_collapse",
    "plot_convergence_map",
    "plot_energy",
    "plot_energy_error",
    "plot_heat_capacity",
    "plot_phase_portrait",
    "plot_relaxation",
    "plot_run",
    "plot_simplex",
    "plot_stationary_density",
    "plot_thermal",
    "plot_trajectory",
    "save",
    "series_from_results",
    "series_from_trajectory",
    "slowest_mode",
    "stationary_density_n2",
]

SEQUENTIAL = "viridis"
PHYSICAL_TIME = "physical time t (time unit of the inputs)"
NATURAL_TIME = "natural time tau = t sqrt(T/m) (dimensionless)"
# Damping ratios of one collapse may differ by float32 rounding of zeta = gamma / (2 sqrt(m T)).
ZETA_RTOL = 1e-5
# Phase portraits: points drawn per interval between saves on the interpolating cubic.
PHASE_POINTS_PER_SAVE = 16


class Series(typing.NamedTuple):
    """One trajectory as plain numpy arrays, what every figure of one run draws.

    Shapes with `S` saves and `N` tokens (tokens outside `mask` are 0): `t`, `distance`,
    `hamiltonian`, `free_energy` `(S,)`; `rho`, `rho_dot` `(S, N)`; `equilibrium`, `energies`,
    `mask` `(N,)`. `temperature`, `mass` and `damping` are the system's; `label` names it in
    legends. Made by `series_from_trajectory` or `series_from_results`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> s = plotting.series_from_trajectory(to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21))
        >>> s.rho.shape, s.label
        ((21, 3), 'T=1, m=1, zeta=0.5')
        >>> s.natural_frequency, s.damping_ratio, s.decay_rate  # the linear theory's
        (1.0, 0.5, 0.5)
    """

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
        """`omega0 = sqrt(T/m)` (inf when m = 0)."""
        return float(_theory(self.temperature, self.mass, self.damping).natural_frequency)

    @property
    def damping_ratio(self) -> float:
        """`zeta = gamma / (2 sqrt(m T))` (inf when m = 0)."""
        return float(_theory(self.temperature, self.mass, self.damping).damping_ratio)

    @property
    def decay_rate(self) -> float:
        """The linear theory's decay rate of the distance to softmax."""
        return float(_theory(self.temperature, self.mass, self.damping).decay_rate)


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


def _theory(temperature, mass, damping):
    """The linear theory of systems with these parameters (any energies: it does not use them)."""
    from .linear import linear_theory
    from .system import AttentionSystem

    temperature = np.asarray(temperature, float)
    return linear_theory(AttentionSystem(np.zeros(temperature.shape + (1,)), temperature, mass, damping))


def series_from_trajectory(traj: Trajectory, index: int | tuple[int, ...] = ()) -> Series:
    """The `Series` of the system at batch `index` of a `Trajectory` (`solve`'s: no index).

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> system = to.AttentionSystem(jnp.array([[0.0, 1.0, 2.0], [1.0, 0.0, 0.5]]), 1.0, 1.0, 1.0)
        >>> traj = to.simulate(system, jnp.full(3, 1 / 3), 40.0, saves=11)
        >>> s = plotting.series_from_trajectory(traj, 1)
        >>> s.energies.tolist(), s.rho.shape
        ([1.0, 0.0, 0.5], (11, 3))
    """
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


def series_from_results(ds: xr.Dataset, point: int, query: int = 0) -> Series:
    """The `Series` of one point and query row of a stored run, from `open_results(DIR, grid=False)`.

    Examples:
        >>> import tempfile
        >>> from thermo_ode import plotting, sweeps
        >>> loaded = sweeps.parse('''
        ... name: demo
        ... precision: float32
        ... system: {tokens: 3, energies: {kind: list, values: [0.0, 1.0, 2.0]}, temperature: 1.0}
        ... sweep: {damping_ratio: [0.5, 2.0]}
        ... integrate: {t1: {relaxation_times: 20}, saves: 5}
        ... verify: {tolerance: 1.0e-4}
        ... ''')
        >>> out = tempfile.mkdtemp()
        >>> _ = sweeps.run(loaded, out)
        >>> s = plotting.series_from_results(sweeps.open_results(out, grid=False), point=1)
        >>> s.label, s.rho.shape
        ('point 1: T=1, m=1, zeta=2', (5, 3))
    """
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
def plot_trajectory(s: Series, ax: Axes | None = None, max_tokens: int = 12) -> Figure:
    """`rho_i(t)` for one point, with the softmax values as dashed lines.

    At most `max_tokens` tokens are drawn, those with the largest softmax weight. With `ax`,
    the curves are drawn there (and its figure is returned).

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> s = plotting.series_from_trajectory(to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21))
        >>> fig = plotting.plot_trajectory(s)
        >>> print(fig.axes[0].get_title())
        Relaxation of one attention row
        T=1, m=1, zeta=0.5
        >>> len(fig.axes[0].get_lines())  # per token, rho_i(t) and its softmax line
        6
    """
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
def plot_relaxation(series: Sequence[Series], ax: Axes | None = None, floor: float = 1e-12) -> Figure:
    """The Fisher–Rao distance to softmax on a log axis, each with the linear theory's envelope.

    The envelope `d(t_a) exp(-rate (t - t_a))` is anchored where the motion has become linear
    (d < 1e-2). Distances are drawn no lower than `floor`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> s = plotting.series_from_trajectory(to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21))
        >>> fig = plotting.plot_relaxation([s])
        >>> fig.axes[0].get_yscale(), fig.axes[0].get_ylabel()
        ('log', 'Fisher-Rao distance to softmax (rad)')
    """
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
def plot_energy(s: Series, ax: Axes | None = None) -> Figure:
    """The energies `H(t)` and `F(rho(t))` against the equilibrium free energy `F* = -T ln Z`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> s = plotting.series_from_trajectory(to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21))
        >>> fig = plotting.plot_energy(s)
        >>> [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
        ['H = K + F', 'F(rho(t))', 'F* = -T ln Z']
    """
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
def slowest_mode(s: Series) -> tuple[np.ndarray, np.ndarray]:
    """The amplitude `(S,)` of the slowest mode, and its rate `(S,)` in natural units.

    The amplitude is that of `eps = rho/rho* - 1` along its late-time direction (orthonormal
    in the `rho*`-weighted norm).

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> s = plotting.series_from_trajectory(to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21))
        >>> amplitude, rate = plotting.slowest_mode(s)
        >>> amplitude.shape, rate.shape
        ((21,), (21,))
        >>> bool(abs(amplitude[-1]) < 1e-3 * abs(amplitude[0]))  # relaxed
        True
    """
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


def cubic_hermite(
    t: npt.ArrayLike, y: npt.ArrayLike, dy: npt.ArrayLike, at: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """The piecewise cubic Hermite interpolant and its derivative, evaluated at times `at`.

    The cubic passes through samples `y` (along axis 0) at increasing times `t` with slopes
    `dy` there; `at` lies in `[t[0], t[-1]]`.

    Examples:
        Exact for a cubic:

        >>> import numpy as np
        >>> from thermo_ode.plotting import cubic_hermite
        >>> t = np.linspace(0.0, 1.0, 5)
        >>> value, slope = cubic_hermite(t, t**3, 3 * t**2, [0.1, 0.55])
        >>> bool(np.allclose(value, [0.1**3, 0.55**3])), bool(np.allclose(slope, [3 * 0.1**2, 3 * 0.55**2]))
        (True, True)
    """
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


def plot_phase_portrait(series: Sequence[Series], ax: Axes | None = None, linear_below: float = 0.05) -> Figure:
    """The phase portrait of the slowest mode from the moment the motion is linear.

    The motion counts as linear once the distance is below `linear_below`; the portrait is
    scaled by the amplitude there: it spirals in when underdamped, creeps when overdamped.
    Between saves the curve is the cubic Hermite interpolant of the saved amplitudes and their
    exact rates, so it passes through every save (marked) with the saved slope.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> s = plotting.series_from_trajectory(to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21))
        >>> fig = plotting.plot_phase_portrait([s])
        >>> fig.axes[0].get_xlabel()
        'slowest-mode amplitude eps / eps_max'
    """
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
def plot_simplex(series: Sequence[Series], grid: int = 200) -> Figure:
    """Paths of N = 3 tokens on the simplex over free-energy contours, and on the sphere.

    Left, a ternary plot over the contours of `F` (of the first series' energies, on a `grid`
    x `grid` mesh) with softmax marked; right, the same paths on the positive octant of the
    radius-2 sphere `x = 2 sqrt(rho)`. Raises `ValueError` unless N = 3.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> s = plotting.series_from_trajectory(to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21))
        >>> fig = plotting.plot_simplex([s], grid=50)
        >>> fig.axes[0].get_title(), fig.axes[-1].get_title()
        ('Paths on the simplex over F contours', 'Same paths on the radius-2 sphere, x = 2 sqrt(rho)')
    """
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
def plot_convergence_map(ds: xr.Dataset) -> Figure:
    """The measured relaxation time of a sweep, and measured over predicted, across its grid.

    Over a temperature x mass grid, with the critical-damping line gamma = 2 sqrt(m T) where it
    falls in the grid. Without both axes, a damping-ratio sweep is drawn against zeta with the
    line zeta = 1. Each value is the median over the other axes, which the title names. `ds` is
    the grid view, `open_results(DIR)`; raises `ValueError` for a sweep with neither.

    Examples:
        >>> import tempfile
        >>> from thermo_ode import plotting, sweeps
        >>> loaded = sweeps.parse('''
        ... name: demo
        ... precision: float32
        ... system: {tokens: 3, energies: {kind: list, values: [0.0, 1.0, 2.0]}, temperature: 1.0}
        ... sweep: {damping_ratio: [0.5, 2.0]}
        ... integrate: {t1: {relaxation_times: 20}, saves: 5}
        ... verify: {tolerance: 1.0e-4}
        ... ''')
        >>> out = tempfile.mkdtemp()
        >>> _ = sweeps.run(loaded, out)
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


def collapse_points(raw: xr.Dataset) -> tuple[list[int], str]:
    """The points of a stored run that `plot_collapse` can draw, or none and why.

    From `open_results(DIR, grid=False)`: the finished points of the first slice of the other
    sweep axes that holds several masses at one damping ratio; or no points and the reason
    there is no such slice.

    Examples:
        >>> import tempfile
        >>> from thermo_ode import plotting, sweeps
        >>> loaded = sweeps.parse('''
        ... name: masses
        ... precision: float32
        ... system: {tokens: 3, energies: {kind: list, values: [0.0, 1.0, 2.0]}, temperature: 1.0, damping_ratio: 0.5}
        ... sweep: {mass: [0.5, 2.0]}
        ... integrate: {t1: {relaxation_times: 20}, saves: 5}
        ... ''')
        >>> out = tempfile.mkdtemp()
        >>> _ = sweeps.run(loaded, out)
        >>> plotting.collapse_points(sweeps.open_results(out, grid=False))
        ([0, 1], '')
    """
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
def heat_capacity_curve(energies: npt.ArrayLike, temperatures: npt.ArrayLike) -> np.ndarray:
    """The heat capacity `C(T) = Var_{rho*}(E) / T^2` of one energy spectrum at each temperature.

    Examples:
        A two-level system, `C = (E/T)^2 p (1 - p)` with `p = 1 / (1 + exp(E/T))`:

        >>> import numpy as np
        >>> from thermo_ode.plotting import heat_capacity_curve
        >>> T = np.array([0.5, 1.0, 2.0])
        >>> p = 1 / (1 + np.exp(1 / T))
        >>> bool(np.allclose(heat_capacity_curve([0.0, 1.0], T), p * (1 - p) / T**2, rtol=1e-5))
        True
    """
    T = np.asarray(temperatures, float)
    E = np.broadcast_to(np.asarray(energies, float), T.shape + np.shape(energies))
    return np.asarray(physics.heat_capacity(_system(E, T)), float)


def plot_heat_capacity(
    spectra: Mapping[str, npt.ArrayLike], temperatures: npt.ArrayLike | None = None, ax: Axes | None = None
) -> Figure:
    """The heat capacity `C(T)` of one or several energy spectra (by label), each with its peak marked.

    `temperatures` default to 400 points spanning the spread of each spectrum, /200 to x20.

    Examples:
        >>> from thermo_ode import plotting
        >>> fig = plotting.plot_heat_capacity({"two levels": [0.0, 1.0]})
        >>> fig.axes[0].get_legend().get_texts()[0].get_text()
        'two levels: peak C=0.439 at T=0.419'
    """
    fig, ax = _figure(ax)
    for color, (label, values) in zip(_colors(len(spectra)), spectra.items()):
        energies = np.asarray(values)
        spread = np.ptp(energies) if np.ptp(energies) > 0 else 1.0
        T = np.asarray(temperatures) if temperatures is not None else np.geomspace(spread / 200, spread * 20, 400)
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
def plot_energy_error(series: Sequence[Series], ax: Axes | None = None) -> Figure:
    """The energy error `H(t) - H(0)` of conservative runs, one curve per integrator.

    The labels say which integrator: a symplectic method's error oscillates without trend, a
    Runge–Kutta method's drifts.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=0.0)
        >>> s = plotting.series_from_trajectory(to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21))
        >>> bool(abs(s.hamiltonian - s.hamiltonian[0]).max() < 1e-3)  # conserved
        True
        >>> plotting.plot_energy_error([s._replace(label="fused_tsit5")]).axes[0].get_ylabel()
        'energy error H(t) - H(0) (units of E)'
    """
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


def stationary_density_n2(
    energies: npt.ArrayLike, temperature: float, bath_temperature: float, grid: int = 2001
) -> tuple[np.ndarray, np.ndarray]:
    """The predicted stationary density of `rho_1` for N = 2 in a heat bath: `(rho_1, density)`.

    The density on `(0, 1)` is `(rho_1 rho_2)^(-1/2) exp(-F(rho)/T_b)`, normalised numerically
    on the midpoints of a grid of `grid` cells.

    Examples:
        >>> import numpy as np
        >>> from thermo_ode.plotting import stationary_density_n2
        >>> rho_1, density = stationary_density_n2([0.0, 1.0], temperature=1.0, bath_temperature=0.1)
        >>> rho_1.shape, round(float(np.sum(density) * (rho_1[1] - rho_1[0])), 6)
        ((2001,), 1.0)
    """
    edges = np.linspace(0, 1, grid + 1)
    r = (edges[1:] + edges[:-1]) / 2
    rho = np.stack([r, 1 - r], -1)
    free = np.asarray(physics.free_energy(rho, _system(energies, temperature)))
    density = np.exp(-(free - free.min()) / bath_temperature) / np.sqrt(r * (1 - r))
    return r, density / (density.sum() * (edges[1] - edges[0]))


def plot_stationary_density(
    samples: Sequence[float] | np.ndarray,
    energies: npt.ArrayLike,
    temperature: float,
    bath_temperature: float,
    ax: Axes | None = None,
    bins: int = 40,
) -> Figure:
    """A histogram of sampled `rho_1` (N = 2) against the predicted stationary density.

    Drawn with the density the flat measure on the simplex would give instead (what the
    sphere's metric adds).

    Examples:
        >>> import numpy as np
        >>> from thermo_ode import plotting
        >>> samples = np.random.default_rng(0).beta(8, 3, size=500)  # stand-ins for a run's rho_1
        >>> fig = plotting.plot_stationary_density(samples, [0.0, 1.0], temperature=1.0, bath_temperature=0.1)
        >>> fig.axes[0].get_title()
        'Stationary density, N = 2, T = 1, T_b = 0.1'
    """
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
        ylim=(0, 1.5 * np.max(heights)),
        title=f"Stationary density, N = 2, T = {temperature:g}, T_b = {bath_temperature:g}",
    )
    ax.legend(fontsize=8)
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


def notebook_show(namespace: dict[str, typing.Any]) -> Callable[[Figure, str], None]:
    """`show(fig, name)` for a notebook kept as a jupytext script, given its `globals()`.

    In a notebook (an IPython kernel) figures display inline and `show` does nothing. Run as a
    plain script (`python notebooks/NAME.py [--out DIR]`), `show` saves each figure as
    `DIR/name.png` (default `notebooks/figures/NAME/`) and prints the path.

    Examples:
        Anywhere but a script run as `__main__`, `show` does nothing:

        >>> from thermo_ode import plotting
        >>> show = plotting.notebook_show({"__name__": "notebook"})
        >>> show(plotting.plot_heat_capacity({"two levels": [0.0, 1.0]}), "heat_capacity") is None
        True
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

    def show(fig: Figure, name: str) -> None:
        print("wrote", save(fig, out / name)[0])

    return show


def save(fig: Figure, path: str | os.PathLike[str], svg: bool = False) -> list[str]:
    """Write a figure as PNG (and SVG on request) at `path` (suffix replaced), close it, return the files.

    Missing folders are made.

    Examples:
        >>> import pathlib, tempfile
        >>> from thermo_ode import plotting
        >>> fig = plotting.plot_heat_capacity({"two levels": [0.0, 1.0]})
        >>> written = plotting.save(fig, pathlib.Path(tempfile.mkdtemp()) / "figures" / "heat_capacity", svg=True)
        >>> [pathlib.Path(name).name for name in written]
        ['heat_capacity.png', 'heat_capacity.svg']
    """
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


def plot_run(
    out_dir: str | os.PathLike[str], svg: bool = False, figures_dir: str | os.PathLike[str] | None = None
) -> list[str]:
    """Draw every figure that applies to a stored run and return the files written.

    The figures go to `figures_dir` (default `out_dir/figures`), as PNG and, with `svg`, SVG.
    Says on stderr why the collapse figure is left out when it is; raises `NothingToPlot` for
    a run with no committed chunk.

    Examples:
        >>> import tempfile
        >>> from thermo_ode import plotting, sweeps
        >>> loaded = sweeps.parse('''
        ... name: demo
        ... precision: float32
        ... system: {tokens: 3, energies: {kind: list, values: [0.0, 1.0, 2.0]}, temperature: 1.0}
        ... sweep: {damping_ratio: [0.5, 2.0]}
        ... integrate: {t1: {relaxation_times: 20}, saves: 5}
        ... verify: {tolerance: 1.0e-4}
        ... ''')
        >>> out = tempfile.mkdtemp()
        >>> _ = sweeps.run(loaded, out)
        >>> import pathlib
        >>> [pathlib.Path(name).name for name in plotting.plot_run(out)]
        ['trajectory.png', 'relaxation.png', 'energy.png', 'phase_portrait.png', 'simplex.png', 'convergence_map.png', 'heat_capacity.png']
    """
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
