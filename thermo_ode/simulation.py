"""`simulate()`: the host-level driver from a batch of systems and starts to a `Trajectory`.

Inputs are checked on concrete values first (so bad input fails before compilation); the
batch is then flattened and run on every local device by one compiled program of the core's
per-system integration (`thermo_ode.integration`, the same one `solve` runs; the start rules of
`thermo_ode.start_checks`, the options of `thermo_ode.options`): the refill engine
(`thermo_ode.refill`), whose queues are sorted longest first by predicted cost, or, for fixed
steps, noise and implicit solvers, vmapped `diffeqsolve`s in groups of similar predicted cost
(`thermo_ode.batching` lays the batch out).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks, batching, refill, rules, stages, start_checks
from .charts import AbstractChart, SphereChart
from .integration import Inputs, Problem, solve_problem
from .options import DtRequired, Options, options
from .programs import over_devices, program
from .solvers import takes_noise
from .start_checks import Start
from .stopping import Until
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
    until: Until | None = None,
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
      systems, at most 32, on a CPU and one group on an accelerator (`thermo_ode.rules.GROUPING`).
    - `until`: a `thermo_ode.Until`: each system stops once at equilibrium, `t1` being the cap
      (as in `solve`); it runs on the vmapped engine.

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
    start_checks.check_tolerance_types(rtol, atol)
    start_checks.check_counts(max_steps, saves)
    mesh = batching.device_mesh(devices)
    batching.group_count(groups, 1)  # reject a bad value before any work
    batch = system.batch_shape
    if math.prod(batch) == 0:
        raise ValueError(f"system has an empty batch {batch}: nothing to simulate")
    if _checks.is_traced(system, rho0, t1, ts, velocity0, dt, bath_temperature):
        raise TypeError(
            "simulate needs concrete inputs: call it outside jit/vmap (it compiles itself), or use thermo_ode.solve"
        )
    start, second_order = _host_start(system, rho0, t1, ts, saves, velocity0, bath_temperature, dt, max_steps)
    noisy = bool((start.bath_temperature > 0).any())
    if noisy and key is None:
        raise TypeError("key: bath_temperature > 0 needs a jax.random.key for the noise")
    try:
        opts = options(
            chart=chart,
            solver=solver,
            second_order=second_order,
            noisy=noisy,
            fixed_step=dt is not None,
            time=time,
            rtol=rtol,
            atol=atol,
            dtype=system.dtype,
            max_steps=max_steps,
            until=until,
        )
    except DtRequired as exc:  # name a step that works for this batch
        suggested = batching.suggested_dt(system, second_order)
        raise DtRequired(f"{exc} (= {suggested:.3g} for the fastest system here)") from None
    if not noisy and takes_noise(opts.solver) and isinstance(opts.chart, SphereChart):
        # A Langevin integrator runs its noise even where every bath is cold (zero amplitude,
        # so zero kicks): one program, so a cold system's bits do not depend on whether its
        # batch (a sweep's chunk) holds a warm one.
        noisy, key = True, jax.random.key(0) if key is None else key
    # The refill engine steps explicit adaptive solves without noise; the rest (fixed steps,
    # Langevin noise, implicit solvers and their root finders) take the vmapped groups.
    # Stopping at equilibrium (`until`) is diffrax's event, in the vmapped groups for now.
    vmap_only = (
        dt is not None or noisy or isinstance(opts.solver, diffrax.AbstractImplicitSolver) or opts.until is not None
    )
    chosen = _chosen_engine(engine, pool, vmap_only)
    keys = None if key is None else start_checks.system_keys(key, batch)  # a bad key is refused even without noise
    dtype = system.dtype
    inputs = Inputs(
        rho0=start.rho0.astype(dtype),
        velocity0=start.velocity0.astype(dtype),
        t1=start.t1.astype(dtype),
        ts=start.ts.astype(dtype),
        dt=None if start.dt is None else start.dt.astype(dtype),
        bath_temperature=start.bath_temperature.astype(dtype),
    )
    if chosen == "refill":
        inputs = Inputs(rho0=inputs.rho0, velocity0=inputs.velocity0, t1=inputs.t1, ts=inputs.ts)
        # An array max_steps: an input of the pool's program, as the tolerances are.
        opts = dataclasses.replace(opts, max_steps=jnp.asarray(opts.max_steps, jnp.int32))
    # Set-up and read-out run on one device over the batch in the caller's order, the loop on
    # every device in the engine's order: programs of their own (thermo_ode.stages), so that a
    # system's bits do not depend on the engine's layout.
    flat_system, flat_inputs = (jax.tree.map(lambda a: _flat(a, batch), tree) for tree in (system, inputs))
    if noisy:
        flat_inputs = dataclasses.replace(flat_inputs, key=keys)  # already flat, in the caller's order
    problems = stages.set_up_batch(flat_system, flat_inputs, opts, mesh=None)
    if chosen == "refill":
        saved = _by_refill(problems, flat_system, flat_inputs.t1, opts, pool, mesh)
    else:
        saved = _by_groups(problems, flat_system, flat_inputs, opts, groups, mesh)
    traj = stages.read_out_batch(flat_system, flat_inputs, problems, saved, opts, mesh=None)
    traj = jax.tree.map(lambda a: jnp.reshape(a, batch + a.shape[1:]), traj)
    return eqx.tree_at(lambda t: t.system, traj, system)


def _chosen_engine(engine, pool, vmap_only: bool) -> str:
    """The engine `simulate` runs: `engine` checked against the solve, `"auto"` decided."""
    if engine not in batching.ENGINES:
        raise ValueError(f"engine must be one of {batching.ENGINES}, got {engine!r}")
    if pool is not None and (isinstance(pool, bool) or not isinstance(pool, (int, np.integer)) or pool < 1):
        raise ValueError(f"pool must be an int >= 1, got {pool!r}")
    if engine == "refill" and vmap_only:
        raise ValueError(
            "engine='refill' runs explicit adaptive solves without noise; use engine='vmap' (or 'auto') with dt, "
            "a heat bath or an implicit solver"
        )
    if engine == "auto":
        return "vmap" if vmap_only else "refill"
    return engine


def _flat(a, batch: tuple):
    """`a` broadcast to the batch and flattened to `(nb, ...)`, in the caller's order."""
    a = jnp.asarray(a)
    tail = a.shape[len(batch) :]
    return jnp.reshape(jnp.broadcast_to(a, batch + tail), (math.prod(batch),) + tail)


def _by_refill(problems: Problem, system: AttentionSystem, t1, opts: Options, pool, mesh) -> stages.Saved:
    """The batch's saves by the refill engine, its queues sorted longest first by predicted cost."""
    devices = 1 if mesh is None else mesh.size
    index = batching.refill_queues(batching.predicted_cost(system, t1, time=opts.time), devices).reshape(-1)
    saved = refill.solve_refill(
        batching.rows(problems, index), opts, pool=batching.pool_size(pool, index.size // devices), mesh=mesh
    )
    back = np.empty(t1.shape[0], int)
    back[index] = np.arange(index.size)  # a padding row repeats a system: either copy will do
    return batching.rows(saved, back)


def _by_groups(problems: Problem, system: AttentionSystem, inputs: Inputs, opts: Options, groups, mesh) -> stages.Saved:
    """The batch's saves by vmapped `diffeqsolve`s. A vmapped adaptive solve runs until its
    slowest member is done, so every system pays for the slowest: systems are sorted by
    predicted cost (or their fixed step counts) and solved in groups of equal size (one
    compiled program for all groups), padded by repeating the last system to fill the last
    group and to a multiple of the device count."""
    if inputs.dt is None:
        cost = batching.predicted_cost(system, inputs.t1, time=opts.time)
    else:
        cost = start_checks.fixed_step_count(np.asarray(inputs.t1), np.asarray(inputs.dt))
    grouped = batching.cost_groups(cost, groups, devices=1 if mesh is None else mesh.size)
    parts = [_solve_group(batching.rows(problems, rows), opts, mesh=mesh) for rows in grouped]
    merged = jax.tree.map(lambda *a: np.concatenate([np.asarray(x) for x in a]), *parts)
    unsort = np.argsort(grouped.reshape(-1)[: cost.size], kind="stable")  # the caller's order, padding dropped
    return batching.rows(merged, unsort)


@program
def _solve_group(problems: Problem, opts: Options, *, mesh) -> stages.Saved:
    """The vmapped `diffeqsolve` of a group's problems. The options' arrays (the tolerances) are
    inputs of it, shared by every system."""

    def run(problems, opts):
        ys, status, steps, stop = eqx.filter_vmap(lambda p: solve_problem(p, opts), in_axes=(stages.BATCHED,))(problems)
        return stages.Saved(ys=ys, steps=steps, status=status, stop=stop)

    return over_devices(run, mesh)(problems, opts)


def _host_start(system: AttentionSystem, rho0, t1, ts, saves, velocity0, bath_temperature, dt, max_steps):
    """The start as numpy arrays of the batch's shape, every rule of `start_checks` checked,
    `rho0` normalised and `velocity0` made tangent; and whether the batch is second order."""
    batch, n = system.batch_shape, system.num_tokens
    mass = np.asarray(system.mass)
    if rules.mixes_massless(mass):
        raise ValueError(
            f"mass: the batch {rules.MIXED_MASS}; a batch is all massless or all massive: split it into two simulate calls"
        )
    second_order = not bool((mass == 0).all())
    if velocity0 is not None and not second_order:
        raise ValueError("velocity0 must be None when mass = 0: the gradient flow is first order")
    rho = _checks.per_token("rho0", rho0, batch + (n,))
    vel = np.zeros_like(rho) if velocity0 is None else _checks.per_token("velocity0", velocity0, batch + (n,))
    t1_values = _checks.per_system("t1", t1, batch)
    if ts is None:
        with np.errstate(invalid="ignore"):  # a t1 of inf is refused below, by its rule
            times = np.linspace(0.0, 1.0, saves) * t1_values[..., None]
    else:
        times = _checks.float_array("ts", ts)
        if times.ndim < 1 or times.shape[-1] < 1:
            raise ValueError(f"ts must have shape (S,) or (..., S) with S >= 1, got {times.shape}")
        _checks.broadcastable("ts", times.shape[:-1], batch, "the batch shape")
        times = np.broadcast_to(times, batch + times.shape[-1:])
    bath = _checks.per_system("bath_temperature", bath_temperature, batch)
    steps = None if dt is None else _checks.per_system("dt", dt, batch)
    mask = np.asarray(system.mask)
    start = Start(rho, vel, mask, t1_values, times, bath, steps, max_steps)
    start_checks.on_host(start)
    total = rho.sum(axis=-1, keepdims=True)
    rho = rho / total
    vel = vel - rho * vel.sum(axis=-1, keepdims=True)  # remove the rounding-sized normal part
    return start._replace(rho0=rho, velocity0=vel), second_order
