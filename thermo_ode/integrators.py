"""Constrained integrators on the radius-2 sphere, as diffrax solvers and terms.

The state is `(x, v)` with `|x|^2 = R^2` and `x . v = 0` (docs/physics.md, section 3). Two
splitting methods, each one force evaluation per step:

- `Rattle`: constrained velocity Verlet (Andersen, J. Comput. Phys. 52, 1983). The position
  multiplier solves `|x1|^2 = R^2` in closed form (a quadratic on a sphere), the velocity
  multiplier `x1 . v1 = 0` by projection. Symplectic and time-reversible at `friction = 0`;
  friction, when present, is applied exactly as half-step velocity decays around the step.
- `GeodesicBAOAB`: g-BAOAB (Leimkuhler & Matthews, Proc. R. Soc. A 472, 2016) with the drift
  along great circles done exactly, and the O step the exact Ornstein–Uhlenbeck update of the
  velocity in the tangent space. With no noise and no friction it is the geodesic
  velocity Verlet (symplectic); with a `TangentNoiseTerm` it samples `exp(-H / T_b)`.

Both take a `SphereDriftTerm` (optionally in a `MultiTerm` with a `TangentNoiseTerm`) and are
meant for fixed steps. `StepBrownianPath` is the noise source `simulate` uses: Brownian motion
on the integer grid of a unit-step solve, one key per step, so long runs never reuse noise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from diffrax import RESULTS, AbstractTerm, LocalLinearInterpolation, MultiTerm
from jaxtyping import Array, Bool, PRNGKeyArray, Scalar

from .dynamics import constrained_acceleration
from .geometry import RADIUS, project_tangent
from .summation import token_dot, token_sum


class SphereDriftTerm(AbstractTerm):
    """`x' = v`, `v' = force(x) - friction v + mu x`: the deterministic part on the sphere.

    `force(x, args)` is the unconstrained conservative force (masked tokens 0). The vector
    field includes the constraint force, so any diffrax ODE solver can use this term too.
    """

    force: Callable = eqx.field(static=True)
    friction: Scalar
    mask: Bool[Array, " N"]

    def vf(self, t, y, args):
        x, v = y
        return v, constrained_acceleration(x, v, self.force(x, args) - self.friction * v, self.mask)

    def contr(self, t0, t1, **kwargs):
        return t1 - t0

    def prod(self, vf, control):
        return jax.tree.map(lambda a: control * a, vf)


class TangentNoiseTerm(AbstractTerm):
    """`amplitude * P_x dW`: noise tangent to the sphere at `x`, on unmasked tokens.

    For a second-order state `(x, v)` the noise drives `v`; for a first-order state `x` it
    drives `x` directly. `vf` is the matrix `amplitude * P_x`; `vf_prod` avoids forming it.
    """

    amplitude: Scalar
    mask: Bool[Array, " N"]
    control: diffrax.AbstractBrownianPath

    def vf(self, t, y, args):
        x = y[0] if isinstance(y, tuple) else y
        live = self.mask.astype(x.dtype)
        # (diag(live) - x x^T / |x|^2) diag(live), its columns scaled rather than multiplied.
        matrix = self.amplitude * (jnp.diag(live) - jnp.outer(x, x) / token_dot(x, x)) * live
        return (jnp.zeros_like(matrix), matrix) if isinstance(y, tuple) else matrix

    def contr(self, t0, t1, **kwargs):
        return self.control.evaluate(t0, t1)

    def prod(self, vf, control):
        return jax.tree.map(lambda m: token_sum(m * control), vf)

    def vf_prod(self, t, y, args, control):
        x = y[0] if isinstance(y, tuple) else y
        kick = self.amplitude * project_tangent(x, jnp.where(self.mask, control, 0))
        return (jnp.zeros_like(x), kick) if isinstance(y, tuple) else kick


class StepBrownianPath(diffrax.AbstractBrownianPath):
    """Brownian motion sampled on the integer grid: the increment over `[k, k + 1]` is
    `normal(fold_in(key, k))`, exactly reproducible from the key and independent across steps.

    Only for solves that step from integer to integer (unit steps; a last shorter step is
    scaled by its length). diffrax's `UnsafeBrownianPath` keys on the float32 bits of the
    times, which repeat noise in long float64 runs; `VirtualBrownianTree` costs a tree
    descent per step.
    """

    shape: tuple[int, ...] = eqx.field(static=True)
    dtype: jnp.dtype = eqx.field(static=True)
    key: PRNGKeyArray
    levy_area: ClassVar = diffrax.BrownianIncrement  # type: ignore[misc]  # fills diffrax's AbstractVar

    @property
    def t0(self):
        return 0

    @property
    def t1(self):
        return jnp.inf

    def evaluate(self, t0, t1=None, left=True, use_levy=False):
        if t1 is None or use_levy:
            raise NotImplementedError("StepBrownianPath gives increments over one grid step only")
        step = jnp.floor(t0 + 0.5).astype(jnp.int32)
        size = jnp.sqrt(jnp.asarray(t1 - t0, self.dtype))
        return size * jax.random.normal(jax.random.fold_in(self.key, step), self.shape, self.dtype)


def _unwrap(term):
    """diffrax wraps every term (its private `WrapTerm`, with `.term` and `.direction`)."""
    while hasattr(term, "term") and hasattr(term, "direction"):
        term = term.term
    return term


def _split(terms, solver_name: str, noise_allowed: bool):
    """`(drift, noise or None)` from a `SphereDriftTerm` or `MultiTerm(drift, noise)`."""
    noise = None
    if isinstance(terms, MultiTerm):
        if len(terms.terms) != 2 or not noise_allowed:
            raise ValueError(
                f"{solver_name} takes a SphereDriftTerm"
                + (
                    " and a TangentNoiseTerm"
                    if noise_allowed
                    else " (it is deterministic; use GeodesicBAOAB for noise)"
                )
            )
        terms, noise = terms.terms
        noise = _unwrap(noise)
        if not isinstance(noise, TangentNoiseTerm):
            raise ValueError(f"{solver_name}: the noise term must be a TangentNoiseTerm, got {type(noise).__name__}")
    drift = _unwrap(terms)
    if not isinstance(drift, SphereDriftTerm):
        raise ValueError(f"{solver_name} needs a SphereDriftTerm, got {type(drift).__name__}")
    return drift, noise


def _kick(x, v, force, h):
    """B: a velocity kick by the force, projected onto the tangent space (RATTLE's velocity
    multiplier)."""
    return project_tangent(x, v + h * force)


def _decay(friction, h):
    """Exact velocity decay `exp(-friction h)` over `h`."""
    return jnp.exp(-friction * h)


class _SphereSplitting(diffrax.AbstractItoSolver):
    """Shared plumbing: fixed steps, the force at the current point carried between steps (so
    each step evaluates it once), linear dense output (readouts normalise it)."""

    term_structure: ClassVar = AbstractTerm
    interpolation_cls: ClassVar = LocalLinearInterpolation
    noise_allowed: ClassVar[bool] = False

    def order(self, terms):
        return 2

    def strong_order(self, terms):
        return None

    def init(self, terms, t0, t1, y0, args):
        drift, _ = _split(terms, type(self).__name__, self.noise_allowed)
        return drift.force(y0[0], args)

    def func(self, terms, t0, y0, args):
        drift, _ = _split(terms, type(self).__name__, self.noise_allowed)
        return drift.vf(t0, y0, args)

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        drift, noise = _split(terms, type(self).__name__, self.noise_allowed)
        force0 = solver_state
        (x1, v1), force1, result = self._step(drift, noise, t0, t1, y0, args, force0)
        y1 = (x1, v1)
        return y1, None, dict(y0=y0, y1=y1), force1, result


class Rattle(_SphereSplitting):
    """RATTLE on the radius-2 sphere: second order, symplectic for `friction = 0`.

    One step of size `h`: `u = v + (h/2) f(x)`, `x1 = x + h u - a x` with the smaller root
    `a` of `|x + h u - a x|^2 = R^2`, `v1 = P_{x1}((x1 - x)/h + (h/2) f(x1))`. The state stays
    on the sphere to rounding without any projection. A step so large that the quadratic has
    no root ends the solve with `RESULTS.nonlinear_divergence`.

    Examples:
        Without damping the energy error stays bounded (O(h^2)) and the state on the sphere:

        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=0.0)
        >>> traj = to.solve(system, jnp.full(3, 1 / 3), 20.0, solver="rattle", dt=0.05, saves=21)
        >>> int(traj.num_steps), bool(abs(traj.hamiltonian - traj.hamiltonian[0]).max() < 1e-3)
        (400, True)
        >>> bool(traj.constraint_error.max() < 1e-6)
        True
    """

    def _step(self, drift, noise, t0, t1, y0, args, force0):
        h = t1 - t0
        x, v = y0
        decay = _decay(drift.friction, 0.5 * h)
        u = decay * v + 0.5 * h * force0
        y = x + h * u
        r2 = RADIUS**2
        excess, along = token_dot(y, y) - r2, token_dot(x, y)
        disc = along * along - r2 * excess
        # a = (along - sqrt(disc)) / R^2, in the form that does not cancel when a is small.
        a = excess / (along + jnp.sqrt(jnp.maximum(disc, 0)))
        x1 = jnp.where(drift.mask, y - a * x, 0)
        force1 = drift.force(x1, args)
        v1 = decay * _kick(x1, (x1 - x) / h, force1, 0.5 * h)
        result = RESULTS.where(disc >= 0, RESULTS.successful, RESULTS.nonlinear_divergence)
        return (x1, v1), force1, result


def geodesic_drift(x, v, h):
    """Exact motion along the great circle through `x` with velocity `v` for a time `h`."""
    speed = jnp.sqrt(token_dot(v, v))
    angle = speed * h / RADIUS
    # sin(angle)/speed * R = h sinc(angle): finite as the speed goes to 0.
    sin_over_rate = h * jnp.sinc(angle / jnp.pi)
    x1 = x * jnp.cos(angle) + v * sin_over_rate
    v1 = v * jnp.cos(angle) - x * (speed / RADIUS) * jnp.sin(angle)
    return x1, v1


class GeodesicBAOAB(_SphereSplitting):
    """g-BAOAB on the sphere: B (half kick), A (half geodesic drift), O (velocity update), A, B.

    The A steps move exactly along great circles; the O step is the exact Ornstein–Uhlenbeck
    velocity update with friction and, if given, tangent noise. The O step over `h` is
    `v <- c v + amplitude sqrt((1 - c^2) / (2 friction h)) P_x dW`, `c = exp(-friction h)`; it
    reduces to `amplitude P_x dW` as friction -> 0.

    Examples:
        In a heat bath the system fluctuates about softmax instead of settling:

        >>> import jax, jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> traj = to.solve(
        ...     system, jnp.full(3, 1 / 3), 20.0, solver="gbaoab", dt=0.05, saves=21,
        ...     bath_temperature=0.1, key=jax.random.key(0),
        ... )
        >>> int(traj.status)
        0
        >>> bool(traj.final_distance > 1e-3)  # thermal fluctuations, of size sqrt(T_b / T)
        True
    """

    noise_allowed: ClassVar[bool] = True

    def _step(self, drift, noise, t0, t1, y0, args, force0):
        h = t1 - t0
        x, v = y0
        v = _kick(x, v, force0, 0.5 * h)
        x, v = geodesic_drift(x, v, 0.5 * h)
        c = _decay(drift.friction, h)
        v = c * v
        if noise is not None:
            # (1 - c^2) / (2 friction h) with its limit 1 at zero friction.
            two_fh = 2 * drift.friction * h
            scale = jnp.where(two_fh > 0, -jnp.expm1(-two_fh) / jnp.where(two_fh > 0, two_fh, 1), 1.0)
            v = v + jnp.sqrt(scale) * noise.vf_prod(t0, (x, v), args, noise.contr(t0, t1))[1]
        x, v = geodesic_drift(x, v, 0.5 * h)
        x = jnp.where(drift.mask, x, 0)
        force1 = drift.force(x, args)
        v = jnp.where(drift.mask, _kick(x, v, force1, 0.5 * h), 0)
        return (x, v), force1, RESULTS.successful
