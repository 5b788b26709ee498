"""Coordinate charts: how `(rho, rho_dot)` becomes a solver state and back, and which vector
field moves it. Each chart works on one system; `simulate` vmaps them over the batch.

- `sphere`  (primary): `x = 2 sqrt(rho)`, exact constraint force, projection after every step.
- `logit`:  `rho = softmax(theta)` with the time-dependent multiplier; singular at faces.
- `simplex`: `rho` itself with one token solving the constraint; equations of motion derived
  from the Lagrangian by autodiff. Slow (a mass-matrix solve per evaluation): for checking.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp

from . import dynamics as dyn
from . import geometry as geo


class AbstractChart(eqx.Module):
    """Rates (`rho_dot`) here are derivatives in solver time `s`."""

    @abc.abstractmethod
    def initial_state(self, rho, rho_dot, c: dyn.Coefficients, second_order: bool): ...

    @abc.abstractmethod
    def vector_field(self, second_order: bool): ...

    @abc.abstractmethod
    def readout(self, y, c: dyn.Coefficients, second_order: bool):
        """`(rho, rho_dot)` from a state, `rho` exactly normalised."""

    def projection(self, second_order: bool):
        """A map back onto the chart's constraint set, or None if the chart needs none."""
        return None

    def constraint_error(self, y, second_order: bool):
        """How far a raw state is from the constraint set (0 where it holds by construction)."""
        return jnp.zeros((), (y[0] if second_order else y).dtype)

    def _first_order_rate(self, y, c, second_order):
        """For the gradient flow the rate is the vector field itself."""
        return self.vector_field(second_order)(0.0, y, c)


class SphereChart(AbstractChart):
    def initial_state(self, rho, rho_dot, c, second_order):
        x = geo.to_sphere(rho)
        return (x, geo.velocity_to_sphere(rho, rho_dot)) if second_order else x

    def vector_field(self, second_order):
        return dyn.sphere_field if second_order else dyn.sphere_gradient_flow

    def projection(self, second_order):
        return _project_state if second_order else geo.project_to_sphere

    def constraint_error(self, y, second_order):
        x = y[0] if second_order else y
        return jnp.abs(jnp.sum(x * x, axis=-1) / geo.RADIUS**2 - 1)

    def readout(self, y, c, second_order):
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
    def initial_state(self, rho, rho_dot, c, second_order):
        safe = jnp.where(c.mask, rho, 1)
        theta = jnp.where(c.mask, jnp.log(safe), 0)
        return (theta, jnp.where(c.mask, rho_dot / safe, 0)) if second_order else theta

    def vector_field(self, second_order):
        return dyn.logit_field if second_order else dyn.logit_gradient_flow

    def readout(self, y, c, second_order):
        theta = y[0] if second_order else y
        rho = jnp.where(c.mask, jnp.exp(dyn.log_rho_from_logits(theta, c.mask)), 0)
        w = y[1] if second_order else self._first_order_rate(theta, c, second_order)
        # rho_dot = rho (theta' - <theta'>): exact in any gauge.
        return rho, rho * (w - jnp.sum(rho * w))


class SimplexChart(AbstractChart):
    def initial_state(self, rho, rho_dot, c, second_order):
        return (rho, rho_dot) if second_order else rho

    def vector_field(self, second_order):
        return dyn.simplex_field if second_order else dyn.simplex_gradient_flow

    def readout(self, y, c, second_order):
        dependent = dyn.dependent_index(c.mask)
        q = y[0] if second_order else y
        q_dot = y[1] if second_order else self._first_order_rate(q, c, second_order)
        return dyn.simplex_embedding(q, c.mask, dependent), dyn.simplex_velocity(q_dot, c.mask, dependent)


CHARTS = {"sphere": SphereChart(), "logit": LogitChart(), "simplex": SimplexChart()}


def resolve_chart(chart) -> AbstractChart:
    if isinstance(chart, AbstractChart):
        return chart
    if isinstance(chart, str) and chart in CHARTS:
        return CHARTS[chart]
    raise ValueError(f"chart must be one of {sorted(CHARTS)}, got {chart!r}")
