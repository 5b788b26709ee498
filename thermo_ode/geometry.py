"""Fisher–Rao geometry of the simplex as the positive orthant of the radius-2 sphere.

All functions act on the last axis and broadcast over the rest. Tokens outside `mask` are
exactly 0 in every representation.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy
from jax.typing import ArrayLike

from .summation import token_sum

RADIUS = 2.0


def to_sphere(rho):
    """`x = 2 sqrt(rho)`: a probability vector as a point of the radius-2 sphere."""
    return RADIUS * jnp.sqrt(jnp.clip(rho, 0))


def from_sphere(x):
    """`rho = x^2 / |x|^2`: exact normalisation, whatever rounding did to `|x|`."""
    x2 = x * x
    return x2 / token_sum(x2, keepdims=True)


def velocity_to_sphere(rho, rho_dot):
    """`x_dot = rho_dot / sqrt(rho)`, taken as 0 where `rho = 0`."""
    safe = jnp.where(rho > 0, rho, 1)
    return jnp.where(rho > 0, rho_dot / jnp.sqrt(safe), 0)


def velocity_from_sphere(x, x_dot):
    """`rho_dot = x x_dot / 2` (differentiating `rho = x^2/4`)."""
    return 0.5 * x * x_dot


def project_to_sphere(x):
    """Nearest point of the radius-2 sphere."""
    return RADIUS * x / jnp.sqrt(token_sum(x * x, keepdims=True))


def project_tangent(x, v):
    """Component of `v` tangent to the sphere at `x` (removes the radial part)."""
    radial = token_sum(x * v, keepdims=True) / token_sum(x * x, keepdims=True)
    return v - radial * x


def _root(p):
    """`sqrt(p)` normalised, with a zero (not infinite) derivative where `p = 0`; NaN where `p`
    is NaN (a failed solve's rho has no distance)."""
    p = jnp.clip(p, 0) / token_sum(p, keepdims=True)
    return jnp.where(p > 0, jnp.sqrt(jnp.where(p > 0, p, 1)), jnp.where(jnp.isnan(p), jnp.nan, 0))  # NaN stays NaN


def fisher_rao_distance(p: ArrayLike, q: ArrayLike) -> jax.Array:
    """The Fisher–Rao distance `d(p, q) = 2 arccos(sum sqrt(p q))`, in `[0, pi]`.

    Over the last axis, of `p` and `q` after normalising each. Evaluated through the chord
    `|sqrt(p) - sqrt(q)|` as `4 arcsin(chord / 2)`, which keeps full relative precision near 0
    (the arccos form loses everything below ~1e-8). Its gradient is finite everywhere: 0 at an
    exact match (where the distance has a cusp) and on zero entries. NaN entries give NaN.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> round(float(to.fisher_rao_distance(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]))), 4)  # pi
        3.1416
        >>> float(to.fisher_rao_distance(jnp.array([0.2, 0.8]), jnp.array([1.0, 4.0])))  # normalised first
        0.0
    """
    diff = _root(p) - _root(q)
    chord2 = token_sum(diff * diff)
    chord = jnp.where(chord2 > 0, jnp.sqrt(jnp.where(chord2 > 0, chord2, 1)), jnp.where(jnp.isnan(chord2), jnp.nan, 0))
    return 4.0 * jnp.arcsin(jnp.clip(chord / 2.0, 0.0, 1.0))


def kl_divergence(p: ArrayLike, q: ArrayLike) -> jax.Array:
    """The Kullback–Leibler divergence `KL(p || q) = sum p ln(p/q)` over the last axis.

    Terms with `p = 0` contribute 0; `q = 0 < p` gives inf.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> p, q = jnp.array([0.5, 0.5]), jnp.array([0.25, 0.75])
        >>> bool(jnp.isclose(to.kl_divergence(p, q), 0.5 * jnp.log(2.0) + 0.5 * jnp.log(2 / 3)))
        True
        >>> float(to.kl_divergence(jnp.array([0.5, 0.5]), jnp.array([1.0, 0.0])))
        inf
    """
    p, q = jnp.asarray(p), jnp.asarray(q)
    safe_q = jnp.where(q > 0, q, 1)
    terms = xlogy(p, p) - xlogy(p, safe_q)
    terms = jnp.where((q <= 0) & (p > 0), jnp.inf, terms)
    return token_sum(terms)
