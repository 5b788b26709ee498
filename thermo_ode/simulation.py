"""`simulate()`: the host-level driver from a batch of systems and starts to a `Trajectory`.

Inputs are checked on concrete values first (so bad input fails before compilation); the
batch is then flattened and run on every local device by one compiled program of the core's
per-system integration (`thermo_ode.integration`, the same one `solve` runs): the refill engine
(`thermo_ode.refill`), whose queues are sorted longest first by predicted cost, or, for fixed
steps, noise and implicit solvers, vmapped `diffeqsolve`s in groups of similar predicted cost.
"""

from __future__ import annotations

import math
from typing import Literal

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks, rules
from .charts import AbstractChart, resolve_chart
from .integration import (
    TIME_SCALES,
    DtRequired,
    check_static,
    clock_rate,
    fixed_step_count,
    integrate,
    key_array,
    resolve_solver_choice,
)
from .refill import MESH_AXIS, solve_refill
from .system import AttentionSystem
from .trajectory import Trajectory

__all__ = ["Trajectory", "simulate"]


def simulate(
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
    devices: int | None = None,
    engine: Literal["auto", "refill", "vmap"] = "auto",
    pool: int | None = None,
    groups: int | Literal["auto"] = "auto",
) -> Trajectory:
    """Integrate the Lagrangian dynamics of every system in `system` from `rho0`.

    - `rho0 (..., N)`: start on the simplex, positive on every unmasked token, 0 on masked ones.
    - `t1`: end time (scalar or per system); `ts (S,)` or `(..., S)` save times in `[0, t1]`,
      default `saves` equally spaced points.
    - `velocity0`: `d rho/dt` at `t = 0` (sum zero), default 0; not allowed when `mass = 0`.
    - `chart`: `"sphere"` (primary), `"logit"` or `"simplex"` (autodiff Euler–Lagrange).
    - `solver`: a name in `thermo_ode.solvers.SOLVERS` or a diffrax solver instance; default
      (`thermo_ode.rules.default_solver`, the rule configs use too) `"fused_tsit5"` (diffrax's
      Tsit5 with its stages unrolled: the same steps), or with Langevin noise `"gbaoab"`
      (m > 0) / `"euler"` (m = 0).
    - `dt`: a fixed step in physical time (scalar or per system), shortened so that a whole
      number of steps reaches `t1`. Needed by `rattle`, `gbaoab`, `euler` and with noise;
      with an adaptive solver it replaces step-size control. Fixed-step solves step in units
      of `dt` (so the step grid is exact in floating point); `time` does not apply.
    - `bath_temperature`: `T_b >= 0` (scalar or per system) of a heat bath coupled through the
      damping: Langevin noise of strength `sqrt(2 gamma T_b)` tangent to the sphere, with
      stationary density `exp(-H / T_b)`. 0 is the deterministic system, bit for bit.
      `T_b` is the bath's; the entropic temperature `T` of the head sets the equilibrium.
    - `key`: a `jax.random.key` for the noise (split over the batch), or an array of keys
      with the batch shape; the same key reproduces a run exactly. Legacy uint32 keys
      (`jax.random.PRNGKey(0)`, shape `(2,)` or batch + `(2,)`) are accepted and wrapped with
      `jax.random.wrap_key_data`, so they give the same noise as the typed key they wrap.
    - `rtol`, `atol`: the adaptive solvers' tolerances; default 1e-8 and 1e-10 in float64,
      1e-6 and 1e-8 in float32 (`thermo_ode.rules.DEFAULT_TOLERANCES`). Values below what the
      systems' precision resolves (rtol under 4 rounding units, atol under the smallest normal
      number) are refused.
    - `time`: `"natural"` (default) or `"physical"`: the time variable the solver steps in.
    - `devices`: split the batch over this many local devices with `jax.shard_map` (default:
      all of them; on CPU, `thermo_ode.use_all_cores()` before jax starts makes one device per
      core). Every system takes the same steps whatever the device count.
    - `engine`: `"refill"` (`thermo_ode.refill`: on each device a pool of `pool` slots, each
      stepping its own system and taking the next from the queue when done, so no system
      waits for another), or `"vmap"` (the batch sorted by predicted cost into `groups` groups,
      each a vmapped `diffeqsolve` that runs as long as its slowest member). `"auto"`
      (default): `"refill"` for explicit adaptive solves without noise, else `"vmap"` (fixed
      steps, Langevin noise, implicit solvers). Both take each system's own steps.
    - `pool`: slots per device of the refill engine; default about `sqrt(POOL_SCALE x systems
      per device)` (`thermo_ode.rules.POOL_SCALE`: 2 on a CPU, 1024 on an accelerator), which
      balances the loop's cost per iteration against the slots left idle as the pool drains.
    - `groups`: for `engine="vmap"`, solve the batch in this many groups of systems with
      similar predicted cost (one compiled program for all); `"auto"` uses one group per 32
      systems, at most 32.

    Accuracy figures quoted in the README need float64 (`jax.config.update("jax_enable_x64",
    True)` before creating arrays); float32 works at its own rounding.

    Returns a `Trajectory` with the batch shape of `system` in front of every field.

    Examples:
        Two systems, each with its own energies and mass, from one uniform start:

        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> energies = jnp.array([[0.0, 1.0, 2.0], [1.0, 0.0, 0.5]])
        >>> system = to.AttentionSystem(energies, temperature=1.0, mass=jnp.array([0.5, 2.0]), damping=1.0)
        >>> traj = to.simulate(system, jnp.full(3, 1 / 3), 40.0, saves=11)
        >>> traj.rho.shape, traj.status.tolist()
        ((2, 11, 3), [0, 0])
        >>> bool(jnp.all(traj.final_distance < 1e-3))  # both relaxed to softmax
        True
    """
    if not isinstance(system, AttentionSystem):
        raise TypeError(f"system must be an AttentionSystem, got {type(system).__name__}")
    resolved_chart = resolve_chart(chart)
    if time not in TIME_SCALES:
        raise ValueError(f"time must be one of {TIME_SCALES}, got {time!r}")
    _check_tolerances(rtol, atol, max_steps, saves)
    mesh = _mesh(devices)
    _group_count(groups, 1)  # reject a bad value before any work
    batch = system.batch_shape
    nb = math.prod(batch)
    if nb == 0:
        raise ValueError(f"system has an empty batch {batch}: nothing to simulate")
    if _checks.is_traced(system, rho0, t1, ts, velocity0, dt, bath_temperature):
        raise TypeError(
            "simulate needs concrete inputs: call it outside jit/vmap (it compiles itself), or use thermo_ode.solve"
        )
    rho0, velocity0, t1_values, ts, second_order = _checked_inputs(system, rho0, t1, ts, saves, velocity0)
    bath = _checks.per_system("bath_temperature", bath_temperature, batch, allow_zero=True)
    noisy = bool((bath > 0).any())
    if noisy and key is None:
        raise TypeError("key: bath_temperature > 0 needs a jax.random.key for the noise")
    resolved_solver = resolve_solver_choice(solver, noisy, second_order)
    try:
        check_static(resolved_chart, resolved_solver, second_order, noisy, dt is not None, time)
    except DtRequired as exc:  # name a step that works for this batch
        raise DtRequired(f"{exc} (= {_suggested_dt(system, second_order):.3g} for the fastest system here)") from None
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if pool is not None and (isinstance(pool, bool) or not isinstance(pool, (int, np.integer)) or pool < 1):
        raise ValueError(f"pool must be an int >= 1, got {pool!r}")
    # The refill engine steps explicit adaptive solves without noise; the rest (fixed steps,
    # Langevin noise, implicit solvers and their root finders) take the vmapped groups.
    vmap_only = dt is not None or noisy or isinstance(resolved_solver, diffrax.AbstractImplicitSolver)
    if engine == "refill" and vmap_only:
        raise ValueError(
            "engine='refill' runs explicit adaptive solves without noise; use engine='vmap' (or 'auto') with dt, "
            "a heat bath or an implicit solver"
        )
    if engine == "auto":
        engine = "vmap" if vmap_only else "refill"
    keys = None if key is None else _system_keys(key, batch)  # a bad key is refused even without noise
    dt_values = None if dt is None else _checks.per_system("dt", dt, batch, allow_zero=False)
    steps = None if dt is None else _checked_steps(dt_values, t1_values, max_steps)

    dtype = system.dtype
    # Arrays: inputs of the compiled program, so runs differing only in tolerance share it.
    rtol_array, atol_array = (
        jnp.asarray(tolerance, dtype) for tolerance in rules.resolved_tolerances(rtol, atol, rules.precision_of(dtype))
    )

    def flat(a):
        """`a` broadcast to the batch and flattened to `(nb, ...)`, in the caller's order."""
        a = jnp.asarray(a)
        tail = a.shape[len(batch) :]
        return jnp.reshape(jnp.broadcast_to(a, batch + tail), (nb,) + tail)

    if engine == "refill":
        devices = 1 if mesh is None else mesh.size
        index = refill_queues(predicted_cost(system, t1_values, time=time), devices).reshape(-1)
        take = lambda a: flat(a)[index]
        traj = solve_refill(
            jax.tree.map(take, system),
            take(rho0.astype(dtype)),
            take(velocity0.astype(dtype)),
            take(t1_values.astype(dtype)),
            take(ts.astype(dtype)),
            chart=resolved_chart,
            solver=resolved_solver,
            second_order=second_order,
            controller=diffrax.PIDController(rtol=rtol_array, atol=atol_array),
            max_steps=jnp.asarray(max_steps, jnp.int32),
            time=time,
            pool=pool_size(pool, index.size // devices),
            mesh=mesh,
        )
        back = np.empty(nb, int)
        back[index] = np.arange(index.size)  # a padding row repeats a system: either copy will do
        return eqx.tree_at(lambda t: t.system, _gathered(back, batch, traj), system)
    # A vmapped adaptive solve runs until its slowest member is done, so every system pays for
    # the slowest. Systems are sorted by predicted cost and solved in groups of equal size (one
    # compiled program for all groups), padded by repeating the last system to fill the last
    # group and to a multiple of the device count.
    cost = predicted_cost(system, t1_values, time=time) if steps is None else steps
    grouped = cost_groups(cost, groups, devices=1 if mesh is None else mesh.size)
    (n_groups, size), index = grouped.shape, grouped.reshape(-1)
    order = index[:nb]  # the padding repeats the last system

    grouped_order = lambda a: flat(a)[index]
    arrays = dict(
        system=jax.tree.map(grouped_order, system),
        rho0=grouped_order(rho0.astype(dtype)),
        velocity0=grouped_order(velocity0.astype(dtype)),
        t1=grouped_order(t1_values.astype(dtype)),
        ts=grouped_order(ts.astype(dtype)),
        dt=None if dt_values is None else grouped_order(dt_values.astype(dtype)),
        bath=grouped_order(bath.astype(dtype)),
        key=keys[index] if noisy and keys is not None else None,  # keys: not None when noisy
    )
    static = dict(
        chart=resolved_chart,
        solver=resolved_solver,
        second_order=second_order,
        rtol=rtol_array,
        atol=atol_array,
        max_steps=max_steps,
        time=time,
        mesh=mesh,
    )
    parts = [
        _solve_group(**jax.tree.map(lambda a: a[g * size : (g + 1) * size], arrays), **static) for g in range(n_groups)
    ]
    unsort = np.argsort(order)  # back to the caller's order, padding dropped
    merged = jax.tree.map(lambda *a: np.concatenate([np.asarray(x) for x in a]), *parts)
    return eqx.tree_at(lambda traj: traj.system, _gathered(unsort, batch, merged), system)


def _gathered(rows, batch: tuple, flat_tree):
    """Rows `rows` of every flat array of `flat_tree`, shaped to `batch`, on the default device.
    Gathered through the host, so no cross-device program runs: XLA aborts a collective that
    waits over 40 s for a device still stepping, and on CPU devices finish far apart."""
    return jax.tree.map(lambda a: jnp.asarray(np.reshape(np.asarray(a)[rows], batch + a.shape[1:])), flat_tree)


GROUP_SIZE, MAX_GROUPS = 32, 32  # measured best on the benchmark workload (2-core CPU)


def _group_count(groups, nb: int) -> int:
    if groups == "auto":
        return int(min(MAX_GROUPS, max(1, nb // GROUP_SIZE)))
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be 'auto' or an int >= 1, got {groups!r}")
    return int(min(groups, max(nb, 1)))


def cost_groups(cost, groups="auto", devices: int = 1) -> np.ndarray:
    """The groups `simulate` solves a batch in: flat system indices `(groups, size)`, sorted by
    `cost` (for example `predicted_cost`) so that each group's members take similar numbers of
    steps; the last group is padded by repeating the costliest system, and `size` is a
    multiple of `devices`. Each group runs as long as its slowest member."""
    cost = np.asarray(cost).reshape(-1)
    order = np.argsort(cost, kind="stable")
    n_groups = _group_count(groups, cost.size)
    size = -(-cost.size // (n_groups * devices)) * devices
    return np.concatenate([order, np.full(n_groups * size - cost.size, order[-1])]).reshape(n_groups, size)


def refill_queues(cost, devices: int = 1) -> np.ndarray:
    """The queues of the refill engine: flat system indices `(devices, per_device)`. Longest
    (by `cost`) first, so that short systems fill the pool as it drains; dealt round-robin so
    every device's queue has a similar total cost; padded by repeating the cheapest system."""
    order = np.argsort(-np.asarray(cost).reshape(-1), kind="stable")
    padded = np.concatenate([order, np.full(-order.size % devices, order[-1])])
    return padded.reshape(-1, devices).T


def predicted_cost(system: AttentionSystem, t1, time: str = "natural") -> np.ndarray:
    """A rank proxy for each system's step count: its end time in solver time, times the spread
    of E/T, which sets the amplitude and stiffness of the motion (measured rank correlation with
    the steps taken: 0.99 on the benchmark workload)."""
    second_order = not bool(np.all(np.asarray(system.mass) == 0))
    T = np.asarray(system.temperature, float)
    mask = np.asarray(system.mask)
    beta = np.where(mask, np.asarray(system.energies, float) / T[..., None], 0)
    count = mask.sum(-1)
    spread = np.sqrt(np.maximum((beta**2).sum(-1) / count - (beta.sum(-1) / count) ** 2, 0))
    rate = np.asarray(clock_rate(system, second_order, time), float)
    return np.asarray(t1, float) * rate * (1 + spread)


def _suggested_dt(system: AttentionSystem, second_order: bool) -> float:
    """A fixed step that resolves the fastest system's motion (in physical time)."""
    rate = np.asarray(clock_rate(system, second_order, "natural"), float)
    return rules.SUGGESTED_NATURAL_DT[second_order] / rate.max()


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)
def _solve_group(
    system, rho0, velocity0, t1, ts, dt, bath, key, *, chart, solver, second_order, rtol, atol, max_steps, time, mesh
):
    """One compiled program for a group of (flattened) systems, split over `mesh` if given."""

    def one(system, rho0, velocity0, t1, ts, dt, bath, key, rtol, atol):
        return integrate(
            system,
            rho0,
            velocity0,
            t1,
            ts,
            dt,
            bath,
            key,
            chart=chart,
            solver=solver,
            second_order=second_order,
            controller=diffrax.PIDController(rtol=rtol, atol=atol),
            max_steps=max_steps,
            time=time,
            adjoint=diffrax.RecursiveCheckpointAdjoint(),
        )

    batched = jax.vmap(one, in_axes=(0,) * 8 + (None, None))
    if mesh is not None:
        # check_vma=False: diffrax's while loop does not type-check under varying-axis checks.
        spec, shared = jax.sharding.PartitionSpec(MESH_AXIS), jax.sharding.PartitionSpec()
        batched = jax.shard_map(
            batched, mesh=mesh, in_specs=(spec,) * 8 + (shared, shared), out_specs=spec, check_vma=False
        )
    return batched(system, rho0, velocity0, t1, ts, dt, bath, key, rtol, atol)


ENGINES = ("auto", "refill", "vmap")


def pool_size(pool, shard: int) -> int:
    """Slots per device for `shard` systems per device: `pool`, or by default about
    `sqrt(rules.POOL_SCALE x shard)` for the backend; at most `shard`."""
    if pool is None:
        pool = round(math.sqrt(rules.POOL_SCALE[jax.default_backend() == "cpu"] * shard))
    return int(max(1, min(pool, shard)))


def _mesh(devices):
    """A 1-D mesh over the first `devices` local devices (default all), or None for one."""
    available = jax.local_devices()
    if devices is None:
        devices = len(available)
    if isinstance(devices, bool) or not isinstance(devices, (int, np.integer)):
        raise TypeError(f"devices must be an int, got {type(devices).__name__}")
    if not 1 <= devices <= len(available):
        raise ValueError(f"devices must be between 1 and the {len(available)} local devices, got {devices}")
    if devices == 1:
        return None
    # Auto axes: jax.make_mesh's default Explicit axes fail inside diffrax's loop.
    return jax.sharding.Mesh(np.array(available[:devices]), (MESH_AXIS,), axis_types=(jax.sharding.AxisType.Auto,))


def _checked_steps(step, t1, max_steps):
    """The number of fixed steps per system, after checking the steps `step` against `t1` and
    `max_steps`."""
    if (step > t1).any():
        idx = _checks.first_index(step > t1)
        raise ValueError(f"dt = {step[idx]} is longer than t1 = {t1[idx]} at batch index {idx}")
    steps = fixed_step_count(t1, step)
    if steps.max() > max_steps:
        raise ValueError(
            f"dt: t1/dt needs {int(steps.max())} steps, more than max_steps = {max_steps}; raise max_steps or dt"
        )
    return steps


def _system_keys(key, batch: tuple):
    """One key per system, flat in the caller's order: split one key, or take a key array."""
    key = key_array(key)
    nb = math.prod(batch)
    if key.shape == ():
        return jax.random.split(key, nb)
    if key.shape != tuple(batch):
        raise ValueError(f"key: an array of keys must have the batch shape {tuple(batch)}, got {key.shape}")
    return key.reshape(nb)


def _check_tolerances(rtol, atol, max_steps, saves):
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is None:  # the precision's default
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a float, got {type(value).__name__}")
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value}")
    for name, value, low in (("max_steps", max_steps, 1), ("saves", saves, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    if max_steps > rules.MAX_STEPS:
        raise ValueError(
            f"max_steps must be at most {rules.MAX_STEPS} (the solvers count steps in 32 bits), got {max_steps}"
        )


def _checked_inputs(
    system: AttentionSystem, rho0, t1, ts, saves, velocity0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Validate the start, velocity and times against the system; return numpy arrays."""
    batch, n = system.batch_shape, system.num_tokens
    mask = np.asarray(system.mask)
    mass = np.asarray(system.mass)
    if rules.mixes_massless(mass):
        raise ValueError(
            f"mass: the batch {rules.MIXED_MASS}; a batch is all massless or all massive: split it into two simulate calls"
        )
    second_order = not bool((mass == 0).all())

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
    if (np.abs(total - 1) > rules.NORMALISATION_TOL).any():
        idx = _checks.first_index(np.abs(total - 1) > rules.NORMALISATION_TOL)
        raise ValueError(
            f"rho0 must sum to 1 within {rules.NORMALISATION_TOL}, sums to {total[idx]!r} at batch index {idx}"
        )
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
        if (np.abs(drift) > rules.NORMALISATION_TOL * scale).any():
            idx = _checks.first_index(np.abs(drift) > rules.NORMALISATION_TOL * scale)
            raise ValueError(
                f"velocity0 must be tangent to the simplex (sum to 0), sums to {drift[idx]!r} at batch index {idx}"
            )
        vel = vel - rho * drift[..., None]  # remove the rounding-sized normal part

    t1_values = _checks.per_system("t1", t1, batch, allow_zero=False)
    if ts is None:
        times = np.linspace(0.0, 1.0, saves) * t1_values[..., None]
    else:
        times = _checks.float_array("ts", ts)
        if times.ndim < 1 or times.shape[-1] < 1:
            raise ValueError(f"ts must have shape (S,) or (..., S) with S >= 1, got {times.shape}")
        _checks.broadcastable("ts", times.shape[:-1], batch, "the batch shape")
        times = np.broadcast_to(times, batch + times.shape[-1:])
        _checks.finite("ts", times)
        if (np.diff(times, axis=-1) < 0).any():
            raise ValueError("ts must be non-decreasing")
        if (times < 0).any() or (times > t1_values[..., None]).any():
            raise ValueError("ts must lie in [0, t1]")
    return rho, vel, t1_values, times, second_order
