"""Equations of motion, written for one system (vmap for batches), in a rescaled time `s`.

With `s = rate * t`, the sphere-chart equation `m x_tt = -grad V - gamma x_t + mu x` becomes

    x'' = -stiffness * g(x) - friction * x' + mu x,      g_i = (x_i/2)(E_i/T + ln rho_i + 1)

with `stiffness = T / (m rate^2)` and `friction = gamma / (m rate)`. In natural time
(`rate = sqrt(T/m)`) these are 1 and `2 zeta`: the dynamics depend only on `E/T` and `zeta`
(docs/physics.md, section 10). The overdamped limit `m = 0` is first order:
`x' = -stiffness * P_x g(x)` with `stiffness = T / (gamma rate)`, 1 for `rate = T/gamma`.

Three independent routes are here: the sphere chart (primary), the logit chart, and the
Euler–Lagrange equations of any Lagrangian obtained by automatic differentiation.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy
from jaxtyping import Array, Bool, Float, Scalar

from .geometry import project_tangent
from .summation import logsumexp, token_dot, token_sum


class Coefficients(eqx.Module):
    """The dimensionless data one system's vector field needs (see module docstring)."""

    beta_energies: Float[Array, " N"]  # E / T, 0 on masked tokens
    mask: Bool[Array, " N"]
    stiffness: Scalar
    friction: Scalar


def _masked_weighted_sum(values, weights, mask):
    return token_sum(weights * values, where=mask)


# --- sphere chart ----------------------------------------------------------------------------


def potential_gradient(x, c: Coefficients):
    """`grad(V/T)` on the sphere: `(x/2)(E/T + ln(x^2/4) + 1)`, finite at `x_i = 0`."""
    # x ln(x^2/4) -> 0 as x -> 0: xlogy keeps the face x_i = 0 regular.
    g = 0.5 * (x * (c.beta_energies + 1) + xlogy(x, 0.25 * x * x))
    return jnp.where(c.mask, g, 0)


def sphere_force(x, c: Coefficients):
    """The conservative force `-stiffness grad(V/T)`, before the constraint force is added."""
    return -c.stiffness * potential_gradient(x, c)


def constrained_acceleration(x, v, force, mask):
    """`force + mu x` with the multiplier `mu` that keeps `|x|^2` and `x . v` constant."""
    # token_dot, not jnp.dot: vmapped, XLA:CPU makes each dot a library call outside any fusion,
    # and a reduction's order (its rounding) would change with the batch.
    mu = -(token_dot(v, v) + token_dot(x, force)) / token_dot(x, x)
    return jnp.where(mask, force + mu * x, 0)


def sphere_acceleration(x, v, c: Coefficients):
    """`x''` with the exact constraint force `mu x`."""
    return constrained_acceleration(x, v, sphere_force(x, c) - c.friction * v, c.mask)


def sphere_field(s, y, c: Coefficients):
    x, v = y
    return v, sphere_acceleration(x, v, c)


def sphere_gradient_flow(s, x, c: Coefficients):
    """Overdamped limit: the Fisher–Rao gradient flow of F, tangent to the sphere."""
    return -c.stiffness * project_tangent(x, potential_gradient(x, c))


# --- logit chart -----------------------------------------------------------------------------


def log_rho_from_logits(theta, mask):
    theta = jnp.where(mask, theta, 0)
    log_rho = theta - logsumexp(theta, mask)[..., None]
    return jnp.where(mask, log_rho, 0)


def logit_field(s, y, c: Coefficients):
    """`theta'' + theta'^2/2 + friction theta' + stiffness phi = Lambda`, `phi = E/T + ln rho`.

    `Lambda = stiffness <phi> - <theta'^2>/2` is the time-dependent multiplier that keeps the
    gauge `sum rho theta' = 0` (hence `sum rho = 1`); eq. 18 of the paper holds it constant.
    """
    theta, w = y
    log_rho = log_rho_from_logits(theta, c.mask)
    rho = jnp.where(c.mask, jnp.exp(log_rho), 0)
    phi = c.beta_energies + log_rho
    multiplier = c.stiffness * _masked_weighted_sum(phi, rho, c.mask) - 0.5 * _masked_weighted_sum(w * w, rho, c.mask)
    accel = multiplier - c.stiffness * phi - 0.5 * w * w - c.friction * w
    return jnp.where(c.mask, w, 0), jnp.where(c.mask, accel, 0)


def logit_gradient_flow(s, theta, c: Coefficients):
    """Overdamped limit in logits: the replicator equation `theta' = -(phi - <phi>)`."""
    log_rho = log_rho_from_logits(theta, c.mask)
    rho = jnp.where(c.mask, jnp.exp(log_rho), 0)
    phi = c.beta_energies + log_rho
    return jnp.where(c.mask, -c.stiffness * (phi - _masked_weighted_sum(phi, rho, c.mask)), 0)


# --- Euler–Lagrange by automatic differentiation ---------------------------------------------


def euler_lagrange(lagrangian: Callable, dissipation: Callable | None = None) -> Callable:
    """Acceleration `q'' = f(q, q', free)` of `d/dt dL/dq' - dL/dq = -dD/dq'`, by autodiff.

    `lagrangian(q, q_dot)` and `dissipation(q, q_dot)` are scalar functions. Coordinates where
    `free` is False are held fixed (their rows of the mass matrix are replaced by the identity),
    which lets one array shape carry systems with different numbers of live coordinates.
    """

    def acceleration(q, q_dot, free):
        dL_dqdot = jax.grad(lagrangian, argnums=1)
        mass_matrix = jax.jacfwd(dL_dqdot, argnums=1)(q, q_dot)
        mixed = jax.jacfwd(dL_dqdot, argnums=0)(q, q_dot)
        force = jax.grad(lagrangian, argnums=0)(q, q_dot) - token_sum(mixed * q_dot)
        if dissipation is not None:
            force = force - jax.grad(dissipation, argnums=1)(q, q_dot)
        return jnp.linalg.solve(_pin_fixed(mass_matrix, free), jnp.where(free, force, 0))

    return acceleration


def gradient_flow(potential: Callable, dissipation: Callable) -> Callable:
    """Velocity `q' = -G^{-1} grad V`, `G = d^2 D / dq'^2`: the massless limit, by autodiff."""

    def velocity(q, free):
        metric = jax.hessian(dissipation, argnums=1)(q, jnp.zeros_like(q))
        return jnp.linalg.solve(_pin_fixed(metric, free), jnp.where(free, -jax.grad(potential)(q), 0))

    return velocity


def _pin_fixed(matrix, free):
    """Identity rows and columns for fixed coordinates, so the solve leaves them at rest."""
    fixed = ~free
    return jnp.where(fixed[:, None] | fixed[None, :], jnp.diag(fixed.astype(matrix.dtype)), matrix)


def _simplex_free(mask, dependent):
    return mask & (jnp.arange(mask.shape[-1]) != dependent)


def dependent_index(mask):
    """The last unmasked token carries the constraint `rho_dep = 1 - sum of the others`."""
    return mask.shape[-1] - 1 - jnp.argmax(mask[::-1])


def simplex_embedding(q, mask, dependent):
    """Full `rho` from simplex coordinates: free tokens are `q`, token `dependent` is `1 - sum`."""
    live = jnp.where(_simplex_free(mask, dependent), q, 0)
    return live.at[dependent].set(1 - token_sum(live))


def simplex_velocity(q_dot, mask, dependent):
    """Full `rho_dot` from simplex velocities: the dependent token gets `-sum` of the others."""
    live = jnp.where(_simplex_free(mask, dependent), q_dot, 0)
    return live.at[dependent].set(-token_sum(live))


def _fisher_rao_norm2(q, q_dot, c: Coefficients, dependent):
    rho = simplex_embedding(q, c.mask, dependent)
    rho_dot = simplex_velocity(q_dot, c.mask, dependent)
    safe = jnp.where(c.mask, rho, 1)
    return token_sum(rho_dot**2 / safe, where=c.mask)


def _free_energy_over_t(q, c: Coefficients, dependent):
    rho = simplex_embedding(q, c.mask, dependent)
    safe = jnp.where(c.mask, rho, 1)  # keeps xlogy's derivative finite on masked tokens
    return token_sum(safe * c.beta_energies + xlogy(safe, safe), where=c.mask)


def simplex_field(s, y, c: Coefficients):
    """The paper's Lagrangian (eq. 13) in coordinates that solve `sum rho = 1`, with Rayleigh
    dissipation, scaled to solver time; the equations of motion come from `euler_lagrange`."""
    q, q_dot = y
    dependent = dependent_index(c.mask)

    def lagrangian(q, q_dot):
        return 0.5 * _fisher_rao_norm2(q, q_dot, c, dependent) - c.stiffness * _free_energy_over_t(q, c, dependent)

    def dissipation(q, q_dot):
        return 0.5 * c.friction * _fisher_rao_norm2(q, q_dot, c, dependent)

    free = _simplex_free(c.mask, dependent)
    return q_dot, euler_lagrange(lagrangian, dissipation)(q, q_dot, free)


def simplex_gradient_flow(s, q, c: Coefficients):
    """Overdamped limit in simplex coordinates, from the potential and dissipation by autodiff."""
    dependent = dependent_index(c.mask)

    def potential(q):
        return c.stiffness * _free_energy_over_t(q, c, dependent)

    def dissipation(q, q_dot):
        return 0.5 * _fisher_rao_norm2(q, q_dot, c, dependent)

    return gradient_flow(potential, dissipation)(q, _simplex_free(c.mask, dependent))
