"""The inverse problem: fit mass, damping, temperature and/or energies to observed `rho(t)`.

The model is the sphere-chart dynamics (m > 0) solved by diffrax with gradients through
`diffeqsolve`; the loss is the squared Fisher–Rao distance (or KL) between observed and model
`rho` at the observation times, over the observed tokens (both renormalised there). Parameters
are optimised in logarithms (positivity) with optax's L-BFGS. The uncertainty is the
Gauss–Newton estimate `2 L / dof * H^-1` from the Hessian `H` of the loss in those logarithms
(central differences of the exact gradient).

Identifiability (docs/physics.md, section 10): in natural time the dynamics depend on `E/T` and
`zeta` only. With a clock (times in known units) and known energies, `m`, `gamma` and `T` are
separately identifiable. Without a clock (`time_unit` fitted) `m` and the unit are not: only
`E/T`, `zeta` and `sqrt(T/m)` in the unknown unit are, and `FitResult.natural` reports those.
"""

from __future__ import annotations

import typing
from collections.abc import Collection, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt

from . import _checks
from .formulas import damping_ratio, natural_frequency
from .geometry import fisher_rao_distance, kl_divergence
from .integration import solve
from .system import AttentionSystem

__all__ = ["FitResult", "fit"]

PHYSICAL = ("mass", "damping", "temperature", "time_unit")
MAX_STEPS = 20_000
FAILED_SOLVE_LOSS = 1e6  # far above any attainable loss (each time contributes at most pi^2)
NULL_EIGENVALUE = 1e-4  # relative to the largest: below it a direction is unidentifiable (the
# central-difference Hessian resolves ~1e-7; genuine directions measured here sit at >= 2e-2)
LOSSES = ("fisher_rao", "kl")


class FitResult(typing.NamedTuple):
    """The result of `fit`: estimates, their uncertainty, and how the optimisation went.

    - `estimate`: every parameter, fitted or fixed: `mass`, `damping`, `temperature`,
      `time_unit` (floats) and `energies` (an array).
    - `standard_error`: of each fitted parameter; relative (of the logarithm) for the physical
      ones, absolute for the energies; infinite along unidentifiable directions.
    - `natural`: what the data identify without a clock: `omega0 = sqrt(T/m)` in the
      observations' time unit, `zeta` and `beta_energies = E/T`.
    - `loss`: the final loss; `iterations` and `converged`: of the L-BFGS run.
    - `degenerate`: the null directions of the Hessian in log-parameters (unidentifiable
      combinations), each a dict of parameter name to component.

    Examples:
        >>> from thermo_ode.fitting import FitResult
        >>> FitResult._fields
        ('estimate', 'standard_error', 'natural', 'loss', 'iterations', 'converged', 'degenerate')
    """

    estimate: dict  # fitted and fixed values: mass, damping, temperature, time_unit, energies
    standard_error: dict  # relative (of the logarithm) for the physical parameters, absolute for energies
    natural: dict  # omega0 = sqrt(T/m) in the observations' unit, zeta, E/T: what is identifiable
    loss: float
    iterations: int
    converged: bool
    degenerate: list  # null directions of the Hessian in log-parameters (unidentifiable combinations)


def fit(
    ts: npt.ArrayLike,
    rho: npt.ArrayLike,
    energies: npt.ArrayLike,
    *,
    parameters: Collection[str] = ("mass", "damping", "temperature"),
    initial: Mapping[str, float] | None = None,
    rho0: npt.ArrayLike | None = None,
    observed: npt.ArrayLike | None = None,
    loss: typing.Literal["fisher_rao", "kl"] = "fisher_rao",
    max_iterations: int = 300,
    rtol: float = 1e-10,
    uncertainty: bool = True,
) -> FitResult:
    """Fit the dynamics' parameters to observations `rho (S, N)` at times `ts (S,)`.

    `parameters` are any of mass, damping, temperature, time_unit and energies; the model
    starts from rest at `rho0` (default the first observation). `energies (N,)` are the known
    energies, or the starting guess when fitted (their mean is fixed: shifting all energies
    changes nothing). `initial` gives starting values for the physical parameters (default 1);
    `observed (N,)` marks the tokens that were observed. `loss` is the squared Fisher–Rao
    distance (`"fisher_rao"`) or `"kl"`; `rtol` the solver's tolerance (`atol = rtol / 100`).
    `uncertainty=False` skips the Hessian (errors NaN). Needs float64 for tight fits.

    Examples:
        Recover the damping of a simulated trajectory (float32 here, so a loose tolerance):

        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0, mass=1.0, damping=1.0)
        >>> traj = to.solve(system, jnp.full(3, 1 / 3), 4.0, saves=9, time="physical")
        >>> result = to.fit(
        ...     traj.ts, traj.rho, [0.0, 1.0, 2.0], parameters=["damping"], initial={"damping": 0.5},
        ...     rtol=1e-5, max_iterations=10, uncertainty=False,
        ... )
        >>> round(result.estimate["damping"], 3), result.estimate["mass"]
        (1.0, 1.0)
    """
    precision = getattr(rho, "dtype", np.dtype(float))  # the observations' own rounding
    ts, rho = _checks.float_array("ts", ts), _checks.float_array("rho", rho)
    if ts.ndim != 1 or rho.shape[:1] != ts.shape or rho.ndim != 2:
        raise ValueError(f"ts must be (S,) and rho (S, N), got {ts.shape} and {rho.shape}")
    if (np.diff(ts) <= 0).any() or ts[0] < 0:
        raise ValueError("ts must be increasing and >= 0")
    unknown = set(parameters) - set(PHYSICAL) - {"energies"}
    if unknown or not parameters:
        raise ValueError(f"parameters must be a non-empty subset of {PHYSICAL + ('energies',)}, got {parameters!r}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    n = rho.shape[1]
    energies = np.asarray(energies, float)
    if energies.shape != (n,) or not np.all(np.isfinite(energies)):
        raise ValueError(f"energies must be finite with shape ({n},), got {energies.shape}")
    observed = np.ones(n, bool) if observed is None else np.asarray(observed, bool)
    if observed.shape != (n,) or not observed.any():
        raise ValueError(f"observed must be ({n},) booleans with at least one True, got shape {observed.shape}")
    _check_distributions(rho, observed, precision)
    start = rho[0] if rho0 is None else np.asarray(rho0, float)
    if start.shape != (n,) or not np.all(np.isfinite(start)) or (start < 0).any() or start.sum() <= 0:
        raise ValueError(f"rho0 must be ({n},), finite, >= 0 and not all 0")
    start = start / start.sum()  # tokens where it is 0 take no part (an invariant face)
    values = {name: 1.0 for name in PHYSICAL}
    extra = set(initial or {}) - set(PHYSICAL)
    if extra:
        raise ValueError(f"initial: unknown parameters {sorted(extra)}; allowed {list(PHYSICAL)}")
    values.update(initial or {})
    for name, value in values.items():
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"initial {name} must be a finite number > 0, got {value!r}")

    fitted = [p for p in PHYSICAL if p in parameters]
    free_energies = "energies" in parameters
    mean_energy = energies.mean()

    def unpack(theta):
        logs = dict(zip(fitted, theta[: len(fitted)]))
        physical = {p: jnp.exp(logs[p]) if p in logs else jnp.asarray(values[p]) for p in PHYSICAL}
        e = theta[len(fitted) :] if free_energies else jnp.asarray(energies)
        if free_energies:  # n - 1 free values; the last keeps the mean fixed
            e = jnp.concatenate([e, jnp.asarray([n * mean_energy]) - jnp.sum(e, keepdims=True)])
        return physical, e

    def scored(theta):
        physical, e = unpack(theta)
        model, ok = _model_rho(physical, e, jnp.asarray(ts), jnp.asarray(start), rtol)
        value = jnp.sum(_discrepancy(model, jnp.asarray(rho), jnp.asarray(observed), loss))
        return jnp.where(ok, value, FAILED_SOLVE_LOSS)

    objective = _flat_where_failed(scored)

    theta0 = np.concatenate([np.log([values[p] for p in fitted]), energies[:-1] if free_energies else []])
    theta, iterations, converged, evaluate = _minimise(objective, jnp.asarray(theta0), max_iterations)
    final = evaluate(theta)[0]
    dof = max(ts.size * (int(observed.sum()) - 1) - theta.size, 1)
    names = fitted + ["energies"] * (n - 1) * free_energies
    if uncertainty:
        errors, degenerate = _uncertainty(_hessian(evaluate, theta), final, dof, names)
    else:
        errors, degenerate = np.full(theta.size, np.nan), []
    physical, e = unpack(theta)
    estimate: dict[str, typing.Any] = {p: float(v) for p, v in physical.items()}
    estimate["energies"] = np.asarray(e)
    standard_error = dict(zip(fitted, errors[: len(fitted)].tolist()))
    if free_energies:
        standard_error["energies"] = errors[len(fitted) :]
    T, m, g, unit = (estimate[k] for k in ("temperature", "mass", "damping", "time_unit"))
    natural = dict(omega0=natural_frequency(T, m) * unit, zeta=damping_ratio(g, m, T), beta_energies=np.asarray(e) / T)
    return FitResult(estimate, standard_error, natural, final, iterations, converged, degenerate)


ROW_SUM_TOLERANCE = 1e-6  # observations are rounded; a row off by more is not a distribution
ROW_SUM_ROUNDING = 8  # units of the observations' rounding a row's sum may be off by (float16 and the like)


def _check_distributions(rho: np.ndarray, observed: np.ndarray, precision: np.dtype) -> None:
    """Each row of `rho` must be a probability distribution: finite, >= 0, and summing to 1
    within ROW_SUM_TOLERANCE, or ROW_SUM_ROUNDING rounding units of `precision` (the dtype the
    observations came in) where that is more (with only some tokens `observed`, positive over
    those: rows are renormalised there). ValueError naming the first row that is not; a fit to
    rows that are not distributions would return estimates of nothing."""
    for what, bad in (("is not finite", ~np.isfinite(rho)), ("is negative", rho < 0)):
        if bad.any():
            row, token = np.argwhere(bad)[0]
            raise ValueError(f"rho: row {row} is not a distribution: entry {token} {what} ({rho[row, token]})")
    if not observed.all():
        empty = np.flatnonzero(rho[:, observed].sum(-1) <= 0)
        if empty.size:
            raise ValueError(f"rho: row {empty[0]} is 0 on every observed token, so it is no distribution there")
        return
    sums = rho.sum(-1)
    rounding = float(jnp.finfo(precision).eps) if jnp.issubdtype(precision, jnp.floating) else 0.0
    off = np.flatnonzero(np.abs(sums - 1) > max(ROW_SUM_TOLERANCE, ROW_SUM_ROUNDING * rounding))
    if off.size:
        raise ValueError(
            f"rho: row {off[0]} sums to {sums[off[0]]:.6g}, not 1: each row must be a distribution "
            "(mark unobserved tokens with `observed` to compare over the others only)"
        )


def _model_rho(physical, energies, ts, rho0, rtol):
    """`rho(t)` at `ts` (in the observations' unit) from rest at `rho0`, and whether the solve
    succeeded: `solve` in physical time (the clock the observations share)."""
    T, m, gamma, unit = (physical[k] for k in ("temperature", "mass", "damping", "time_unit"))
    system = AttentionSystem(energies, T, m, gamma, mask=rho0 > 0)
    times = ts * unit
    traj = solve(system, rho0, times[-1], ts=times, rtol=rtol, atol=rtol * 1e-2, max_steps=MAX_STEPS, time="physical")
    # A failed solve (the optimiser tried a stiff corner) reads as a far-away uniform state, so
    # the line search backs off instead of raising.
    ok = traj.succeeded
    return jnp.where(ok, traj.rho, 1.0 / rho0.shape[-1]), ok


def _flat_where_failed(scored):
    """`scored`, whose gradient is 0 where the solve failed (the loss there is the constant
    FAILED_SOLVE_LOSS): the gradient through a failed solve is NaN (thermo_ode.integration),
    and the line search needs a number to back off from."""

    @jax.custom_vjp
    def objective(theta):
        return scored(theta)

    def forward(theta):
        value, grad = jax.value_and_grad(scored)(theta)
        return value, jnp.where(value < FAILED_SOLVE_LOSS, grad, 0.0)

    def backward(grad, cotangent):
        return (cotangent * grad,)

    objective.defvjp(forward, backward)
    return objective


def _discrepancy(model, observed_rho, observed, loss):
    """Per-time loss over the observed tokens, both sides renormalised there."""
    p = jnp.where(observed, model, 0)
    q = jnp.where(observed, observed_rho, 0)
    p, q = p / p.sum(-1, keepdims=True), q / q.sum(-1, keepdims=True)
    if loss == "kl":
        return kl_divergence(q, p)
    return fisher_rao_distance(p, q) ** 2


def _uncertainty(hessian, loss, dof, names):
    """Gauss–Newton standard errors `sqrt(diag(2 L / dof * H^+))`. Directions the data cannot
    see (the Hessian's null space, e.g. mass with the time unit) are returned, and every
    parameter they move gets an infinite error."""
    eigenvalues, vectors = np.linalg.eigh(hessian)
    flat = eigenvalues <= NULL_EIGENVALUE * max(eigenvalues.max(), 1e-300)
    covariance = 2 * loss / dof * np.linalg.pinv(hessian, rcond=NULL_EIGENVALUE, hermitian=True)
    errors = np.sqrt(np.abs(np.diag(covariance)))
    errors[(np.abs(vectors[:, flat]) > 1e-3).any(axis=1)] = np.inf
    return errors, [dict(zip(names, v)) for v in vectors[:, flat].T]


def _hessian(evaluate, theta, step: float = 1e-4):
    """Central differences of the exact gradient (diffrax's checkpointed adjoint supports
    reverse mode only, so forward-over-reverse `jax.hessian` is not available)."""
    columns = []
    for j in range(theta.size):
        e = jnp.zeros_like(theta).at[j].set(step)
        columns.append((evaluate(theta + e)[1] - evaluate(theta - e)[1]) / (2 * step))
    h = np.stack(columns, axis=1)
    return (h + h.T) / 2


def _minimise(objective, theta, max_iterations):
    """L-BFGS from `theta`; returns the best point seen (a step into a region where the solve
    fails scores FAILED_SOLVE_LOSS and is never returned), its iteration count, whether the
    gradient vanished at a point where the solve succeeded, and `evaluate(theta) -> (loss,
    gradient)`, which runs the same compiled step (one compilation serves the whole fit)."""
    import optax

    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(objective)

    @jax.jit
    def step(theta, state):
        value, grad = value_and_grad(theta, state=state)
        updates, state = solver.update(grad, state, theta, value=value, grad=grad, value_fn=objective)
        return optax.apply_updates(theta, updates), state, value, grad

    # optax's init holds a few weakly typed scalars that its update returns strongly typed; a
    # state in the update's own types lets the first step compile the program every later one runs.
    settled = jax.eval_shape(step, theta, solver.init(theta))[1]

    def fresh_state(theta):
        return jax.tree.map(lambda leaf, like: jnp.asarray(leaf, like.dtype), solver.init(theta), settled)

    def evaluate(theta):
        # A fresh state holds no loss, so the step computes the loss and gradient at `theta`.
        _, _, value, grad = step(theta, fresh_state(theta))
        return float(value), np.asarray(grad)

    state = fresh_state(theta)
    best, best_value = theta, np.inf
    for iteration in range(1, max_iterations + 1):
        current = theta
        theta, state, value, grad = step(theta, state)  # value, grad: at `current`
        if float(value) < best_value:
            best, best_value = current, float(value)
        if float(value) >= FAILED_SOLVE_LOSS:
            return best, iteration, False, evaluate
        if float(jnp.linalg.norm(grad)) < 1e-10:
            return current, iteration, True, evaluate
    final = evaluate(theta)[0]
    return (theta if final < best_value else best), max_iterations, False, evaluate
