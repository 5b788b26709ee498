"""Per-system stepping with refill: a pool of slots steps many systems in one compiled loop.

A vmapped `diffeqsolve` runs every member of a batch until the slowest is done (lockstep).
Here each slot of a pool holds one system with its own time, step size, accept/reject,
controller state and saves; when its system is done (or failed) the slot writes its results
and takes the next system from the queue. No system pays for another's steps and no group
waits for another; the solver state in the loop is bounded by the pool, and only the inputs,
the first-step states and the saved results are the size of the batch.

Every slot repeats diffrax's own loop for one system (diffrax's public `solver.step`,
`controller.init` / `adapt_step_size` and the solver's dense interpolation at the save times,
with diffrax's clipping to the end time), so a system takes the steps it takes under
`diffeqsolve`, whatever the pool size. Explicit adaptive ODE solves only: fixed steps,
Langevin noise and implicit solvers take the vmapped path of `simulate`. Over several devices
(`jax.shard_map`), each device runs its own pool over its own share of the batch: the loop is
one compiled program per device, with no host round-trip between steps.
"""

from __future__ import annotations

import functools

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from .integration import Problem, read_out, set_up
from .trajectory import status_code

# diffrax clips a step that ends within ~100 ulps of t1 to t1 (no slivers for dense output).
_CLIP_ULPS = 100


def _clip_floor(s1):
    floor = s1
    for _ in range(_CLIP_ULPS):
        floor = jnp.nextafter(floor, -jnp.inf)
    return floor


def _pick(tree, index):
    """Row `index` of every batched array of `tree` (static leaves, shared by all, as they are)."""
    return jax.tree.map(lambda a: a[index] if eqx.is_array(a) else a, tree)


def _where(pred, a, b):
    """`a` where `pred` (per slot), else `b`, leaf by leaf."""

    def select(x, y):
        if not eqx.is_array(x):
            return x
        return jnp.where(jnp.reshape(pred, pred.shape + (1,) * (jnp.ndim(x) - pred.ndim)), x, y)

    return jax.tree.map(select, a, b)


MESH_AXIS = "batch"


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)
def solve_refill(
    system,
    rho0,
    velocity0,
    t1,
    ts,
    *,
    chart,
    solver,
    second_order,
    controller,
    max_steps,
    time: str,
    pool: int,
    mesh=None,
):
    """Solve a flat batch `(B,)` of systems with a pool of `pool` slots (per device); the
    batched `Trajectory`, equal to `vmap` of `thermo_ode.integration.integrate` (same steps, same
    states). With a 1-D `mesh` of D devices, device d solves rows `[d B/D, (d+1) B/D)` with
    its own pool and queue (B a multiple of D); systems are taken from the queue in row order.
    The controller's array fields (tolerances given as arrays) and an array `max_steps` are
    inputs of the program, not constants of it: runs that differ only in them share it."""
    dynamic, static = eqx.partition(controller, eqx.is_array)

    def run(system, rho0, velocity0, t1, ts, dynamic, max_steps):
        return _refill(
            system,
            rho0,
            velocity0,
            t1,
            ts,
            chart=chart,
            solver=solver,
            second_order=second_order,
            controller=eqx.combine(dynamic, static),
            max_steps=max_steps,
            time=time,
            pool=pool,
        )

    if mesh is not None:
        # check_vma=False: diffrax's while loops do not type-check under varying-axis checks.
        spec, shared = jax.sharding.PartitionSpec(MESH_AXIS), jax.sharding.PartitionSpec()
        run = jax.shard_map(run, mesh=mesh, in_specs=(spec,) * 5 + (shared, shared), out_specs=spec, check_vma=False)
    return run(system, rho0, velocity0, t1, ts, dynamic, max_steps)


def _refill(
    system, rho0, velocity0, t1, ts, *, chart, solver, second_order, controller, max_steps, time: str, pool: int
):
    batch = rho0.shape[0]
    pool = min(pool, batch)
    setup = functools.partial(
        set_up,
        dt=None,
        bath_temperature=None,
        key=None,
        chart=chart,
        solver=solver,
        second_order=second_order,
        controller=controller,
        time=time,
    )
    problems: Problem = eqx.filter_vmap(lambda s, r, v, t, x: setup(s, r, v, t, x))(system, rho0, velocity0, t1, ts)
    # The controller as given: vmapping set_up would give its array fields a batch axis.
    terms, stepper, control = problems.terms, problems.solver, controller
    error_order = stepper.error_order(terms)

    def first_step(p: Problem):
        t0 = jnp.zeros_like(p.s1)
        tnext, controller_state = control.init(terms, t0, p.s1, p.y0, p.dt0, p.coefficients, stepper.func, error_order)
        tnext = jnp.minimum(tnext, p.s1)
        return tnext, controller_state, stepper.init(terms, t0, tnext, p.y0, p.coefficients)

    start_tnext, start_controller, start_solver = eqx.filter_vmap(first_step)(problems)
    floors = jax.vmap(_clip_floor)(problems.s1)
    saves = problems.save_at.shape[-1]
    successful = diffrax.RESULTS.successful

    def load(index):
        """Slot state for system `index` (clipped: an idle slot holds a copy it never writes)."""
        i = jnp.minimum(index, batch - 1)
        return dict(
            index=index,
            coefficients=_pick(problems.coefficients, i),
            s1=problems.s1[i],
            floor=floors[i],
            save_at=problems.save_at[i],
            tprev=jnp.zeros_like(problems.s1[i]),
            tnext=start_tnext[i],
            y=_pick(problems.y0, i),
            solver_state=_pick(start_solver, i),
            controller_state=_pick(start_controller, i),
            result=successful,
            steps=jnp.zeros((), jnp.int32),
            save=jnp.zeros((), jnp.int32),
        )

    def advance(slot):
        """One attempted step of one slot, as diffeqsolve's loop body makes it."""
        c, s1 = slot["coefficients"], slot["s1"]
        y1, y_error, dense, solver_state, solver_result = stepper.step(
            terms, slot["tprev"], slot["tnext"], slot["y"], c, slot["solver_state"], False
        )
        y_error = jax.tree.map(lambda e: jnp.where(jnp.isnan(e), jnp.inf, e), y_error)
        keep, tprev, tnext, _, controller_state, controller_result = control.adapt_step_size(
            slot["tprev"], slot["tnext"], slot["y"], y1, c, y_error, error_order, slot["controller_state"]
        )
        tprev = jnp.minimum(tprev, s1)
        tclip = jnp.where(keep, s1, tprev + 0.5 * (s1 - tprev))
        tnext = jnp.where(tnext > slot["floor"], tclip, tnext)
        result = diffrax.RESULTS.where(
            diffrax.is_okay(slot["result"]), diffrax.RESULTS.where(keep, solver_result, successful), slot["result"]
        )
        result = diffrax.RESULTS.where(diffrax.is_okay(result), controller_result, result)
        new = dict(
            slot,
            tprev=tprev,
            tnext=tnext,
            y=_where(keep, y1, slot["y"]),
            solver_state=_where(keep, solver_state, slot["solver_state"]),
            controller_state=controller_state,
            result=result,
            steps=slot["steps"] + 1,
        )
        return new, dense, keep

    def save_pending(slots, dense, keep, interval, outputs):
        """Write every save time inside the step just accepted, per slot (diffrax's SaveAt(ts))."""
        t0, t1_ = interval

        def pending(slots):
            k = jnp.minimum(slots["save"], saves - 1)
            due = jnp.take_along_axis(slots["save_at"], k[:, None], axis=1)[:, 0] <= t1_
            return (slots["index"] < batch) & keep & (slots["save"] < saves) & due

        def body(carry):
            slots, outputs = carry
            todo = pending(slots)
            k = jnp.minimum(slots["save"], saves - 1)
            t = jnp.take_along_axis(slots["save_at"], k[:, None], axis=1)[:, 0]
            values = jax.vmap(lambda d, a, b, tt: stepper.interpolation_cls(t0=a, t1=b, **d).evaluate(tt))(
                dense, t0, t1_, t
            )
            row = jnp.where(todo, slots["index"], batch)  # out of bounds: dropped
            outputs = dict(
                outputs, ys=jax.tree.map(lambda out, v: out.at[row, k].set(v, mode="drop"), outputs["ys"], values)
            )
            return dict(slots, save=slots["save"] + todo), outputs

        return jax.lax.while_loop(lambda carry: pending(carry[0]).any(), body, (slots, outputs))

    def finished(slot):
        """A slot's result (max_steps reached is diffrax's verdict after max_steps steps) and
        whether its system is done: at its end time, or failed."""
        unfinished = slot["tprev"] < slot["s1"]
        exhausted = unfinished & diffrax.is_okay(slot["result"]) & (slot["steps"] >= max_steps)
        result = diffrax.RESULTS.where(exhausted, diffrax.RESULTS.max_steps_reached, slot["result"])
        return result, (slot["index"] < batch) & (~unfinished | ~diffrax.is_okay(result))

    def body(carry):
        slots, queue, outputs = carry
        interval = (slots["tprev"], slots["tnext"])
        slots, dense, keep = jax.vmap(advance)(slots)
        slots, outputs = save_pending(slots, dense, keep, interval, outputs)
        result, done = jax.vmap(finished)(slots)
        row = jnp.where(done, slots["index"], batch)
        outputs = dict(
            outputs,
            steps=outputs["steps"].at[row].set(slots["steps"], mode="drop"),
            status=outputs["status"].at[row].set(jax.vmap(status_code)(result), mode="drop"),
        )
        # Refill: finished slots take the next systems of the queue, in slot order (only in the
        # iterations where some slot finished).
        slots = dict(slots, result=result)

        def refill(slots):
            fresh = jnp.where(done, queue + jnp.cumsum(done) - 1, slots["index"])
            return _where(done, jax.vmap(load)(fresh), slots)

        slots = jax.lax.cond(done.any(), refill, lambda slots: slots, slots)
        return slots, queue + done.sum(), outputs

    outputs = dict(
        ys=jax.tree.map(lambda y: jnp.zeros((batch, saves) + y.shape[1:], y.dtype), problems.y0),
        steps=jnp.zeros(batch, jnp.int32),
        status=jnp.zeros(batch, jnp.int32),
    )
    slots = jax.vmap(load)(jnp.arange(pool))
    _, _, outputs = jax.lax.while_loop(
        lambda carry: (carry[0]["index"] < batch).any(), body, (slots, jnp.asarray(pool), outputs)
    )
    bath = jnp.zeros_like(t1)
    return eqx.filter_vmap(
        lambda s, p, ys, status, steps, b: read_out(s, p, ys, status, steps, b, chart=chart, second_order=second_order)
    )(system, problems, outputs["ys"], outputs["status"], outputs["steps"], bath)
