"""Solver choice, and the wrapping solver that projects every step back onto the manifold.

Adaptive Runge–Kutta solvers (tsit5, ...) take `rtol`/`atol`; the fixed-step ones need `dt`:
`rattle` (symplectic, sphere chart, m > 0), `gbaoab` (g-BAOAB: damping and Langevin noise,
sphere chart, m > 0) and `euler` (Euler–Maruyama for Langevin noise, any mass).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import diffrax
import equinox as eqx
import jax
import numpy as np
from jaxtyping import PyTree

from .fused import FUSED_SOLVERS
from .integrators import GeodesicBAOAB, Rattle

# A time as diffrax's solver methods take it.
Time = float | jax.Array | np.ndarray

__all__ = ["SOLVERS", "ProjectedSolver", "is_sphere_splitting", "needs_fixed_step", "resolve_solver", "takes_noise"]

# The names, and which need dt or take noise, are `thermo_ode.rules`' (jax-free).
SOLVERS: dict[str, Callable[[], diffrax.AbstractSolver]] = {
    "tsit5": diffrax.Tsit5,
    "dopri5": diffrax.Dopri5,
    "dopri8": diffrax.Dopri8,
    "bosh3": diffrax.Bosh3,
    "heun": diffrax.Heun,
    "kvaerno3": diffrax.Kvaerno3,
    "kvaerno5": diffrax.Kvaerno5,
    "rattle": Rattle,
    "gbaoab": GeodesicBAOAB,
    "euler": diffrax.Euler,
    **FUSED_SOLVERS,
}
"""The solvers known by name, for the `solver` argument of `solve` and `simulate`.

Each name maps to the class (or factory) that makes the solver.

Examples:
    >>> from thermo_ode.solvers import SOLVERS
    >>> sorted(SOLVERS)[:4]
    ['bosh3', 'dopri5', 'dopri8', 'euler']
    >>> type(SOLVERS["tsit5"]()).__name__
    'Tsit5'
"""


def needs_fixed_step(solver: diffrax.AbstractSolver) -> bool:
    """Whether `solver` has no error estimate, so it steps at a given `dt`.

    Examples:
        >>> import diffrax
        >>> from thermo_ode.solvers import needs_fixed_step, resolve_solver
        >>> needs_fixed_step(resolve_solver("rattle")), needs_fixed_step(diffrax.Tsit5())
        (True, False)
    """
    return not isinstance(solver, diffrax.AbstractAdaptiveSolver)


def is_sphere_splitting(solver: diffrax.AbstractSolver) -> bool:
    """Whether `solver` is a constrained splitting method (RATTLE, g-BAOAB).

    These keep the state on the sphere themselves, so no projection wraps them.

    Examples:
        >>> from thermo_ode.solvers import is_sphere_splitting, resolve_solver
        >>> is_sphere_splitting(resolve_solver("gbaoab")), is_sphere_splitting(resolve_solver("tsit5"))
        (True, False)
    """
    return isinstance(solver, (Rattle, GeodesicBAOAB))


def takes_noise(solver: diffrax.AbstractSolver) -> bool:
    """Whether `solver` is trusted with Langevin noise: g-BAOAB and Euler–Maruyama.

    These are the ones whose stationary density the tests check. (Stratonovich solvers such
    as Heun would read the multiplicative tangent noise differently, and RATTLE is
    deterministic.)

    Examples:
        >>> from thermo_ode.solvers import resolve_solver, takes_noise
        >>> [name for name in ("gbaoab", "euler", "heun", "rattle") if takes_noise(resolve_solver(name))]
        ['gbaoab', 'euler']
    """
    return isinstance(solver, (GeodesicBAOAB, diffrax.Euler))


def resolve_solver(solver: str | diffrax.AbstractSolver) -> diffrax.AbstractSolver:
    """A diffrax solver from a name in `SOLVERS` (any case) or an instance (returned unchanged).

    Raises `ValueError` for an unknown name and `TypeError` for anything else.

    Examples:
        >>> import diffrax
        >>> from thermo_ode.solvers import resolve_solver
        >>> type(resolve_solver("Dopri5")).__name__
        'Dopri5'
        >>> solver = diffrax.Heun()
        >>> resolve_solver(solver) is solver
        True
    """
    if isinstance(solver, diffrax.AbstractSolver):
        return solver
    if isinstance(solver, str):
        key = solver.lower()
        if key in SOLVERS:
            return SOLVERS[key]()
        raise ValueError(f"solver must be one of {sorted(SOLVERS)} or a diffrax solver, got {solver!r}")
    raise TypeError(f"solver must be a name or a diffrax.AbstractSolver, got {type(solver).__name__}")


class ProjectedSolver(diffrax.AbstractWrappedSolver):
    """A diffrax solver that runs `solver` and maps every accepted state through `projection`.

    The projection takes the state back onto a constraint set, e.g. the sphere and its tangent
    space. Wrapping keeps any diffrax solver usable; isinstance checks (adaptive, implicit,
    ...) see through to the wrapped solver.

    The error estimate and dense output are the wrapped solver's, so values interpolated
    between steps (`SaveAt(ts=...)`) are not projected: normalise what you report.

    - `solver`: any diffrax solver.
    - `projection`: a function of the state `y1` after each step (the same PyTree structure).

    Examples:
        An Euler step of a rotation leaves the unit circle; the projection puts it back:

        >>> import diffrax, jax.numpy as jnp
        >>> from thermo_ode import ProjectedSolver
        >>> solver = ProjectedSolver(diffrax.Euler(), lambda y: y / jnp.linalg.norm(y))
        >>> rotation = diffrax.ODETerm(lambda t, y, args: jnp.stack([-y[1], y[0]]))
        >>> y0 = jnp.array([1.0, 0.0])
        >>> state = solver.init(rotation, 0.0, 0.5, y0, None)
        >>> y1, _, _, _, result = solver.step(rotation, 0.0, 0.5, y0, None, state, False)
        >>> round(float(jnp.linalg.norm(y0 + 0.5 * rotation.vf(0.0, y0, None))), 4)  # the bare step
        1.118
        >>> round(float(jnp.linalg.norm(y1)), 6), bool(result == diffrax.RESULTS.successful)
        (1.0, True)
        >>> isinstance(solver, diffrax.Euler)  # isinstance checks see the wrapped solver
        True
    """

    solver: diffrax.AbstractSolver  # type: ignore[misc]  # fills diffrax's AbstractVar
    projection: Callable = eqx.field(static=True)

    @property
    def term_structure(self) -> PyTree:
        """The wrapped solver's term structure."""
        return self.solver.term_structure

    @property
    def interpolation_cls(self) -> Callable:  # type: ignore[override]  # pyright: ignore
        """The wrapped solver's dense interpolation (not projected)."""
        return self.solver.interpolation_cls

    @property
    def term_compatible_contr_kwargs(self) -> PyTree:
        """The wrapped solver's keyword arguments for the terms' controls."""
        return self.solver.term_compatible_contr_kwargs

    # Forward-mode autodiff (diffrax.ForwardMode) asks Runge–Kutta solvers how to loop stages.
    @property
    def scan_kind(self) -> Any:
        """The wrapped solver's `scan_kind` (Runge–Kutta solvers), else None."""
        return getattr(self.solver, "scan_kind", None)

    # Implicit solvers: diffrax reads (and sets the tolerances of) `solver.root_finder`.
    @property
    def root_finder(self) -> Any:
        """The wrapped (implicit) solver's root finder."""
        return self.solver.root_finder  # type: ignore[attr-defined]  # implicit solvers only

    @property
    def root_find_max_steps(self) -> int:
        """The wrapped (implicit) solver's root-finding step limit."""
        return self.solver.root_find_max_steps  # type: ignore[attr-defined]  # implicit solvers only

    def order(self, terms: PyTree[diffrax.AbstractTerm]) -> int | None:
        """The wrapped solver's order."""
        return self.solver.order(terms)

    def strong_order(self, terms: PyTree[diffrax.AbstractTerm]) -> float | jax.Array | np.ndarray | None:
        """The wrapped solver's strong order (SDEs)."""
        return self.solver.strong_order(terms)

    def error_order(self, terms: PyTree[diffrax.AbstractTerm]) -> float | jax.Array | np.ndarray | None:
        """The wrapped solver's error order."""
        return self.solver.error_order(terms)

    def init(self, terms: PyTree[diffrax.AbstractTerm], t0: Time, t1: Time, y0: PyTree, args: PyTree) -> Any:
        """The wrapped solver's initial state."""
        return self.solver.init(terms, t0, t1, y0, args)

    def step(
        self,
        terms: PyTree[diffrax.AbstractTerm],
        t0: Time,
        t1: Time,
        y0: PyTree,
        args: PyTree,
        solver_state: Any,
        made_jump: bool | jax.Array | np.ndarray,
    ) -> tuple[PyTree, PyTree | None, dict[str, PyTree], Any, diffrax.RESULTS]:
        """One step of the wrapped solver, its new state `y1` passed through `projection`."""
        y1, y_error, dense_info, solver_state, result = self.solver.step(
            terms, t0, t1, y0, args, solver_state, made_jump
        )
        # An FSAL solver keeps f(y1) of the unprojected y1; the projection moves y1 by the
        # order of the local error, so reusing it costs no order.
        return self.projection(y1), y_error, dense_info, solver_state, result

    def func(self, terms: PyTree[diffrax.AbstractTerm], t0: Time, y0: PyTree, args: PyTree) -> PyTree:
        """The wrapped solver's vector field at `(t0, y0)`."""
        return self.solver.func(terms, t0, y0, args)
