"""Observables of a run: time averages after a burn-in, and the fluctuation modes of the
linear theory (docs/physics.md, section 9) in a heat bath (docs/physics.md, section 13).

With Langevin noise at bath temperature `T_b` the predictions are equipartition,
`<K> = (N - 1) T_b / 2`, and, for small `T_b`, variance `T_b / T` in every mode amplitude.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.typing import ArrayLike
from jaxtyping import Array, Float, Int

from . import physics
from .formulas import equipartition
from .summation import token_sum
from .trajectory import Trajectory

__all__ = ["TimeAverages", "mode_amplitudes", "time_averages"]


class TimeAverages(eqx.Module):
    """Averages over the saved states at times `>= burn_in` (batch shape of the trajectory).

    `rho_fluctuation` is the standard deviation of each `rho_i` about its mean; `samples` is
    the number of saved states averaged (correlated in time: not independent draws);
    `equipartition` is `(N_live - 1) T_b / 2`, the prediction for the mean kinetic energy.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode.observables import time_averages
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> averages = time_averages(to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21), burn_in=10.0)
        >>> averages.rho.shape, averages.rho_fluctuation.shape, averages.kinetic_energy.shape
        ((3,), (3,), ())
    """

    kinetic_energy: Float[Array, "*batch"]
    rho: Float[Array, "*batch N"]
    rho_fluctuation: Float[Array, "*batch N"]
    distance: Float[Array, "*batch"]
    samples: Int[Array, "*batch"]
    equipartition: Float[Array, "*batch"]  # (N_live - 1) T_b / 2, the prediction for <K>


def time_averages(traj: Trajectory, burn_in: ArrayLike) -> TimeAverages:
    """Time averages of `traj` over saves at `t >= burn_in` (scalar or per system).

    A pure function of arrays: it works under `jax.jit` and `jax.vmap`. A `burn_in` of the
    wrong shape raises while tracing; one that is not finite, or after the last save, is an
    equinox runtime error (raised, or NaN with `EQX_ON_ERROR=nan`).

    Examples:
        After relaxing, the mean state is softmax and the mean kinetic energy about 0:

        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode.observables import time_averages
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> traj = to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21)
        >>> averages = time_averages(traj, burn_in=10.0)
        >>> int(averages.samples)  # the saves at t = 10, 11, ..., 20
        11
        >>> bool(jnp.allclose(averages.rho, to.equilibrium(system), atol=1e-3))
        True
        >>> bool(averages.kinetic_energy < 1e-4), float(averages.equipartition)  # no heat bath
        (True, 0.0)
    """
    ts = jnp.broadcast_to(traj.ts, traj.distance.shape)
    burn = jnp.asarray(burn_in, ts.dtype)
    if burn.ndim > traj.distance.ndim - 1:
        raise ValueError(
            f"burn_in must be a time, scalar or per system {traj.distance.shape[:-1]}, got shape {burn.shape}"
        )
    keep = ts >= burn[..., None]
    count = keep.sum(-1)
    count = eqx.error_if(count, ~jnp.isfinite(burn), "burn_in must be finite")
    count = eqx.error_if(count, count == 0, "burn_in: no saved state at or after it; lower burn_in or save later")

    def mean(a):  # over saves, `a` shaped (*batch, S) or (*batch, S, N)
        w = keep if a.ndim == keep.ndim else keep[..., None]
        n = count if a.ndim == keep.ndim else count[..., None]
        return token_sum(a, axis=keep.ndim - 1, where=w) / n

    system = traj.system
    per_save = jax.vmap(physics.kinetic_energy, in_axes=(-2, -2, None), out_axes=-1)
    kinetic = per_save(traj.rho, traj.rho_dot, system)
    rho_mean = mean(traj.rho)
    spread = jnp.sqrt(mean((traj.rho - rho_mean[..., None, :]) ** 2))
    live = jnp.sum(jnp.broadcast_to(system.mask, rho_mean.shape), axis=-1)
    return TimeAverages(
        kinetic_energy=mean(kinetic),
        rho=rho_mean,
        rho_fluctuation=spread,
        distance=mean(traj.distance),
        samples=count,
        equipartition=equipartition(live, traj.bath_temperature),
    )


def mode_amplitudes(rho: ArrayLike, equilibrium: ArrayLike) -> jax.Array:
    """The amplitudes `(..., N - 1)` of the linear theory's modes in `eps = rho / rho* - 1`.

    They are the coordinates of `eps` along `N - 1` directions orthonormal in the
    `rho*`-weighted inner product `sum rho* a b` and orthogonal to the constant
    (docs/physics.md, section 9). Each is a mode of the linear theory; at small `T_b` each has
    variance `T_b / T`.

    Computed as `H u` with `u = sqrt(rho*) eps` and the Householder reflection `H` that sends
    `sqrt(rho*)` to `-e_N`; its first `N - 1` rows span the complement. Masked tokens
    (`rho* = 0`) contribute coordinates that are identically 0.

    Examples:
        An orthonormal change of coordinates: the squared amplitudes add up to
        `sum (rho - rho*)^2 / rho*`, and all vanish at equilibrium.

        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> from thermo_ode.observables import mode_amplitudes
        >>> rho_star = to.equilibrium(to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0))
        >>> rho = jnp.array([0.7, 0.2, 0.1])
        >>> eps = mode_amplitudes(rho, rho_star)
        >>> eps.shape
        (2,)
        >>> bool(jnp.isclose(jnp.sum(eps**2), jnp.sum((rho - rho_star) ** 2 / rho_star)))
        True
        >>> bool(jnp.allclose(mode_amplitudes(rho_star, rho_star), 0.0))
        True
    """
    rho, equilibrium = jnp.broadcast_arrays(jnp.asarray(rho), jnp.asarray(equilibrium))
    root = jnp.sqrt(equilibrium)
    safe = jnp.where(root > 0, root, 1)
    u = jnp.where(root > 0, (rho - equilibrium) / safe, 0)
    w = root.at[..., -1].add(1.0)  # sqrt(rho*) + e_N: |w|^2 = 2 + 2 sqrt(rho*_N) >= 2
    reflected = u - 2 * w * token_sum(w * u, keepdims=True) / token_sum(w * w, keepdims=True)
    return reflected[..., :-1]
