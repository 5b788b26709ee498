"""Figures of one or a few trajectories (`Series`): the attention weights, the relaxation to
softmax, the energies, the slowest mode's phase portrait, the paths on the simplex, and the
energy error of conservative runs."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .. import physics
from .analysis import attention_system, clock_rate, cubic_hermite, refined, slowest_mode
from .output import NATURAL_TIME, PHYSICAL_TIME, colors, figure, labelled
from .series import Series

# Phase portraits: points drawn per interval between saves on the interpolating cubic.
PHASE_POINTS_PER_SAVE = 16


def plot_trajectory(s: Series, ax: Axes | None = None, max_tokens: int = 12) -> Figure:
    """`rho_i(t)` for one point, with the softmax values as dashed lines.

    At most `max_tokens` tokens are drawn, those with the largest softmax weight; the title and
    the legend say how many of how many when some are left out. The legend stands outside the
    axes, so it covers no curve. With `ax`, the curves are drawn there (and its figure is
    returned).

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> system = to.AttentionSystem(jnp.linspace(0.0, 2.0, 5), temperature=1.0, mass=1.0, damping=1.0)
        >>> s = plotting.series_from_trajectory(to.solve(system, jnp.full(5, 1 / 5), 20.0, saves=21))
        >>> fig = plotting.plot_trajectory(s, max_tokens=3)  # the three of largest softmax weight
        >>> print(fig.axes[0].get_title())
        Relaxation of one attention row (3 of 5 tokens)
        T=1, m=1, zeta=0.5
        >>> print(fig.axes[0].get_legend().get_title().get_text())
        3 of 5 tokens shown:
        the largest softmax weights
        solid: rho_i(t)
        dashed: softmax
        >>> len(fig.axes[0].get_lines())  # per token, rho_i(t) and its softmax line
        6
    """
    fig, ax = figure(ax, (7.4, 4.2))
    live = np.flatnonzero(s.mask)
    shown = live[np.argsort(-s.equilibrium[live], kind="stable")][:max_tokens]
    for color, i in zip(colors(len(shown)), shown):
        ax.plot(s.t, s.rho[:, i], color=color, lw=1.4, label=f"token {i}")
        ax.axhline(s.equilibrium[i], color=color, ls="--", lw=0.9)
    subset = f" ({shown.size} of {live.size} tokens)" if shown.size < live.size else ""
    ax.set(
        xlabel=PHYSICAL_TIME,
        ylabel="attention weight rho_i",
        title=f"Relaxation of one attention row{subset}\n{s.label}",
    )
    which = f"{shown.size} of {live.size} tokens shown:\nthe largest softmax weights\n" if subset else ""
    ax.legend(
        title=f"{which}solid: rho_i(t)\ndashed: softmax",
        title_fontsize=7,
        fontsize=7,
        ncol=1 if shown.size <= 8 else 2,
        loc="upper left",  # of the box right of the axes: outside them
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0,
    )
    return fig


def plot_relaxation(series: Sequence[Series], ax: Axes | None = None, floor: float = 1e-12) -> Figure:
    """The Fisher–Rao distance to softmax on a log axis, each with the linear theory's envelope.

    The envelope `d(t_a) exp(-rate (t - t_a))` is anchored where the motion has become linear
    (d < 1e-2). Distances are drawn no lower than `floor`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> energies = jnp.array([[0.0, 1.0, 2.0]] * 2)  # one head at two dampings
        >>> system = to.AttentionSystem(energies, temperature=1.0, mass=1.0, damping=jnp.array([1.0, 4.0]))
        >>> traj = to.simulate(system, jnp.full(3, 1 / 3), 20.0, saves=21)
        >>> fig = plotting.plot_relaxation([plotting.series_from_trajectory(traj, i) for i in range(2)])
        >>> fig.axes[0].get_yscale(), fig.axes[0].get_ylabel()
        ('log', 'Fisher-Rao distance to softmax (rad)')
    """
    fig, ax = figure(ax)
    for color, s in zip(colors(len(series)), series):
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
    return labelled(
        ax,
        7,
        xlabel=PHYSICAL_TIME,
        ylabel="Fisher-Rao distance to softmax (rad)",
        title="Relaxation to softmax; dotted: linear theory exp(-rate t)",
    )


def plot_energy(s: Series, ax: Axes | None = None) -> Figure:
    """The energies `H(t)` and `F(rho(t))` against the equilibrium free energy `F* = -T ln Z`.

    Energy errors are measured against the energy the motion has to conserve or dissipate,
    `H(0) - F*` (`H >= F >= F*`: docs/physics.md, section 6; a damped run ends at `H = F*`:
    docs/physics.md, section 7), never against `|H(0)|`, which can be near 0. The title of an undamped run gives
    `max |H - H(0)|` on that scale; of a damped run, the dissipation: `H - F*` at the start
    and at the end, and the largest rise of `H` between saves (`dH/dt <= 0`). Where the run
    starts at rest at softmax (`H(0) - F*` about 0) the scale is `T`, and the title says so.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> s = plotting.series_from_trajectory(to.solve(system, jnp.array([0.1, 0.3, 0.6]), 20.0, saves=21))
        >>> fig = plotting.plot_energy(s)
        >>> [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
        ['H = K + F', 'F(rho(t))', 'F* = -T ln Z']
        >>> print(fig.axes[0].get_title())  # doctest: +ELLIPSIS
        Energy: H dissipated (gamma = 1): H - F* from 1.01 to ...
        ...
        T=1, m=1, zeta=0.5
    """
    fig, ax = figure(ax)
    f_star = float(physics.equilibrium_free_energy(attention_system(s.energies, s.temperature, s.mask)))
    ax.plot(s.t, s.hamiltonian, color=colors(2)[0], lw=1.5, label="H = K + F")
    ax.plot(s.t, s.free_energy, color=colors(2)[1], lw=1.2, label="F(rho(t))")
    ax.axhline(f_star, color="0.3", ls="--", lw=1, label="F* = -T ln Z")
    excess = float(s.hamiltonian[0]) - f_star
    tiny = 1e-9 * max(abs(f_star), s.temperature)
    scale, named = (excess, "H(0) - F*") if excess > tiny else (s.temperature, "T")
    if s.damping == 0:
        error = np.max(np.abs(s.hamiltonian - s.hamiltonian[0])) / scale
        what = f"H conserved (damping 0)\nmax |H - H(0)| = {error:.1e} of {named} = {scale:.3g}"
    else:
        rise = max(float(np.max(np.diff(s.hamiltonian), initial=0.0)), 0.0) / scale
        end = float(s.hamiltonian[-1]) - f_star
        what = f"H dissipated (gamma = {s.damping:.3g}): H - F* from {excess:.3g} to {end:.1e}\n"
        what += f"largest rise of H between saves: {rise:.1e} of {named}" if rise > 0 else "H never rises between saves"
    if named == "T":
        what += "\n(it starts at rest at softmax: H(0) = F*)"
    return labelled(ax, 8, xlabel=PHYSICAL_TIME, ylabel="energy (units of E)", title=f"Energy: {what}\n{s.label}")


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
        >>> traj = to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21, rtol=1e-6)  # tight: smooth to the end
        >>> fig = plotting.plot_phase_portrait([plotting.series_from_trajectory(traj)])
        >>> fig.axes[0].get_xlabel()
        'slowest-mode amplitude eps / eps_max'
    """
    fig, ax = figure(ax, size=(5.4, 5.0))
    for color, s in zip(colors(len(series)), series):
        a, a_dot = slowest_mode(s)
        linear = np.flatnonzero(s.distance < linear_below)
        if linear.size < 2:
            continue
        tau, a, a_dot = s.t[linear[0] :] * clock_rate(s), a[linear[0] :], a_dot[linear[0] :]
        curve, slope = cubic_hermite(tau, a, a_dot, refined(tau, PHASE_POINTS_PER_SAVE))
        scale = np.max(np.abs(a)) or 1.0
        ax.plot(curve / scale, slope / scale, color=color, lw=1.2, label=s.label)
        ax.plot(a / scale, a_dot / scale, ls="none", marker=".", ms=3, color=color)
        ax.plot(a[0] / scale, a_dot[0] / scale, "o", color=color, ms=5)
    ax.plot(0, 0, "k*", ms=10, label="softmax")
    return labelled(
        ax,
        7,
        xlabel="slowest-mode amplitude eps / eps_max",
        ylabel="(d eps / d tau) / eps_max,  tau = t sqrt(T/m)",
        title=f"Slowest mode once linear (distance < {linear_below:g})\nlarge dot: start; dots: saves; curve: cubic Hermite",
    )


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
        >>> starts = jnp.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]])
        >>> series = [plotting.series_from_trajectory(to.solve(system, r, 20.0, saves=21)) for r in starts]
        >>> fig = plotting.plot_simplex(series, grid=50)
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
    for color, s in zip(colors(len(series)), series):
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
    for color, s in zip(colors(len(series)), series):
        x = 2 * np.sqrt(np.clip(s.rho, 0, None))
        ax3.plot(x[:, 0], x[:, 1], x[:, 2], color=color, lw=1.2)
    xs = 2 * np.sqrt(s0.equilibrium)
    ax3.scatter(*xs, color="r", marker="*", s=80)
    ax3.set(xlabel="x_0", ylabel="x_1", zlabel="x_2", title="Same paths on the radius-2 sphere, x = 2 sqrt(rho)")
    return fig


def plot_energy_error(series: Sequence[Series], ax: Axes | None = None) -> Figure:
    """The energy error `H(t) - H(0)` of conservative runs, one curve per integrator.

    The labels say which integrator: a symplectic method's error oscillates without trend, a
    Runge–Kutta method's drifts.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), 1.0, 1.0, 0.0)  # T = m = 1, undamped
        >>> s = plotting.series_from_trajectory(to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21))
        >>> bool(abs(s.hamiltonian - s.hamiltonian[0]).max() < 1e-3)  # conserved
        True
        >>> plotting.plot_energy_error([s._replace(label="fused_tsit5")]).axes[0].get_ylabel()
        'energy error H(t) - H(0) (units of E)'
    """
    fig, ax = figure(ax, (7.5, 4.2))
    for color, s in zip(colors(len(series)), series):
        ax.plot(s.t * s.natural_frequency, s.hamiltonian - s.hamiltonian[0], lw=0.6, color=color, label=s.label)
    ax.axhline(0, color="0.5", lw=0.5)
    return labelled(
        ax,
        8,
        xlabel=NATURAL_TIME,
        ylabel="energy error H(t) - H(0) (units of E)",
        title="Energy error over a long conservative run (gamma = 0)",
    )
