"""What the figures compute and do not draw: the slowest mode of a relaxation, the cubic Hermite
interpolant between saves, which points of a stored run show the mass collapse, the heat
capacity curve and a run's distinct spectra, and the stationary density of N = 2 in a heat
bath."""

from __future__ import annotations

import typing

import numpy as np
import numpy.typing as npt

from .. import physics
from .series import Series, theory

if typing.TYPE_CHECKING:
    import xarray as xr

# Damping ratios of one collapse may differ by float32 rounding of zeta = gamma / (2 sqrt(m T)).
ZETA_RTOL = 1e-5


def attention_system(energies, temperature, mask=None):
    """The `AttentionSystem` whose closed forms (thermo_ode.physics) a figure draws."""
    from ..system import AttentionSystem

    return AttentionSystem(np.asarray(energies, float), temperature, mask=mask)


def slowest_mode(s: Series) -> tuple[np.ndarray, np.ndarray]:
    """The amplitude `(S,)` of the slowest mode, and its rate `(S,)` in natural units.

    The amplitude is that of `eps = rho/rho* - 1` along its late-time direction (orthonormal
    in the `rho*`-weighted norm).

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode import plotting
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> traj = to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21)
        >>> amplitude, rate = plotting.slowest_mode(plotting.series_from_trajectory(traj))
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
    return amplitude, rate / clock_rate(s)


def clock_rate(s: Series) -> float:
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


def refined(t, per_interval: int):
    """`t` with `per_interval - 1` evenly spaced times added inside each interval."""
    fractions = np.arange(per_interval) / per_interval
    return np.append((t[:-1, None] + np.diff(t)[:, None] * fractions).ravel(), t[-1])


def same_damping_ratio(zeta) -> bool:
    """Whether damping ratios are one, up to float32 rounding (`ZETA_RTOL`); NaN spreads (inf
    ratios, the gradient flow) do not count as different."""
    return not bool(np.ptp(zeta) > ZETA_RTOL * np.abs(zeta).max())


def thermal(parameters: dict[str, np.ndarray]) -> bool:
    """Whether any point of a stored run (its `point_parameters`) is in a heat bath."""
    return bool((parameters["bath_temperature"] > 0).any())


def collapse_points(raw: xr.Dataset) -> tuple[list[int], str]:
    """The points of a stored run that `plot_collapse` can draw, or none and why.

    From `open_results(DIR, grid=False)`: the finished points of the first slice of the other
    sweep axes that holds several masses at one damping ratio; or no points and the reason
    there is no such slice.

    Examples:
        >>> import tempfile
        >>> from thermo_ode import plotting, sweeps
        >>> plotting.collapse_points(sweeps.open_results(sweeps.demo_run(), grid=False))  # it sweeps zeta
        ([], 'the mass is not swept')
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
    from ..sweeps.store import dataset_info, point_parameters, written_points

    keys = dataset_info(raw).sweep_keys
    if "mass" not in keys:
        return [], "the mass is not swept"
    parameters = point_parameters(raw)
    if thermal(parameters):
        return [], "a heat bath: the noise differs between masses, so no two curves coincide"
    T, m, g = (parameters[k] for k in ("temperature", "mass", "damping"))
    written = written_points(raw)
    done = written[m[written] > 0]  # natural time needs m > 0
    if done.size == 0:
        return [], "no finished point with m > 0"
    zeta = np.asarray(theory(T[done], m[done], g[done]).damping_ratio)
    others = [k for k in keys if k != "mass"]
    columns = [raw[k].values[done] for k in others]
    slices: dict[tuple, list[int]] = {}
    for j, values in enumerate(zip(*columns) if columns else [()] * done.size):
        slices.setdefault(values, []).append(j)
    for rows in slices.values():
        if len(set(m[done[rows]])) > 1 and same_damping_ratio(zeta[rows]):
            return [int(i) for i in done[rows]], ""
    return [], (
        f"no slice of {', '.join(others) or 'the sweep'} holds several masses at one damping ratio "
        f"(zeta = gamma / (2 sqrt(m T)) spans {zeta.min():.3g} to {zeta.max():.3g}): sweep damping_ratio, not damping, to see the collapse"
    )


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
    return np.asarray(physics.heat_capacity(attention_system(E, T)), float)


def spectrum_key(energies: npt.ArrayLike) -> tuple[float, ...]:
    """What `C(T)` depends on: the energies sorted and shifted to start at 0 (a common shift
    and the tokens' order change nothing), rounded so that equal spectra compare equal."""
    e = np.sort(np.asarray(energies, float).ravel())
    return tuple(np.round(e - (e[0] if e.size else 0.0), 10).tolist())


MAX_SCANNED = 4096  # points whose energies `run_spectra` compares, at most


def run_spectra(raw: xr.Dataset, limit: int = 6) -> tuple[dict[str, np.ndarray], str]:
    """The distinct energy spectra of a stored run (query row 0), each once and labelled by what
    tells them apart; and a note of those left out ("" if none).

    `C(T)` depends only on the energies (`spectrum_key`), not on a point's temperature, mass or
    damping: the points that share a spectrum make one curve (of at most `MAX_SCANNED` points,
    evenly spread, as the note says). Its label names the swept keys
    that are the same at all its points and differ between spectra ("seed 1"); a single
    spectrum is "energies of all 4 points". At most `limit` spectra, evenly spread, are
    returned. From `open_results(DIR, grid=False)`.

    Examples:
        >>> from thermo_ode import plotting, sweeps
        >>> from thermo_ode.plotting.analysis import run_spectra
        >>> spectra, note = run_spectra(sweeps.open_results(sweeps.demo_run(), grid=False))
        >>> list(spectra), note  # two damping ratios, one head
        (['energies of all 2 points'], '')
    """
    from ..sweeps.store import dataset_info, written_points

    points = written_points(raw)
    scanned = ""
    if points.size > MAX_SCANNED:  # a large sweep: its energies, read whole, would not fit
        scanned = f"spectra of {MAX_SCANNED} of its {points.size} points, evenly spread"
        points = points[np.linspace(0, points.size - 1, MAX_SCANNED).round().astype(int)]
    energies = np.asarray(raw["energies"].isel(query=0, point=points).values)
    mask = np.asarray(raw["mask"].isel(query=0, point=points).values)
    groups: dict[tuple[float, ...], list[int]] = {}
    for j, (e, live) in enumerate(zip(energies, mask)):
        groups.setdefault(spectrum_key(e[live]), []).append(j)
    members = list(groups.values())
    swept = {k: np.asarray(raw[k].values)[points] for k in dataset_info(raw).sweep_keys}
    telling = [
        k
        for k, v in swept.items()
        if all(np.unique(v[g]).size == 1 for g in members) and np.unique([v[g[0]] for g in members]).size > 1
    ]
    rows = ", query row 0" if raw.sizes["query"] > 1 else ""
    spectra = {}
    for g in members:
        name = ", ".join(f"{k} {swept[k][g[0]]:g}" for k in telling)
        if not name:
            name = (
                f"energies of all {len(g)} points" if len(members) == 1 else f"point {points[g[0]]} ({len(g)} points)"
            )
        spectra[name + rows] = energies[g[0]][mask[g[0]]]
    if len(spectra) <= limit:
        return spectra, scanned
    kept = np.unique(np.linspace(0, len(spectra) - 1, limit).round().astype(int))
    names = list(spectra)
    note = "; ".join(filter(None, [f"{kept.size} of {len(names)} distinct spectra shown", scanned]))
    return {names[i]: spectra[names[i]] for i in kept}, note


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
    free = np.asarray(physics.free_energy(rho, attention_system(energies, temperature)))
    density = np.exp(-(free - free.min()) / bath_temperature) / np.sqrt(r * (1 - r))
    return r, density / (density.sum() * (edges[1] - edges[0]))
