"""The pure core: `solve` integrates one system from a start to a `Trajectory`.

Everything here is written for one system and is traceable in every array argument, so
`jax.jit`, `jax.vmap` and `jax.grad` compose with it the way they do with
`diffrax.diffeqsolve`; `simulate` (thermo_ode.simulation) is the host-level driver that vmaps
the same per-system integration over batches. This is the one module that calls
`diffeqsolve`.

The solver steps in the time `s = rate * t`: natural time `sqrt(T/m) t` by default (`T t /
gamma` when m = 0), so the step count does not depend on the mass; a fixed-step solve steps in
units of `dt` instead (so its grid is exact in floating point). Results are reported in
physical time.
"""

from __future__ import annotations

from typing import Any, Literal

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike
from jaxtyping import Array

from . import _checks, start_checks
from .charts import AbstractChart
from .dynamics import Coefficients, sphere_force
from .formulas import natural_frequency
from .integrators import SphereDriftTerm, StepBrownianPath, TangentNoiseTerm
from .options import Options, options
from .programs import program
from .readout import read_out
from .solvers import ProjectedSolver, is_sphere_splitting
from .start_checks import fixed_step_count
from .stopping import Until, stop_event, stopped_saves
from .summation import token_sum
from .system import AttentionSystem
from .trajectory import Trajectory, status_code

FIRST_STEP = 0.01  # solver time


def clock_rate(system: AttentionSystem, second_order: bool, time: str):
    """`ds/dt` of the solver's clock: 1 in physical time; in natural time `sqrt(T/m)`, or
    `T/gamma` when m = 0 (the gradient flow's relaxation rate)."""
    T, m, gamma = system.temperature, system.mass, system.damping
    if time == "physical":
        return jnp.ones_like(T)
    return natural_frequency(T, m) if second_order else T / gamma


def solver_coefficients(system: AttentionSystem, second_order: bool, rate) -> Coefficients:
    """The vector field's coefficients in solver time `s = rate * t` (see thermo_ode.dynamics)."""
    T, m, gamma = system.temperature, system.mass, system.damping
    if second_order:
        stiffness, friction = T / (m * rate**2), gamma / (m * rate)
    else:
        stiffness, friction = T / (gamma * rate), jnp.zeros_like(T)
    beta = jnp.where(system.mask, system.energies / T[..., None], 0)
    return Coefficients(beta, system.mask, stiffness, friction)


def noise_amplitude(c: Coefficients, bath_over_t, second_order: bool):
    """Noise amplitude in solver time. With the potential `stiffness V/T`, the bath temperature
    in those units is `stiffness T_b/T`; fluctuation–dissipation then asks for
    `2 friction stiffness T_b/T` on the velocity (m > 0), `2 stiffness T_b/T` on x (m = 0)."""
    theta = c.stiffness * bath_over_t
    return jnp.sqrt(2 * (c.friction if second_order else 1) * theta)


class Inputs(eqx.Module):
    """One system's start and times, checked and cast: what `set_up` reads besides the system
    and the `Options` (`simulate` vmaps over a batch of them). `dt` None means adaptive steps;
    `key` None means no noise; `bath_temperature` None means none (reported as 0)."""

    rho0: Array  # (N,)
    velocity0: Array  # (N,), d rho/dt
    t1: Array  # ()
    ts: Array  # (S,) save times
    dt: Array | None = None
    bath_temperature: Array | None = None
    key: Array | None = None


class Problem(eqx.Module):
    """One system set up for a diffrax solver, in solver time `s = rate * t`: what `integrate`
    hands to `diffeqsolve` and the refill engine (thermo_ode.refill) steps itself."""

    terms: diffrax.AbstractTerm
    solver: diffrax.AbstractSolver
    controller: diffrax.AbstractStepSizeController
    y0: object
    coefficients: Coefficients
    s1: Array  # end, in solver time
    dt0: Array  # the first step, in solver time
    save_at: Array  # (S,) save times, in solver time
    reported_ts: Array  # (S,) the same, in physical time
    rate: Array


def set_up(system: AttentionSystem, inputs: Inputs, opts: Options) -> Problem:
    """One system (no batch axes), its inputs already checked and cast, as a `Problem`."""
    t1, ts, dt, second_order = inputs.t1, inputs.ts, inputs.dt, opts.second_order
    controller = opts.controller
    if dt is None:
        rate = clock_rate(system, second_order, opts.time)
        # The first step: what diffeqsolve takes anyway for the terms it wraps (it skips its
        # initial-step heuristic then), written out so any stepping engine starts alike.
        s1, dt0 = rate * t1, jnp.full_like(t1, FIRST_STEP)
        save_at = jnp.minimum(rate * ts, s1)
        reported = ts
    else:  # solver time counts steps: the grid 0, 1, ..., n is exact in floating point
        steps = fixed_step_count(t1, dt)
        rate = steps / t1
        s1, dt0 = steps, jnp.ones_like(steps)
        # Fixed steps save the state at the step nearest each requested time (no interpolation
        # off the sphere) and report that step's time.
        save_at = jnp.round(ts * (steps / t1))
        reported = save_at * (t1 / steps)
        controller = diffrax.ConstantStepSize()
    c = solver_coefficients(system, second_order, rate)
    rho0, velocity0 = inputs.rho0, inputs.velocity0
    velocity0 = velocity0 - rho0 * token_sum(velocity0)  # drop the rounding-sized normal part
    y0 = opts.chart.initial_state(rho0, velocity0 / rate, c, second_order)
    terms: diffrax.AbstractTerm
    if is_sphere_splitting(opts.solver):  # constrained by construction: no projection
        terms, wrapped = SphereDriftTerm(sphere_force, c.friction, c.mask), opts.solver
    else:
        projection = opts.chart.projection(second_order)
        terms = diffrax.ODETerm(opts.chart.vector_field(second_order))
        wrapped = opts.solver if projection is None else ProjectedSolver(opts.solver, projection)
    if inputs.key is not None:
        bath = jnp.zeros_like(t1) if inputs.bath_temperature is None else inputs.bath_temperature
        amplitude = noise_amplitude(c, bath / system.temperature, second_order)
        path = StepBrownianPath(rho0.shape, rho0.dtype, inputs.key)  # type: ignore[call-arg]  # levy_area: a class constant
        terms = diffrax.MultiTerm(terms, TangentNoiseTerm(amplitude, c.mask, path))
    return Problem(terms, wrapped, controller, y0, c, s1, dt0, save_at, reported, rate)


def integrate(system: AttentionSystem, inputs: Inputs, opts: Options) -> Trajectory:
    """One system (no batch axes), its inputs already checked and cast, by diffeqsolve: the
    body shared by `solve` and `simulate`."""
    problem = set_up(system, inputs, opts)
    ys, status, steps, stop = solve_problem(problem, opts)
    return read_out(system, inputs, problem, ys, status, steps, opts, stop)


def solve_problem(problem: Problem, opts: Options):
    """`diffeqsolve` of one set-up system: `(ys, status, num_steps, stop)`, its states at the
    saves and, with `opts.until`, the solver time it stopped at (inf if it did not; the saves
    after it hold the state there), else None."""
    event = None if opts.until is None else stop_event(opts.until, opts.chart, opts.second_order, problem.s1.dtype)
    sol = diffrax.diffeqsolve(
        problem.terms,
        problem.solver,
        t0=jnp.zeros_like(problem.s1),
        t1=problem.s1,
        dt0=problem.dt0,
        y0=problem.y0,
        args=problem.coefficients,
        saveat=diffrax.SaveAt(ts=problem.save_at, t1=event is not None),
        stepsize_controller=problem.controller,
        max_steps=opts.max_steps,
        throw=False,
        adjoint=opts.adjoint,
        event=event,
    )
    status = status_code(sol.result)
    if opts.until is None:
        return sol.ys, status, sol.stats["num_steps"], None
    ys, status, stop = stopped_saves(opts.until, opts.chart, opts.second_order, problem, sol, status)
    return ys, status, sol.stats["num_steps"], stop


def _shaped(name: str, value, shape: tuple, dtype) -> Array:
    """`value` as a `dtype` array of `shape`, or a ValueError naming it (raised while tracing)."""
    arr = jnp.asarray(value)
    if not (jnp.issubdtype(arr.dtype, jnp.floating) or jnp.issubdtype(arr.dtype, jnp.integer)) or arr.dtype == bool:
        raise TypeError(f"{name} must be real numbers, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(
            f"{name} must have shape {shape} (solve takes one system; use jax.vmap or simulate for a batch), got {arr.shape}"
        )
    return arr.astype(dtype)


def solve(
    system: AttentionSystem,
    rho0: ArrayLike,
    t1: ArrayLike,
    *,
    ts: ArrayLike | None = None,
    saves: int = 101,
    velocity0: ArrayLike | None = None,
    chart: Literal["sphere", "logit", "simplex"] | AbstractChart = "sphere",
    solver: str | diffrax.AbstractSolver | None = None,
    dt: ArrayLike | None = None,
    bath_temperature: ArrayLike = 0.0,
    key: ArrayLike | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int = 100_000,
    time: Literal["natural", "physical"] = "natural",
    first_order: bool | None = None,
    stepsize_controller: diffrax.AbstractStepSizeController | None = None,
    adjoint: diffrax.AbstractAdjoint | None = None,
    until: Until | None = None,
) -> Trajectory:
    """Integrate one system's Lagrangian dynamics from `rho0` to `t1`: pure and jit-compiled.

    Traceable in every array argument (the system's energies, temperature, mass, damping and
    mask, `rho0`, `velocity0`, `t1`, `ts`, `dt`, `bath_temperature`, `key`), so `jax.jit`,
    `jax.vmap` (over any of them) and `jax.grad` work on it as on `diffrax.diffeqsolve`;
    `jax.jvp` needs `adjoint=diffrax.ForwardMode()`. For batches with checks on concrete
    values, cost grouping and devices, use `simulate`, which runs the same integration.

    **Main arguments:**

    - `system`: one `AttentionSystem` (no batch axes): energies `(N,)`, scalar temperature,
      mass and damping, mask `(N,)`.
    - `rho0`: the start `(N,)` on the simplex, > 0 on unmasked tokens, 0 on masked ones.
    - `t1`: the end time (physical).

    **Other arguments:**

    - `ts`: save times `(S,)` in `[0, t1]`, non-decreasing; default `saves` equally spaced.
    - `velocity0`: `d rho/dt` at 0 (sums to 0), default rest; not with `first_order`.
    - `chart`, `solver`, `time`, `rtol`, `atol`, `max_steps`, `dt`, `bath_temperature`: as in
      `simulate` (`solver=None` takes `thermo_ode.rules.default_solver`). These, and
      `saves`, are static: a new value compiles again.
    - `key`: a `jax.random.key` (or a legacy `jax.random.PRNGKey`) for Langevin noise. Noise
      is integrated only when a key is given; without one, `bath_temperature` must be 0.
    - `first_order`: the massless gradient flow (`mass` must be 0). Default: decided from
      `system.mass` when it is concrete, else second order.
    - `stepsize_controller`: a diffrax controller instead of `PIDController(rtol, atol)`.
    - `adjoint`: diffrax's adjoint for gradients (default `RecursiveCheckpointAdjoint`, reverse
      mode; `diffrax.ForwardMode()` for `jax.jvp`).
    - `until`: a `thermo_ode.Until`: stop once within its tolerance of softmax in phase space
      (`thermo_ode.stopping`), `t1` being the cap. The trajectory's `stop_time` is the located
      time (inf where it reached the cap), its status "stopped at equilibrium" or "reached the
      cap"; saves after the stop hold the state at the stop. The gradient of `stop_time` is
      that of the located root (diffrax differentiates through it).

    **Returns:** a `Trajectory` without batch axes (`ts (S,)`, `rho (S, N)`, ..., `status ()`).

    **Raises:** `TypeError`/`ValueError` while tracing for wrong shapes, dtypes or
    incompatible choices (naming the argument). The value rules (a temperature <= 0, `rho0`
    off the simplex, `ts` outside `[0, t1]`, ...) are checked at once on every value that is
    concrete (a number, a list, a numpy array, a jax array made outside any `jax.jit`): a
    one-line `ValueError` naming the argument, inside a `jax.jit` too. Traced values are
    checked with equinox's runtime errors: they raise when the program runs
    (`EQX_ON_ERROR=raise`, the default; a one-line `ValueError` when `solve` itself is the
    call, jax's longer `JaxRuntimeError` from inside your own `jax.jit`) or give NaN with
    `EQX_ON_ERROR=nan` (what the CLI and `enable_compilation_cache` set). A failed
    integration is not an error: it is reported by `status`, and every derivative through
    its trajectory is NaN.

    **Gradients:** the sensitivity of the final distance to softmax to the mass,

        import jax, jax.numpy as jnp, thermo_ode as to
        jax.config.update("jax_enable_x64", True)

        def final_distance(mass):
            system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), 1.0, mass, 0.5)
            return to.solve(system, jnp.full(3, 1 / 3), 5.0).final_distance

        jax.grad(final_distance)(1.0)

    Examples:
        A damped system relaxes from the uniform start to softmax:

        >>> import jax, jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> traj = to.solve(system, jnp.full(3, 1 / 3), 20.0, saves=21)
        >>> traj.rho.shape, int(traj.status)
        ((21, 3), 0)
        >>> bool(traj.final_distance < 1e-3)
        True
        >>> bool(jnp.allclose(traj.rho[-1], jax.nn.softmax(-system.energies / 1.0), atol=1e-4))
        True
    """
    if not isinstance(system, AttentionSystem):
        raise TypeError(f"system must be an AttentionSystem, got {type(system).__name__}")
    if system.batch_shape != ():
        raise ValueError(
            f"system must be one system (batch shape ()), got batch shape {system.batch_shape}; use jax.vmap or simulate"
        )
    start_checks.check_counts(max_steps, saves)
    given = dict(rho0=rho0, velocity0=velocity0, t1=t1, ts=ts, dt=dt, bath_temperature=bath_temperature)
    if first_order is None:
        first_order = not _checks.is_traced(system.mass) and bool(np.all(np.asarray(system.mass) == 0))
    if velocity0 is not None and first_order:
        raise ValueError("velocity0 must be None for the first-order (m = 0) gradient flow")
    dtype, n = system.dtype, system.num_tokens
    opts = options(
        chart=chart,
        solver=solver,
        second_order=not first_order,
        noisy=key is not None,
        fixed_step=dt is not None,
        time=time,
        rtol=rtol,
        atol=atol,
        dtype=dtype,
        max_steps=int(max_steps),
        stepsize_controller=stepsize_controller,
        adjoint=adjoint,
        until=until,
    )
    rho0 = _shaped("rho0", rho0, (n,), dtype)
    t1 = _shaped("t1", t1, (), dtype)
    if ts is None:
        ts = jnp.linspace(0.0, 1.0, saves, dtype=dtype) * t1
    elif jnp.ndim(ts) != 1 or jnp.shape(ts)[0] < 1:
        raise ValueError(f"ts must have shape (S,) with S >= 1, got {jnp.shape(ts)}")
    key = None if key is None else start_checks.key_array(key)
    if key is not None and key.shape != ():
        raise ValueError(f"key must be one key, got an array of shape {key.shape}; use jax.vmap over keys")
    inputs = Inputs(
        rho0=rho0,
        velocity0=jnp.zeros_like(rho0) if velocity0 is None else _shaped("velocity0", velocity0, (n,), dtype),
        t1=t1,
        ts=_shaped("ts", ts, jnp.shape(ts), dtype),
        dt=None if dt is None else _shaped("dt", dt, (), dtype),
        bath_temperature=_shaped("bath_temperature", bath_temperature, (), dtype),
        key=key,
    )
    _check_concrete(system, inputs, given, saves, opts)
    try:
        return _solve(system, inputs, opts)
    except eqx.EquinoxRuntimeError as exc:  # a traced value broke a rule: say it in one line
        raise ValueError(f"solve: {_checks.rule_broken(exc)}") from None


@program
def _solve(system: AttentionSystem, inputs: Inputs, opts: Options) -> Trajectory:
    return integrate(system, _checked(system, inputs, opts), opts)


def _system_rules(xp, T, m, gamma, mask, energies, bath, second_order: bool, noisy: bool) -> list[tuple[Any, str]]:
    """The value rules of one system, `(broken, requirement)` with `broken()` True where the
    rule is broken, in `xp` (jnp traced by `_checked`, numpy on the host by `_check_concrete`)."""
    rules: list[tuple[Any, str]] = [
        (lambda: ~(xp.isfinite(T) & (T > 0)), "temperature must be finite and > 0"),
        (
            (lambda: ~(xp.isfinite(m) & (m > 0))) if second_order else (lambda: m != 0),
            "mass must be > 0 (second order) or exactly 0 with first_order=True",
        ),
        (
            lambda: ~(xp.isfinite(gamma) & (gamma >= 0)) | ((m == 0) & (gamma == 0)),
            "damping must be finite and >= 0 (> 0 when mass = 0)",
        ),
        (lambda: xp.any(~xp.isfinite(xp.where(mask, energies, 0))), "energies must be finite on unmasked tokens"),
    ]
    if not noisy:
        rules.append((lambda: bath != 0, "bath_temperature > 0 needs a key for the noise"))
    return rules


def _host(given, converted, dtype):
    """A value as the host checks it: a concrete one as a numpy array of `dtype` (the value
    `given`, since under a caller's `jax.jit` even a constant becomes a tracer once jnp has
    touched it), a traced one as `converted` (checked by `_checked` instead)."""
    return converted if _checks.is_traced(given) else np.asarray(given, dtype)


def _check_concrete(system: AttentionSystem, inputs: Inputs, given: dict, saves: int, opts: Options) -> None:
    """Every rule whose values are all concrete, checked now on the host: a one-line
    ValueError naming the argument before anything is traced, inside a caller's `jax.jit` too
    (where a traced rule's failure reaches the caller as jax's many-line `JaxRuntimeError`).
    `given` holds the arguments as the caller gave them. A rule that reads a traced value is
    left to `_checked`."""
    dtype = system.dtype
    T, m, gamma, energies = (
        _host(a, a, dtype) for a in (system.temperature, system.mass, system.damping, system.energies)
    )
    mask = _host(system.mask, system.mask, bool)
    bath = _host(given["bath_temperature"], inputs.bath_temperature, dtype)
    not_here = (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError)
    noisy = inputs.key is not None
    for broken, message in _system_rules(np, T, m, gamma, mask, energies, bath, opts.second_order, noisy):
        try:
            bad = bool(np.asarray(broken()).any())
        except not_here:
            continue
        if bad:
            raise ValueError(f"solve: {message}")
    t1 = _host(given["t1"], inputs.t1, dtype)
    if given["ts"] is None:
        ts = inputs.ts if _checks.is_traced(t1) else np.linspace(0.0, 1.0, saves, dtype=dtype) * t1
    else:
        ts = _host(given["ts"], inputs.ts, dtype)
    rest = given["velocity0"] is None
    start = start_checks.Start(
        _host(given["rho0"], inputs.rho0, dtype),
        np.zeros(inputs.rho0.shape, dtype) if rest else _host(given["velocity0"], inputs.velocity0, dtype),
        mask,
        t1,
        ts,
        bath,
        None if given["dt"] is None else _host(given["dt"], inputs.dt, dtype),
        opts.max_steps,
    )
    try:
        start_checks.on_host(start, skip_traced=True)
    except ValueError as exc:
        raise ValueError(f"solve: {exc}") from None


def _checked(system: AttentionSystem, inputs: Inputs, opts: Options) -> Inputs:
    """`inputs`, normalised, carrying runtime errors for the system's value rules and the start
    rules (`start_checks.START_RULES`, which `simulate` checks on the host)."""
    T, m, gamma, mask, bath = system.temperature, system.mass, system.damping, system.mask, inputs.bath_temperature
    rules = _system_rules(jnp, T, m, gamma, mask, system.energies, bath, opts.second_order, inputs.key is not None)
    rho0 = inputs.rho0
    for broken, message in rules:
        rho0 = eqx.error_if(rho0, broken(), message)
    start = start_checks.Start(rho0, inputs.velocity0, mask, inputs.t1, inputs.ts, bath, inputs.dt, opts.max_steps)
    rho0 = start_checks.traced(start, rho0)
    return eqx.tree_at(lambda i: i.rho0, inputs, rho0 / token_sum(rho0))
