"""Solver choice, and the wrapping solver that projects every step back onto the manifold.

Adaptive Runge–Kutta solvers (tsit5, ...) take `rtol`/`atol`; the fixed-step ones need `dt`:
`rattle` (symplectic, sphere chart, m > 0), `gbaoab` (g-BAOAB: damping and Langevin noise,
sphere chart, m > 0) and `euler` (Euler–Maruyama for Langevin noise, any mass).
"""

from __future__ import annotations

from collections.abc import Callable

import diffrax
import equinox as eqx

from .fused import FUSED
from .integrators import GeodesicBAOAB, Rattle

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
    **FUSED,
}


def needs_fixed_step(solver: diffrax.AbstractSolver) -> bool:
    """True for solvers without an error estimate (they step at a given `dt`)."""
    return not isinstance(solver, diffrax.AbstractAdaptiveSolver)


def is_sphere_splitting(solver: diffrax.AbstractSolver) -> bool:
    """The constrained splitting methods: they keep the state on the sphere themselves."""
    return isinstance(solver, (Rattle, GeodesicBAOAB))


def takes_noise(solver: diffrax.AbstractSolver) -> bool:
    """Solvers trusted with Langevin noise: g-BAOAB and Euler–Maruyama, the ones whose
    stationary density the tests check. (Stratonovich solvers such as Heun would read the
    multiplicative tangent noise differently, and RATTLE is deterministic.)"""
    return isinstance(solver, (GeodesicBAOAB, diffrax.Euler))


def resolve_solver(solver) -> diffrax.AbstractSolver:
    """A diffrax solver from a name in `SOLVERS` or an instance (returned unchanged)."""
    if isinstance(solver, diffrax.AbstractSolver):
        return solver
    if isinstance(solver, str):
        key = solver.lower()
        if key in SOLVERS:
            return SOLVERS[key]()
        raise ValueError(f"solver must be one of {sorted(SOLVERS)} or a diffrax solver, got {solver!r}")
    raise TypeError(f"solver must be a name or a diffrax.AbstractSolver, got {type(solver).__name__}")


class ProjectedSolver(diffrax.AbstractWrappedSolver):
    """Runs `solver` and maps every accepted state through `projection` (e.g. back onto the
    sphere and its tangent space). Wrapping keeps any diffrax solver usable; isinstance checks
    (adaptive, implicit, ...) see through to the wrapped solver.

    The error estimate and dense output are the wrapped solver's, so values interpolated
    between steps (`SaveAt(ts=...)`) are not projected: normalise what you report.
    """

    solver: diffrax.AbstractSolver
    projection: Callable = eqx.field(static=True)

    @property
    def term_structure(self):
        return self.solver.term_structure

    @property
    def interpolation_cls(self):  # pyright: ignore
        return self.solver.interpolation_cls

    @property
    def term_compatible_contr_kwargs(self):
        return self.solver.term_compatible_contr_kwargs

    # Forward-mode autodiff (diffrax.ForwardMode) asks Runge–Kutta solvers how to loop stages.
    @property
    def scan_kind(self):
        return getattr(self.solver, "scan_kind", None)

    # Implicit solvers: diffrax reads (and sets the tolerances of) `solver.root_finder`.
    @property
    def root_finder(self):
        return self.solver.root_finder

    @property
    def root_find_max_steps(self):
        return self.solver.root_find_max_steps

    def order(self, terms):
        return self.solver.order(terms)

    def strong_order(self, terms):
        return self.solver.strong_order(terms)

    def error_order(self, terms):
        return self.solver.error_order(terms)

    def init(self, terms, t0, t1, y0, args):
        return self.solver.init(terms, t0, t1, y0, args)

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        y1, y_error, dense_info, solver_state, result = self.solver.step(
            terms, t0, t1, y0, args, solver_state, made_jump
        )
        # An FSAL solver keeps f(y1) of the unprojected y1; the projection moves y1 by the
        # order of the local error, so reusing it costs no order.
        return self.projection(y1), y_error, dense_info, solver_state, result

    def func(self, terms, t0, y0, args):
        return self.solver.func(terms, t0, y0, args)
