"""Coordinate charts: how `(rho, rho_dot)` becomes a solver state and back, and which vector
field moves it. Each chart works on one system; `simulate` vmaps them over the batch.

- `sphere`  (primary): `x = 2 sqrt(rho)`, exact constraint force, projection after every step.
- `logit`:  `rho = softmax(theta)` with the time-dependent multiplier; singular at faces.
- `simplex`: `rho` itself with one token solving the constraint; equations of motion derived
  from the Lagrangian by autodiff. Slow (a mass-matrix solve per evaluation): for checking.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import PyTree

from . import dynamics as dyn
from . import geometry as geo
from .summation import token_sum

__all__ = ["CHARTS", "AbstractChart", "LogitChart", "SimplexChart", "SphereChart", "resolve_chart"]


class AbstractChart(eqx.Module):
    """A coordinate chart of the simplex: the solver's state for `(rho, rho_dot)` and its dynamics.

    Rates (`rho_dot`) here are derivatives in solver time `s`. The state is `(position,
    velocity)` for the second-order dynamics and the position alone for the first-order
    gradient flow (`second_order=False`). `c` holds the vector field's coefficients
    (`thermo_ode.dynamics.Coefficients`). A chart instance can be passed as the `chart` of
    `solve` and `simulate`.

    Examples:
        Every chart takes `(rho, rho_dot)` to its state and back:

        >>> import jax.numpy as jnp
        >>> from thermo_ode.charts import AbstractChart, resolve_chart
        >>> from thermo_ode.dynamics import Coefficients
        >>> rho, rho_dot = jnp.array([0.2, 0.3, 0.5]), jnp.array([0.1, -0.05, -0.05])
        >>> c = Coefficients(jnp.zeros(3), jnp.ones(3, bool), 1.0, 0.0)
        >>> for name in ("sphere", "logit", "simplex"):
        ...     chart = resolve_chart(name)
        ...     back, back_dot = chart.readout(chart.initial_state(rho, rho_dot, c, True), c, True)
        ...     print(name, isinstance(chart, AbstractChart), bool(jnp.allclose(back, rho)), bool(jnp.allclose(back_dot, rho_dot)))
        sphere True True True
        logit True True True
        simplex True True True
    """

    @abc.abstractmethod
    def initial_state(self, rho: jax.Array, rho_dot: jax.Array, c: dyn.Coefficients, second_order: bool) -> PyTree:
        """The solver state of `(rho, rho_dot)`: `(position, velocity)`, or the position alone."""

    @abc.abstractmethod
    def vector_field(self, second_order: bool) -> Callable:
        """The vector field `f(s, y, c)` of the state, diffrax's `ODETerm` signature."""

    @abc.abstractmethod
    def readout(self, y: PyTree, c: dyn.Coefficients, second_order: bool) -> tuple[jax.Array, jax.Array]:
        """`(rho, rho_dot)` from a state, `rho` exactly normalised."""

    def projection(self, second_order: bool) -> Callable | None:
        """A map back onto the chart's constraint set, or None if the chart needs none."""
        return None

    def constraint_error(self, y: PyTree, second_order: bool) -> jax.Array:
        """How far a raw state is from the constraint set (0 where it holds by construction)."""
        return jnp.zeros((), (y[0] if second_order else y).dtype)

    def _first_order_rate(self, y, c, second_order):
        """For the gradient flow the rate is the vector field itself."""
        return self.vector_field(second_order)(0.0, y, c)


class SphereChart(AbstractChart):
    """The primary chart: `x = 2 sqrt(rho)` on the radius-2 sphere, with the exact constraint force.

    Every accepted step is projected back onto the sphere and its tangent space.

    Examples:
        >>> import jax.numpy as jnp
        >>> from thermo_ode.charts import SphereChart
        >>> x = SphereChart().initial_state(jnp.array([0.2, 0.3, 0.5]), None, None, False)  # the position alone
        >>> bool(jnp.isclose(jnp.sum(x**2), 4.0))  # on the radius-2 sphere
        True
    """

    def initial_state(self, rho: jax.Array, rho_dot: jax.Array, c: dyn.Coefficients, second_order: bool) -> PyTree:
        """`(x, x_dot)` with `x = 2 sqrt(rho)`, or `x` alone."""
        x = geo.to_sphere(rho)
        return (x, geo.velocity_to_sphere(rho, rho_dot)) if second_order else x

    def vector_field(self, second_order: bool) -> Callable:
        """The constrained equations of motion on the sphere (or its gradient flow)."""
        return dyn.sphere_field if second_order else dyn.sphere_gradient_flow

    def projection(self, second_order: bool) -> Callable:
        """Back onto the sphere (and, second order, the velocity onto its tangent space)."""
        return _project_state if second_order else geo.project_to_sphere

    def constraint_error(self, y: PyTree, second_order: bool) -> jax.Array:
        """`| |x|^2 / 4 - 1 |`."""
        x = y[0] if second_order else y
        return jnp.abs(token_sum(x * x) / geo.RADIUS**2 - 1)

    def readout(self, y: PyTree, c: dyn.Coefficients, second_order: bool) -> tuple[jax.Array, jax.Array]:
        """`(rho, rho_dot)` of the state projected onto the sphere, `rho = x^2 / |x|^2`."""
        if second_order:
            x, v = _project_state(y)
        else:
            x = geo.project_to_sphere(y)
            v = self._first_order_rate(x, c, second_order)
        return geo.from_sphere(x), geo.velocity_from_sphere(x, v)


def _project_state(y):
    x, v = y
    x = geo.project_to_sphere(x)
    return x, geo.project_tangent(x, v)


class LogitChart(AbstractChart):
    """Logits: `rho = softmax(theta)`, with the time-dependent multiplier; singular at faces.

    Examples:
        >>> import jax.numpy as jnp
        >>> from thermo_ode.charts import LogitChart
        >>> from thermo_ode.dynamics import Coefficients
        >>> rho, all_tokens = jnp.array([0.2, 0.3, 0.5]), Coefficients(jnp.zeros(3), jnp.ones(3, bool), 1.0, 0.0)
        >>> bool(jnp.allclose(LogitChart().initial_state(rho, None, all_tokens, False), jnp.log(rho)))
        True
    """

    def initial_state(self, rho: jax.Array, rho_dot: jax.Array, c: dyn.Coefficients, second_order: bool) -> PyTree:
        """`(theta, theta_dot)` with `theta = ln rho` (0 on masked tokens), or `theta` alone."""
        safe = jnp.where(c.mask, rho, 1)
        theta = jnp.where(c.mask, jnp.log(safe), 0)
        return (theta, jnp.where(c.mask, rho_dot / safe, 0)) if second_order else theta

    def vector_field(self, second_order: bool) -> Callable:
        """The equations of motion of the logits (or their gradient flow)."""
        return dyn.logit_field if second_order else dyn.logit_gradient_flow

    def readout(self, y: PyTree, c: dyn.Coefficients, second_order: bool) -> tuple[jax.Array, jax.Array]:
        """`(rho, rho_dot)` with `rho = softmax(theta)` over the unmasked tokens."""
        theta = y[0] if second_order else y
        rho = jnp.where(c.mask, jnp.exp(dyn.log_rho_from_logits(theta, c.mask)), 0)
        w = y[1] if second_order else self._first_order_rate(theta, c, second_order)
        # rho_dot = rho (theta' - <theta'>): exact in any gauge.
        return rho, rho * (w - token_sum(rho * w))


class SimplexChart(AbstractChart):
    """`rho` itself, one token solving the constraint, with equations of motion by autodiff.

    The equations come from the Lagrangian by automatic differentiation. Slow (a mass-matrix
    solve per evaluation): for checking the other charts.

    Examples:
        >>> import jax.numpy as jnp
        >>> from thermo_ode.charts import SimplexChart
        >>> rho, rho_dot = jnp.array([0.2, 0.3, 0.5]), jnp.array([0.1, -0.05, -0.05])
        >>> position, velocity = SimplexChart().initial_state(rho, rho_dot, None, True)  # rho itself
        >>> bool(jnp.all(position == rho)), bool(jnp.all(velocity == rho_dot))
        (True, True)
    """

    def initial_state(self, rho: jax.Array, rho_dot: jax.Array, c: dyn.Coefficients, second_order: bool) -> PyTree:
        """`(rho, rho_dot)` as they are, or `rho` alone."""
        return (rho, rho_dot) if second_order else rho

    def vector_field(self, second_order: bool) -> Callable:
        """The Euler–Lagrange equations on the simplex (or the gradient flow)."""
        return dyn.simplex_field if second_order else dyn.simplex_gradient_flow

    def readout(self, y: PyTree, c: dyn.Coefficients, second_order: bool) -> tuple[jax.Array, jax.Array]:
        """`(rho, rho_dot)` with the dependent token filled in from the constraint."""
        dependent = dyn.dependent_index(c.mask)
        q = y[0] if second_order else y
        q_dot = y[1] if second_order else self._first_order_rate(q, c, second_order)
        return dyn.simplex_embedding(q, c.mask, dependent), dyn.simplex_velocity(q_dot, c.mask, dependent)


CHARTS = {"sphere": SphereChart(), "logit": LogitChart(), "simplex": SimplexChart()}
"""The charts known by name, for the `chart` argument of `solve` and `simulate`.

Examples:
    >>> from thermo_ode.charts import CHARTS
    >>> sorted(CHARTS)
    ['logit', 'simplex', 'sphere']
"""


def resolve_chart(chart: str | AbstractChart) -> AbstractChart:
    """The chart of a name in `CHARTS`, or a chart instance (returned unchanged).

    Raises `ValueError` for anything else.

    Examples:
        >>> from thermo_ode.charts import SphereChart, resolve_chart
        >>> isinstance(resolve_chart("sphere"), SphereChart)
        True
        >>> chart = SphereChart()
        >>> resolve_chart(chart) is chart
        True
    """
    if isinstance(chart, AbstractChart):
        return chart
    if isinstance(chart, str) and chart in CHARTS:
        return CHARTS[chart]
    raise ValueError(f"chart must be one of {sorted(CHARTS)}, got {chart!r}")
