"""A system's `Trajectory` from the solver's raw states at its saves: the read-out that
`solve` and both engines of `simulate` share."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp

from . import physics
from .geometry import fisher_rao_distance
from .system import AttentionSystem
from .trajectory import NONFINITE, Trajectory, solved

if TYPE_CHECKING:
    from .integration import Inputs, Problem
    from .options import Options


@jax.custom_jvp
def _gradient_scaled(x, scale):
    """`x`, whose derivatives are multiplied by `scale` (1, or NaN for a failed solve)."""
    return x


@_gradient_scaled.defjvp
def _gradient_scaled_jvp(primals, tangents):
    x, scale = primals
    return x, tangents[0] * scale


def read_out(
    system: AttentionSystem, inputs: Inputs, problem: Problem, ys, status, num_steps, opts: Options, stop=None
) -> Trajectory:
    """The `Trajectory` of one system from the raw solver states `ys` at its saves. A failed
    solve keeps the saves it reached, but every derivative through its trajectory is NaN: the
    gradient of a solve that did not finish is not a number (diffrax's fill values for the
    saves it did not reach would give a finite, meaningless one)."""
    c, chart, second_order = problem.coefficients, opts.chart, opts.second_order
    readout = jax.vmap(lambda y: (chart.readout(y, c, second_order), chart.constraint_error(y, second_order)))
    (rho, rho_dot), constraint = readout(ys)
    rho_dot = rho_dot * problem.rate
    finished = jnp.isfinite(rho).all() & jnp.isfinite(rho_dot).all()
    scale = jax.lax.stop_gradient(jnp.where(solved(status) & finished, 1.0, jnp.nan).astype(rho.dtype))
    rho, rho_dot = _gradient_scaled(rho, scale), _gradient_scaled(rho_dot, scale)
    equilibrium = physics.equilibrium(system)
    per_save = jax.vmap(lambda r, rd: (physics.hamiltonian(r, rd, system), physics.free_energy(r, system)))
    hamiltonian, free_energy = per_save(rho, rho_dot)
    distance = fisher_rao_distance(rho, equilibrium)
    finite = jnp.array(
        [jnp.isfinite(a).all() for a in (rho, rho_dot, hamiltonian, free_energy, distance, equilibrium)]
    ).all()
    status = jnp.where(solved(status) & ~finite, NONFINITE, status)
    bath = inputs.bath_temperature
    return Trajectory(
        ts=problem.reported_ts,
        rho=rho,
        rho_dot=rho_dot,
        hamiltonian=hamiltonian,
        free_energy=free_energy,
        distance=distance,
        equilibrium=equilibrium,
        status=status,
        num_steps=num_steps,
        constraint_error=constraint,
        bath_temperature=jnp.zeros_like(inputs.t1) if bath is None else bath,
        system=system,
        stop_time=None if stop is None else stop / problem.rate,
    )
