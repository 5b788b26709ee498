"""`Series`: one trajectory as plain numpy arrays, what every figure of one run draws, made
from a `Trajectory` or from a point of a stored run; and the labels that name it."""

from __future__ import annotations

import typing

import numpy as np

if typing.TYPE_CHECKING:
    import xarray as xr

    from ..trajectory import Trajectory


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

    # The fields of the store's `PointRecord` (the same order), then `label`.
    t: np.ndarray
    rho: np.ndarray
    rho_dot: np.ndarray
    distance: np.ndarray
    hamiltonian: np.ndarray
    free_energy: np.ndarray
    equilibrium: np.ndarray
    energies: np.ndarray
    mask: np.ndarray
    temperature: float
    mass: float
    damping: float
    label: str

    @property
    def natural_frequency(self) -> float:
        """`omega0 = sqrt(T/m)` (inf when m = 0)."""
        return float(theory(self.temperature, self.mass, self.damping).natural_frequency)

    @property
    def damping_ratio(self) -> float:
        """`zeta = gamma / (2 sqrt(m T))` (inf when m = 0)."""
        return float(theory(self.temperature, self.mass, self.damping).damping_ratio)

    @property
    def decay_rate(self) -> float:
        """The linear theory's decay rate of the distance to softmax."""
        return float(theory(self.temperature, self.mass, self.damping).decay_rate)


def theory(temperature, mass, damping):
    """The linear theory of systems with these parameters (any energies: it does not use them)."""
    from ..linear import linear_theory
    from ..system import AttentionSystem

    temperature = np.asarray(temperature, float)
    return linear_theory(AttentionSystem(np.zeros(temperature.shape + (1,)), temperature, mass, damping))


def label(T, m, g) -> str:
    """The legend label of a system: its temperature, mass and damping ratio."""
    return f"T={T:.3g}, m={m:.3g}, zeta={float(theory(T, m, g).damping_ratio):.3g}"


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
    arrays = [traj.ts, traj.rho, traj.rho_dot, traj.distance, traj.hamiltonian, traj.free_energy]
    arrays += [traj.equilibrium, s.energies, s.mask]
    picked = [np.asarray(a)[index] for a in arrays]
    return Series._make([*picked, T, m, g, label(T, m, g)])


def series_from_results(ds: xr.Dataset, point: int, query: int = 0) -> Series:
    """The `Series` of one point and query row of a stored run, from `open_results(DIR, grid=False)`.

    Examples:
        >>> from thermo_ode import plotting, sweeps
        >>> out = sweeps.demo_run()  # a small finished sweep over two damping ratios
        >>> s = plotting.series_from_results(sweeps.open_results(out, grid=False), point=1)
        >>> s.label, s.rho.shape
        ('point 1: T=1, m=1, zeta=2', (5, 3))
    """
    from ..sweeps.store import read_point

    record = read_point(ds, point, query)
    return Series(*record, label=f"point {point}: {label(record.temperature, record.mass, record.damping)}")
