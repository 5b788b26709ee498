"""Integrating until equilibrium: `Until`, the condition under which a system stops.

A system stops at the first time its state lies within `tolerance` of softmax in phase space:
`sqrt(d^2 + (v / omega0)^2) < tolerance`, with `d` the Fisher–Rao distance to softmax and `v`
the Fisher speed `sqrt(sum rho_dot^2 / rho)` (the speed of `x = 2 sqrt(rho)` on the sphere, on
which `d` is arc length), measured in natural time `1 / omega0 = sqrt(m / T)`. Near
equilibrium both are the two coordinates of the slowest mode (docs/physics.md, section 9), so
the norm decays at the linear theory's rate without touching 0 in an underdamped oscillation:
a trajectory that passes through softmax at speed does not stop. The gradient flow (m = 0) has
no velocity of its own; there the condition is `d < tolerance`. `t1` becomes the cap: a system
that has not stopped by then "reached the cap" (`Trajectory.status`), which is not convergence.

The time of stopping is located by Newton's method on the solver's dense output (diffrax's `Event`),
to `max(1e-10, 10 eps / tolerance)` in `ln(phase distance / tolerance)`. The tolerance must sit
well above the solve's own error (`rtol`, `atol`): below it, the distance shows the error.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx

from .dynamics import Coefficients
from .geometry import fisher_rao_distance, velocity_to_sphere
from .rules import REACHED_CAP, STOPPED
from .summation import softmax, token_sum


class Until(eqx.Module):
    """Stop each system once it is within `tolerance` of softmax in phase space.

    Its Fisher–Rao distance and its Fisher speed in natural time are then both that small
    (module docstring). Give it to `solve` or `simulate` as `until=`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> traj = to.solve(system, jnp.full(3, 1 / 3), 100.0, until=to.Until(1e-6))
        >>> traj.message(), bool(traj.stop_time < 100)
        ('stopped at equilibrium', True)
    """

    tolerance: float = eqx.field(static=True)

    def __check_init__(self):
        if not (isinstance(self.tolerance, (int, float)) and 0 < self.tolerance < 1):
            raise ValueError(f"Until: tolerance must be a number in (0, 1), got {self.tolerance!r}")


def phase_distance(rho, rho_dot_natural, c: Coefficients, second_order: bool):
    """`sqrt(d^2 + v^2)`: the distance to softmax and the Fisher speed in natural time (the
    velocity already divided by omega0); the distance alone for the gradient flow."""
    equilibrium = softmax(-c.beta_energies, where=c.mask)
    d = fisher_rao_distance(rho, equilibrium)
    if not second_order:
        return d
    x_dot = velocity_to_sphere(rho, rho_dot_natural)
    speed2 = token_sum(x_dot * x_dot, where=c.mask)
    return jnp.sqrt(d * d + speed2)


def root_finder(dtype, tolerance: float) -> optx.AbstractRootFinder:
    """Newton's method from the end of the step where the condition changed sign (bisection's
    bracket check fails in a vmapped batch for members whose condition did not change). It
    ends when its step and `ln(phase distance / tolerance)` are both within `atol`: that
    logarithm carries a rounding noise of about `eps / tolerance` (a distance of `tolerance` is
    a difference of O(1) numbers), so `atol` sits ten times above it."""
    atol = max(1e-10, 10 * float(jnp.finfo(dtype).eps) / tolerance)
    return optx.Newton(rtol=1e-12, atol=atol)


def condition(until: Until, chart, second_order: bool):
    """`cond(t, y, args)`: `ln(phase distance / tolerance)` of a chart's state, below 0 once a
    system may stop (`args`: the system's `Coefficients`, in solver time)."""

    def cond_fn(t, y, args, **kwargs):
        rho, rho_dot = chart.readout(y, args, second_order)
        natural = rho_dot / jnp.sqrt(args.stiffness) if second_order else rho_dot  # d/d(omega0 t)
        return jnp.log(phase_distance(rho, natural, args, second_order) / until.tolerance)

    return cond_fn


def stop_event(until: Until, chart, second_order: bool, dtype) -> diffrax.Event:
    """diffrax's `Event` for `until`: the condition crossing 0 downwards, located by Newton."""
    return diffrax.Event(condition(until, chart, second_order), root_finder(dtype, until.tolerance), direction=False)


def stopped_saves(until: Until, chart, second_order: bool, problem, sol, status):
    """`(ys, status, stop)` of a `diffeqsolve` with `stop_event` and `SaveAt(ts=..., t1=True)`.

    diffrax writes the saves reached, then the final state (at the stop, or at t1), then inf
    for the saves after a stop: those hold the state at the stop instead. A start already
    within the tolerance has no crossing to find: it stops at 0. `stop` is the solver time of
    the stop (inf where it reached the cap); the status says which."""
    at_start = condition(until, chart, second_order)(0.0, problem.y0, problem.coefficients) <= 0
    final = jnp.sum(jnp.isfinite(sol.ts)) - 1
    ys, last = jax.tree.map(lambda a: a[:-1], sol.ys), jax.tree.map(lambda a: a[final], sol.ys)
    last = jax.tree.map(lambda end, start: jnp.where(at_start, start, end), last, problem.y0)
    stop = jnp.where(at_start, 0.0, jnp.where(status == STOPPED, sol.ts[final], jnp.inf))
    held = problem.save_at > stop
    ys = jax.tree.map(lambda a, b: jnp.where(held.reshape((-1,) + (1,) * (a.ndim - 1)), b, a), ys, last)
    status = jnp.where(at_start & (status == 0), STOPPED, status)
    status = jnp.where(status == 0, REACHED_CAP, status)  # ran to t1 without stopping: the cap
    return ys, status, stop
