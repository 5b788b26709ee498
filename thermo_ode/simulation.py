"""`simulate()`: the single entry point from a system and a start to a `Trajectory`.

Inputs are checked on concrete values first (so bad input fails before compilation); the
batch is then flattened and integrated by one compiled, vmapped `diffeqsolve` in the solver
time `s = rate * t`: natural time `sqrt(T/m) t` by default (`T t / gamma` when m = 0), so the
step count does not depend on the mass. Results are reported in physical time.
"""

from __future__ import annotations

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from . import _checks
from . import physics
from .charts import AbstractChart, SphereChart, resolve_chart
from .dynamics import Coefficients, sphere_force
from .geometry import fisher_rao_distance
from .integrators import SphereDriftTerm, StepBrownianPath, TangentNoiseTerm
from .solvers import ProjectedSolver, is_sphere_splitting, needs_fixed_step, resolve_solver, takes_noise
from .system import AttentionSystem

TIME_SCALES = ("natural", "physical")
# rho0 must sum to 1 within this, and velocity0 to 0 within this times its size.
NORMALISATION_TOL = 1e-6


class Trajectory(eqx.Module):
    """A batch of trajectories, in physical time. Shapes: batch `(...)`, `S` saves, `N` tokens.

    `status` is 0 where the solve succeeded, else diffrax's result code (see `message`).
    `constraint_error` is `| |x|^2/4 - 1 |` of the raw saved sphere state before it is
    normalised for reporting (0 for charts that are normalised by construction).
    `bath_temperature` is the Langevin bath's `T_b` of each system (0: deterministic).
    """

    ts: Float[Array, "*batch S"]
    rho: Float[Array, "*batch S N"]
    rho_dot: Float[Array, "*batch S N"]
    hamiltonian: Float[Array, "*batch S"]
    free_energy: Float[Array, "*batch S"]
    distance: Float[Array, "*batch S"]
    equilibrium: Float[Array, "*batch N"]
    status: Int[Array, "*batch"]
    num_steps: Int[Array, "*batch"]
    constraint_error: Float[Array, "*batch S"]
    bath_temperature: Float[Array, "*batch"]
    system: AttentionSystem

    @property
    def succeeded(self) -> Bool[Array, "*batch"]:
        return self.status == 0

    @property
    def final_distance(self) -> Float[Array, "*batch"]:
        return self.distance[..., -1]

    def message(self, index=()) -> str:
        """diffrax's explanation of the status of one system."""
        code = int(np.asarray(self.status)[index])
        return "success" if code == 0 else diffrax.RESULTS._index_to_message[code]


def simulate(
    system: AttentionSystem,
    rho0,
    t1,
    *,
    ts=None,
    saves: int = 101,
    velocity0=None,
    chart="sphere",
    solver=None,
    dt=None,
    bath_temperature=0.0,
    key=None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 100_000,
    time: str = "natural",
    devices: int | None = None,
    groups: int | str = "auto",
) -> Trajectory:
    """Integrate the Lagrangian dynamics of every system in `system` from `rho0`.

    - `rho0 (..., N)`: start on the simplex, positive on every unmasked token, 0 on masked ones.
    - `t1`: end time (scalar or per system); `ts (S,)` or `(..., S)` save times in `[0, t1]`,
      default `saves` equally spaced points.
    - `velocity0`: `d rho/dt` at `t = 0` (sum zero), default 0; not allowed when `mass = 0`.
    - `chart`: `"sphere"` (primary), `"logit"` or `"simplex"` (autodiff Euler–Lagrange).
    - `solver`: a name in `thermo_ode.solvers.SOLVERS` or a diffrax solver instance; default
      `"tsit5"`, or with Langevin noise `"gbaoab"` (m > 0) / `"euler"` (m = 0).
    - `dt`: a fixed step in physical time (scalar or per system), shortened so that a whole
      number of steps reaches `t1`. Needed by `rattle`, `gbaoab`, `euler` and with noise;
      with an adaptive solver it replaces step-size control. Fixed-step solves step in units
      of `dt` (so the step grid is exact in floating point); `time` does not apply.
    - `bath_temperature`: `T_b >= 0` (scalar or per system) of a heat bath coupled through the
      damping: Langevin noise of strength `sqrt(2 gamma T_b)` tangent to the sphere, with
      stationary density `exp(-H / T_b)`. 0 is the deterministic system, bit for bit.
      `T_b` is the bath's; the entropic temperature `T` of the head sets the equilibrium.
    - `key`: a `jax.random.key` for the noise (split over the batch), or an array of keys
      with the batch shape; the same key reproduces a run exactly.
    - `time`: `"natural"` (default) or `"physical"`: the time variable the solver steps in.
    - `devices`: split the batch over this many local devices with `jax.shard_map` (default:
      one device). Results are identical to the single-device run.
    - `groups`: solve the batch in this many groups of systems with similar predicted cost
      (one compiled program for all); `"auto"` uses one group per 32 systems, at most 32.

    Accuracy figures quoted in the README need float64 (`jax.config.update("jax_enable_x64",
    True)` before creating arrays); float32 works at its own rounding.
    """
    if not isinstance(system, AttentionSystem):
        raise TypeError(f"system must be an AttentionSystem, got {type(system).__name__}")
    chart_ = resolve_chart(chart)
    solver_ = None if solver is None else resolve_solver(solver)
    if time not in TIME_SCALES:
        raise ValueError(f"time must be one of {TIME_SCALES}, got {time!r}")
    _check_tolerances(rtol, atol, max_steps, saves)
    mesh = _mesh(devices)
    _group_count(groups, 1)  # reject a bad value before any work
    batch, n = system.batch_shape, system.num_tokens
    nb = math.prod(batch)
    if nb == 0:
        raise ValueError(f"system has an empty batch {batch}: nothing to simulate")
    if _checks.is_traced(system, rho0, t1, ts, velocity0, dt, bath_temperature):
        raise TypeError("simulate needs concrete inputs: call it outside jit/vmap (it compiles itself)")
    rho0, velocity0, end, ts, second_order = _checked_inputs(system, rho0, t1, ts, saves, velocity0)
    bath = _checks.per_system("bath_temperature", bath_temperature, batch, allow_zero=True)
    noisy = bool((bath > 0).any())
    if solver_ is None:
        solver_ = resolve_solver("tsit5" if not noisy else ("gbaoab" if second_order else "euler"))
    steps = _check_stepping(chart_, solver_, second_order, noisy, dt, end, max_steps, batch, key)

    dtype = system.dtype
    # A vmapped adaptive solve runs until its slowest member is done, so every system pays for
    # the slowest. Systems are sorted by predicted cost and solved in groups of equal size (one
    # compiled program for all groups), padded by repeating the last system to fill the last
    # group and to a multiple of the device count.
    cost = _predicted_cost(system, end, second_order, time) if steps is None else steps
    order = np.argsort(cost.reshape(-1), kind="stable")
    n_groups = _group_count(groups, nb)
    devices_ = 1 if mesh is None else mesh.size
    size = -(-nb // (n_groups * devices_)) * devices_
    index = np.concatenate([order, np.full(n_groups * size - nb, order[-1])])

    def flat(a, tail):
        return jnp.reshape(jnp.asarray(a), (nb,) + tail)[index]

    if steps is not None:
        # Fixed steps save the state at the step nearest each requested time (no interpolation
        # off the sphere) and report that step's time.
        save_steps = np.round(ts * (steps / end)[..., None])
        ts = save_steps * (end / steps)[..., None]
    saved_times = jnp.asarray(ts.astype(dtype))  # in the caller's order
    rho0, vel0 = flat(rho0.astype(dtype), (n,)), flat(velocity0.astype(dtype), (n,))
    t1, ts = flat(end.astype(dtype), ()), flat(ts.astype(dtype), (ts.shape[-1],))
    flat_system = jax.tree.map(lambda leaf: flat(leaf, leaf.shape[len(batch) :]), system)

    if steps is None:
        rate, coeffs = _solver_time(flat_system, second_order, _rate(flat_system, second_order, time))
        controller, dt0 = diffrax.PIDController(rtol=rtol, atol=atol), None
        s1 = rate * t1
    else:  # solver time counts steps: the grid 0, 1, ..., n is exact in floating point
        n_steps = flat(steps.astype(dtype), ())
        rate, coeffs = _solver_time(flat_system, second_order, n_steps / t1)
        controller, dt0 = diffrax.ConstantStepSize(), 1.0
        s1 = n_steps
    if steps is None:
        save_at = jnp.minimum(rate[:, None] * ts, s1[:, None])
    else:
        save_at = flat(save_steps.astype(dtype), (ts.shape[-1],))
    noise = None
    if noisy:
        amplitude = _noise_amplitude(coeffs, flat(bath.astype(dtype), ()) / flat_system.temperature, second_order)
        noise = (amplitude, _system_keys(key, batch)[index])
    parts = []
    for g in range(n_groups):
        pick = lambda a: a[g * size : (g + 1) * size]
        parts.append(_solve_batch(
            chart_, solver_, controller, dt0, max_steps, second_order, mesh, jax.tree.map(pick, coeffs),
            pick(rate), pick(rho0), pick(vel0), pick(s1), pick(save_at), jax.tree.map(pick, noise),
        ))
    unsort = np.argsort(order)  # back to the caller's order, padding dropped
    ys, status, num_steps, raw_constraint = jax.tree.map(lambda *a: jnp.concatenate(a)[:nb][unsort], *parts)
    rho, rho_dot = ys
    reshape = lambda a: jnp.reshape(a, batch + a.shape[1:])
    rho, rho_dot = reshape(rho), reshape(rho_dot)
    equilibrium = physics.equilibrium(system)
    per_time = jax.vmap(lambda r, rd, s: (physics.hamiltonian(r, rd, s), physics.free_energy(r, s)), in_axes=(-2, -2, None), out_axes=-1)
    hamiltonian, free_energy = per_time(rho, rho_dot, system)
    distance = fisher_rao_distance(rho, equilibrium[..., None, :])
    return Trajectory(
        ts=saved_times,
        rho=rho,
        rho_dot=rho_dot,
        hamiltonian=hamiltonian,
        free_energy=free_energy,
        distance=distance,
        equilibrium=equilibrium,
        status=reshape(status),
        num_steps=reshape(num_steps),
        constraint_error=reshape(raw_constraint),
        bath_temperature=jnp.asarray(bath.astype(dtype)),
        system=system,
    )


GROUP_SIZE, MAX_GROUPS = 32, 32  # measured best on the benchmark workload (2-core CPU)


def _group_count(groups, nb: int) -> int:
    if groups == "auto":
        return int(min(MAX_GROUPS, max(1, nb // GROUP_SIZE)))
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be 'auto' or an int >= 1, got {groups!r}")
    return int(min(groups, max(nb, 1)))


def _predicted_cost(system: AttentionSystem, t1, second_order: bool, time: str) -> np.ndarray:
    """A rank proxy for each system's step count: its end time in solver time, times the spread
    of E/T, which sets the amplitude and stiffness of the motion (measured rank correlation with
    the steps taken: 0.99 on the benchmark workload)."""
    T = np.asarray(system.temperature, float)
    mask = np.asarray(system.mask)
    beta = np.where(mask, np.asarray(system.energies, float) / T[..., None], 0)
    count = mask.sum(-1)
    spread = np.sqrt(np.maximum((beta**2).sum(-1) / count - (beta.sum(-1) / count) ** 2, 0))
    rate = np.asarray(_rate(system, second_order, time), float)
    return np.asarray(t1, float) * rate * (1 + spread)


def _rate(system: AttentionSystem, second_order: bool, time: str):
    """`ds/dt`: 1 in physical time; `sqrt(T/m)` (natural time), or `T/gamma` when m = 0."""
    T, m, gamma = system.temperature, system.mass, system.damping
    if time == "physical":
        return jnp.ones_like(T)
    return jnp.sqrt(T / m) if second_order else T / gamma


def _solver_time(system: AttentionSystem, second_order: bool, rate):
    """The vector-field coefficients in solver time `s = rate * t` (returned with `rate`)."""
    T, m, gamma = system.temperature, system.mass, system.damping
    if second_order:
        stiffness, friction = T / (m * rate**2), gamma / (m * rate)
    else:
        stiffness, friction = T / (gamma * rate), jnp.zeros_like(T)
    beta = jnp.where(system.mask, system.energies / T[:, None], 0)
    return rate, Coefficients(beta, system.mask, stiffness, friction)


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)
def _solve_batch(chart: AbstractChart, solver, controller, dt0, max_steps, second_order, mesh, coeffs, rate, rho0, vel0, s1, save_at, noise):
    """One compiled program for the whole (flattened) batch, split over `mesh` if given.
    `noise` is None or per-system `(amplitude, key)` in solver time."""

    def solve_one(c, rate, rho0, vel0, s1, save_at, noise):
        y0 = chart.initial_state(rho0, vel0 / rate, c, second_order)
        projection = chart.projection(second_order)
        if is_sphere_splitting(solver):  # constrained by construction: no projection
            terms, wrapped = SphereDriftTerm(sphere_force, c.friction, c.mask), solver
        else:
            terms = diffrax.ODETerm(chart.vector_field(second_order))
            wrapped = solver if projection is None else ProjectedSolver(solver, projection)
        if noise is not None:
            amplitude, key = noise
            path = StepBrownianPath(rho0.shape, rho0.dtype, key)
            terms = diffrax.MultiTerm(terms, TangentNoiseTerm(amplitude, c.mask, path))
        sol = diffrax.diffeqsolve(
            terms,
            wrapped,
            t0=jnp.zeros_like(s1),
            t1=s1,
            dt0=dt0,
            y0=y0,
            args=c,
            saveat=diffrax.SaveAt(ts=save_at),
            stepsize_controller=controller,
            max_steps=max_steps,
            throw=False,
        )
        readout = jax.vmap(lambda y: (chart.readout(y, c, second_order), chart.constraint_error(y, second_order)))
        (rho, rho_dot), constraint = readout(sol.ys)
        # RESULTS is an enumeration whose integer code lives in `_value`.
        return (rho, rho_dot * rate), sol.result._value, sol.stats["num_steps"], constraint

    batched = jax.vmap(solve_one)
    if mesh is not None:
        # check_vma=False: diffrax's while loop does not type-check under varying-axis checks.
        spec = jax.sharding.PartitionSpec(MESH_AXIS)
        batched = jax.shard_map(batched, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False)
    return batched(coeffs, rate, rho0, vel0, s1, save_at, noise)


MESH_AXIS = "batch"


def _mesh(devices):
    """A 1-D mesh over the first `devices` local devices, or None for one device."""
    if devices is None:
        return None
    if isinstance(devices, bool) or not isinstance(devices, (int, np.integer)):
        raise TypeError(f"devices must be an int, got {type(devices).__name__}")
    available = jax.local_devices()
    if not 1 <= devices <= len(available):
        raise ValueError(f"devices must be between 1 and the {len(available)} local devices, got {devices}")
    if devices == 1:
        return None
    # Auto axes: jax.make_mesh's default Explicit axes fail inside diffrax's loop.
    return jax.sharding.Mesh(
        np.array(available[:devices]), (MESH_AXIS,), axis_types=(jax.sharding.AxisType.Auto,)
    )


def _check_stepping(chart, solver, second_order, noisy, dt, t1, max_steps, batch, key):
    """Check the solver, `dt`, noise and key together; the number of fixed steps per system
    (None for an adaptive solve)."""
    name = type(solver).__name__
    if is_sphere_splitting(solver):
        if not isinstance(chart, SphereChart):
            raise ValueError(f"solver {name} works in the sphere chart only: use chart='sphere'")
        if not second_order:
            raise ValueError(f"solver {name} integrates the second-order dynamics: mass must be > 0 (use 'euler' or an adaptive solver at m = 0)")
    if noisy:
        if not isinstance(chart, SphereChart):
            raise ValueError("bath_temperature > 0: Langevin noise lives in the sphere chart; use chart='sphere'")
        if not takes_noise(solver):
            raise ValueError(f"bath_temperature > 0: solver {name} cannot integrate noise; use 'gbaoab' (mass > 0) or 'euler'")
        if key is None:
            raise TypeError("key: bath_temperature > 0 needs a jax.random.key for the noise")
    elif key is not None and not _is_key_array(key):
        raise TypeError(f"key must be a jax.random.key (or an array of them), got {type(key).__name__}")
    if dt is None:
        if needs_fixed_step(solver) or noisy:
            raise ValueError(f"dt is required: solver {name}" + (" with Langevin noise" if noisy else "") + " steps at a fixed step size")
        return None
    step = _checks.per_system("dt", dt, batch, allow_zero=False)
    if (step > t1).any():
        idx = _checks.first_index(step > t1)
        raise ValueError(f"dt = {step[idx]} is longer than t1 = {t1[idx]} at batch index {idx}")
    ratio = t1 / step
    # A whole number of steps; a ratio within rounding of an integer is that integer.
    steps = np.where(np.abs(ratio - np.round(ratio)) <= 1e-9 * ratio, np.round(ratio), np.ceil(ratio))
    if steps.max() > max_steps:
        raise ValueError(f"dt: t1/dt needs {int(steps.max())} steps, more than max_steps = {max_steps}; raise max_steps or dt")
    return steps


def _is_key_array(key) -> bool:
    return isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)


def _system_keys(key, batch: tuple):
    """One key per system, flat in the caller's order: split one key, or take a key array."""
    if not _is_key_array(key):
        raise TypeError(f"key must be a jax.random.key (or an array of them), got {type(key).__name__}")
    nb = math.prod(batch)
    if key.shape == ():
        return jax.random.split(key, nb)
    if key.shape != tuple(batch):
        raise ValueError(f"key: an array of keys must have the batch shape {tuple(batch)}, got {key.shape}")
    return key.reshape(nb)


def _noise_amplitude(coeffs: Coefficients, bath_over_t, second_order: bool):
    """Noise amplitude in solver time. With the potential `stiffness V/T`, the bath temperature
    in those units is `stiffness T_b/T`; fluctuation–dissipation then asks for
    `2 friction stiffness T_b/T` on the velocity (m > 0), `2 stiffness T_b/T` on x (m = 0)."""
    theta = coeffs.stiffness * bath_over_t
    return jnp.sqrt(2 * (coeffs.friction if second_order else 1) * theta)


def _check_tolerances(rtol, atol, max_steps, saves):
    for name, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a float, got {type(value).__name__}")
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value}")
    for name, value, low in (("max_steps", max_steps, 1), ("saves", saves, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")


def _checked_inputs(system: AttentionSystem, rho0, t1, ts, saves, velocity0):
    """Validate the start, velocity and times against the system; return numpy arrays."""
    batch, n = system.batch_shape, system.num_tokens
    mask = np.asarray(system.mask)
    mass = np.asarray(system.mass)
    massless = mass == 0
    if massless.any() and not massless.all():
        raise ValueError(
            "mass: a batch must be all massless (m = 0, first-order gradient flow) or all massive "
            "(m > 0); split it into two simulate calls"
        )
    second_order = not bool(massless.all())

    rho = _checks.per_token("rho0", rho0, batch + (n,))
    if (rho < 0).any():
        idx = _checks.first_index(rho < 0)
        raise ValueError(f"rho0 must be >= 0, found {rho[idx]} at index {idx}")
    if (rho[~mask] != 0).any():
        idx = _checks.first_index((rho != 0) & ~mask)
        raise ValueError(f"rho0 puts probability {rho[idx]} on masked token {idx}; masked tokens must be 0")
    zero = (rho == 0) & mask
    if zero.any():
        idx = _checks.first_index(zero)
        raise ValueError(
            f"rho0 is 0 on unmasked token {idx}: that face of the simplex is invariant and the "
            "trajectory can never reach softmax (docs/physics.md, section 12); start inside the "
            "simplex or mask the token"
        )
    total = rho.sum(axis=-1)
    if (np.abs(total - 1) > NORMALISATION_TOL).any():
        idx = _checks.first_index(np.abs(total - 1) > NORMALISATION_TOL)
        raise ValueError(f"rho0 must sum to 1 within {NORMALISATION_TOL}, sums to {total[idx]!r} at batch index {idx}")
    rho = rho / total[..., None]

    if velocity0 is None:
        vel = np.zeros_like(rho)
    else:
        if not second_order:
            raise ValueError("velocity0 must be None when mass = 0: the gradient flow is first order")
        vel = _checks.per_token("velocity0", velocity0, batch + (n,))
        if (vel[~mask] != 0).any():
            raise ValueError("velocity0 must be 0 on masked tokens")
        drift = vel.sum(axis=-1)
        scale = np.maximum(1.0, np.abs(vel).sum(axis=-1))
        if (np.abs(drift) > NORMALISATION_TOL * scale).any():
            idx = _checks.first_index(np.abs(drift) > NORMALISATION_TOL * scale)
            raise ValueError(
                f"velocity0 must be tangent to the simplex (sum to 0), sums to {drift[idx]!r} at batch index {idx}"
            )
        vel = vel - rho * drift[..., None]  # remove the rounding-sized normal part

    end = _checks.per_system("t1", t1, batch, allow_zero=False)
    if ts is None:
        times = np.linspace(0.0, 1.0, saves) * end[..., None]
    else:
        times = _checks.float_array("ts", ts)
        if times.ndim < 1 or times.shape[-1] < 1:
            raise ValueError(f"ts must have shape (S,) or (..., S) with S >= 1, got {times.shape}")
        _checks.broadcastable("ts", times.shape[:-1], batch, "the batch shape")
        times = np.broadcast_to(times, batch + times.shape[-1:])
        _checks.finite("ts", times)
        if (np.diff(times, axis=-1) < 0).any():
            raise ValueError("ts must be non-decreasing")
        if (times < 0).any() or (times > end[..., None]).any():
            raise ValueError("ts must lie in [0, t1]")
    return rho, vel, end, times, second_order
