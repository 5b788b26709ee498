"""`Trajectory`: what `solve` and `simulate` return, and the status codes it reports.

`status` is 0 where a solve succeeded, else the index of its diffrax result in `STATUS_NAMES`.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from .rules import REACHED_CAP, SOLVED, STOPPED
from .rules import STATUS_NAMES as STATUS_NAMES  # `Trajectory.status` codes
from .system import AttentionSystem

# A solve that reports success but whose results hold NaN or infinity (parameters beyond what the
# precision holds, say) is given this status instead: a non-finite number is never a success.
NONFINITE = STATUS_NAMES.index("nonfinite")


class Trajectory(eqx.Module):
    """Trajectories in physical time: one system from `solve`, a batch `(...)` from `simulate`.

    Shapes with `S` saves and `N` tokens: `ts`, `hamiltonian`, `free_energy`, `distance` (the
    Fisher–Rao distance to softmax) and `constraint_error` are `(..., S)`; `rho` and `rho_dot`
    are `(..., S, N)`; `equilibrium` (softmax) is `(..., N)`; `status`, `num_steps` and
    `bath_temperature` are `(...)`; `system` is the `AttentionSystem` that was solved.

    `status` is 0 where the solve succeeded, else the index of diffrax's result in
    `thermo_ode.trajectory.STATUS_NAMES` (see `message`). `constraint_error` is `| |x|^2/4 - 1 |` of
    the raw saved sphere state before it is normalised for reporting (0 for charts that are
    normalised by construction). `bath_temperature` is the Langevin bath's `T_b` (0:
    deterministic).

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> traj = to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21)
        >>> traj.ts.shape, traj.rho.shape, traj.equilibrium.shape, traj.status.shape
        ((21,), (21, 3), (3,), ())
        >>> bool(traj.succeeded), traj.message()
        (True, 'success')
        >>> bool(jnp.all(jnp.diff(traj.hamiltonian) <= 1e-6))  # damped: H never increases
        True
    """

    ts: Float[Array, "*batch S"]
    rho: Float[Array, "*batch S N"]
    rho_dot: Float[Array, "*batch S N"]
    hamiltonian: Float[Array, "*batch S"]
    free_energy: Float[Array, "*batch S"]
    distance: Float[Array, "*batch S"]
    equilibrium: Float[Array, "*batch N"]
    status: Int[Array, "*batch"]
    num_steps: Int[Array, "*batch"]
    constraint_error: Float[Array, "*batch S"]
    bath_temperature: Float[Array, "*batch"]
    system: AttentionSystem
    # With `until`: the physical time each system stopped at equilibrium (inf where it did not:
    # it reached the cap); saves after it hold the state at the stop. None without `until`.
    stop_time: Float[Array, "*batch"] | None = None

    @property
    def succeeded(self) -> Bool[Array, "*batch"]:
        """Whether each solve succeeded: finished (status 0), or with `until` stopped at
        equilibrium or reached the cap (`rules.SOLVED`)."""
        return solved(self.status)

    @property
    def stopped(self) -> Bool[Array, "*batch"]:
        """Whether each solve stopped at equilibrium (with `until`; False without)."""
        return self.status == STOPPED

    @property
    def final_distance(self) -> Float[Array, "*batch"]:
        """The Fisher–Rao distance to softmax at the last save."""
        return self.distance[..., -1]

    def message(self, index: int | tuple[int, ...] = ()) -> str:
        """diffrax's explanation of the status of the system at batch `index`."""
        code = int(np.asarray(self.status)[index])
        if code == 0:
            return "success"
        if code == STOPPED:
            return "stopped at equilibrium"
        if code == REACHED_CAP:
            return "reached the cap t1 without stopping at equilibrium"
        return diffrax.RESULTS[getattr(diffrax.RESULTS, STATUS_NAMES[code])]  # type: ignore[misc]  # eqx Enumeration


def status_code(result) -> Int[Array, ""]:
    """The index of a diffrax result in `STATUS_NAMES`."""
    names = [name for name in STATUS_NAMES if hasattr(diffrax.RESULTS, name)]
    codes = [result == getattr(diffrax.RESULTS, name) for name in names]
    internal = STATUS_NAMES.index("internal_error")
    return jnp.select(codes, [STATUS_NAMES.index(name) for name in names], internal).astype(jnp.int32)


def solved(status) -> Bool[Array, "*batch"]:
    """Whether each status is a solve that succeeded (`rules.SOLVED`)."""
    return jnp.isin(status, jnp.asarray(SOLVED))
