"""`Options`: how a system is integrated, made once by `solve` or `simulate` and passed down.

What `diffrax.diffeqsolve` takes as a solver, a controller and an adjoint object, `set_up`,
`integrate` and the refill engine take as one `Options`: the chart, the solver, the step-size
controller, the clock, `max_steps` and the adjoint. `options(...)` resolves the names the
public functions take into it and refuses the choices that cannot go together
(`rules.integrator_problems`, the rule the sweep's config check applies too).

Its array leaves (the controller's tolerances; `max_steps` when given as an array) are inputs
of a compiled program, the rest are constants of it: runs that differ only in tolerances share
one program.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from . import rules
from .charts import AbstractChart, SphereChart, resolve_chart
from .solvers import is_sphere_splitting, needs_fixed_step, resolve_solver, takes_noise
from .stopping import Until
from .summation import rms_norm

TIME_SCALES = ("natural", "physical")


class Options(eqx.Module):
    """How one system is integrated (no per-system values: those are `integration.Inputs`).

    - `chart`: the coordinates integrated in (`thermo_ode.charts`).
    - `solver`: the diffrax solver (not yet wrapped in a projection).
    - `controller`: the step-size controller of an adaptive solve (a fixed-step solve
      replaces it by `ConstantStepSize`).
    - `second_order`: m > 0 (else the first-order gradient flow).
    - `time`: the clock the solver steps in, one of `TIME_SCALES`.
    - `max_steps`: a Python int (a constant of the program), or an int32 array (an input).
    - `adjoint`: diffrax's adjoint for gradients.
    - `until`: stop each system at equilibrium (`thermo_ode.stopping.Until`), or None.
    """

    chart: AbstractChart
    solver: diffrax.AbstractSolver
    controller: diffrax.AbstractStepSizeController
    second_order: bool = eqx.field(static=True)
    time: str = eqx.field(static=True)
    max_steps: int | Array = 100_000
    adjoint: diffrax.AbstractAdjoint = diffrax.RecursiveCheckpointAdjoint()
    until: Until | None = None


class DtRequired(ValueError):
    """The choices need a fixed step and none was given (`simulate` adds a value for its batch)."""


def resolve_solver_choice(solver, noisy: bool, second_order: bool) -> diffrax.AbstractSolver:
    """The diffrax solver for a name, an instance or None (the default rule of rules)."""
    return resolve_solver(rules.default_solver(noisy, second_order) if solver is None else solver)


def options(
    *,
    chart,
    solver,
    second_order: bool,
    noisy: bool,
    fixed_step: bool,
    time: str,
    rtol,
    atol,
    dtype,
    max_steps=100_000,
    stepsize_controller: diffrax.AbstractStepSizeController | None = None,
    adjoint: diffrax.AbstractAdjoint | None = None,
    until: Until | None = None,
) -> Options:
    """The `Options` of the public functions' keywords, or the error of the first choice that
    does not fit the others. `rtol`/`atol` (None: the precision's default) become arrays of
    `dtype`, inputs of the compiled program."""
    resolved_chart = resolve_chart(chart)
    resolved_solver = resolve_solver_choice(solver, noisy, second_order)
    check_static(resolved_chart, resolved_solver, second_order, noisy, fixed_step, time)
    if until is not None and not isinstance(until, Until):
        raise TypeError(f"until must be a thermo_ode.Until or None, got {type(until).__name__}")
    if until is not None and (noisy or fixed_step):
        raise ValueError(
            "until: a heat bath fluctuates about softmax and never stays within a tolerance, and fixed steps "
            "have no dense output to locate the stop; use until with adaptive steps and no bath"
        )
    controller: diffrax.AbstractStepSizeController
    if stepsize_controller is None:
        rtol, atol = rules.resolved_tolerances(rtol, atol, rules.precision_of(dtype))
        controller = diffrax.PIDController(rtol=jnp.asarray(rtol, dtype), atol=jnp.asarray(atol, dtype), norm=rms_norm)
    else:
        controller = stepsize_controller
    return Options(
        chart=resolved_chart,
        solver=resolved_solver,
        controller=controller,
        second_order=second_order,
        time=time,
        max_steps=max_steps,
        adjoint=adjoint or diffrax.RecursiveCheckpointAdjoint(),
        until=until,
    )


def check_static(chart, solver, second_order: bool, noisy: bool, fixed_step: bool, time: str) -> None:
    """Choices that cannot go together, whatever the values: raised before anything runs."""
    if time not in TIME_SCALES:
        raise ValueError(f"time must be one of {TIME_SCALES}, got {time!r}")
    problems = rules.integrator_problems(
        splitting=is_sphere_splitting(solver),
        noise_capable=takes_noise(solver),
        fixed_step_solver=needs_fixed_step(solver),
        sphere_chart=isinstance(chart, SphereChart),
        second_order=second_order,
        noisy=noisy,
        dt_given=fixed_step,
    )
    if problems:
        setting, problem = problems[0]
        raise (DtRequired if setting == "dt" else ValueError)(_words(problem, type(solver).__name__, second_order))


def _words(problem: str, name: str, second_order: bool) -> str:
    """The library's message for a problem of `rules.integrator_problems`, naming its arguments."""
    if problem == "splitting_chart":
        return f"solver {name} works in the sphere chart only: use chart='sphere'"
    if problem == "splitting_mass":
        return f"solver {name} integrates the second-order dynamics: mass must be > 0 (use 'euler' or an adaptive solver at m = 0)"
    if problem == "noise_chart":
        return "bath_temperature > 0: Langevin noise lives in the sphere chart; use chart='sphere'"
    if problem == "noise_solver":
        return f"bath_temperature > 0: solver {name} cannot integrate noise; use 'gbaoab' (mass > 0) or 'euler'"
    noise = " with Langevin noise" if problem == "noise_dt" else ""
    return f"dt is required: solver {name}{noise} steps at a fixed step size; for example dt = {rules.natural_dt(second_order)}"
