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

import dataclasses
from typing import Any, NamedTuple

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PyTree

from .dynamics import Coefficients
from .integration import Problem
from .options import Options
from .programs import over_devices, program
from .stages import Saved
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


class Slot(eqx.Module):
    """The state of one slot of the pool (in the loop, a batch of them: one per slot): the
    system it steps and how far its diffrax loop has come."""

    index: Array  # the system's row; the batch size when the slot is idle
    coefficients: Coefficients
    s1: Array  # end, in solver time
    floor: Array  # a step ending above this is clipped to s1
    save_at: Array  # (S,) save times, in solver time
    tprev: Array
    tnext: Array
    y: PyTree
    solver_state: PyTree
    controller_state: PyTree
    result: diffrax.RESULTS
    steps: Array  # steps attempted
    save: Array  # saves written


class _Pool(NamedTuple):
    """What every slot shares: the terms, solver and controller, and the batch's problems."""

    terms: PyTree
    solver: diffrax.AbstractSolver
    controller: diffrax.AbstractStepSizeController
    error_order: Any
    max_steps: int | Array
    problems: Problem
    starts: tuple  # per system: the first tnext, controller state and solver state
    floors: Array

    @property
    def batch(self) -> int:
        return self.problems.s1.shape[0]

    @property
    def saves(self) -> int:
        return self.problems.save_at.shape[-1]


@program
def solve_refill(problems: Problem, opts: Options, *, pool: int, mesh=None) -> Saved:
    """The saves, steps and status of a flat batch `(B,)` of set-up systems
    (`thermo_ode.stages.set_up_batch`), stepped by a pool of `pool` slots per device: the same
    steps and states as `vmap` of `diffeqsolve`. With a 1-D `mesh` of D devices, device d
    solves rows `[d B/D, (d+1) B/D)` with its own pool and queue (B a multiple of D); systems
    are taken from the queue in row order. The options' array leaves (tolerances given as
    arrays, an array `max_steps`) are inputs of the program, not constants of it: runs that
    differ only in them share it."""
    return over_devices(lambda problems, opts: _loop(problems, opts, pool), mesh)(problems, opts)


def _loop(problems: Problem, opts: Options, pool: int) -> Saved:
    """Step every system of `problems` with `pool` slots until all are done."""
    # The controller as given: the problems' copies have a batch axis on their array fields.
    terms, stepper, control = problems.terms, problems.solver, opts.controller
    error_order = stepper.error_order(terms)

    def first_step(p: Problem):
        t0 = jnp.zeros_like(p.s1)
        tnext, controller_state = control.init(terms, t0, p.s1, p.y0, p.dt0, p.coefficients, stepper.func, error_order)
        tnext = jnp.minimum(tnext, p.s1)
        return tnext, controller_state, stepper.init(terms, t0, tnext, p.y0, p.coefficients)

    starts = eqx.filter_vmap(first_step)(problems)
    ctx = _Pool(
        terms, stepper, control, error_order, opts.max_steps, problems, starts, jax.vmap(_clip_floor)(problems.s1)
    )
    batch = ctx.batch
    pool = min(pool, batch)
    saved = Saved(
        ys=jax.tree.map(lambda y: jnp.zeros((batch, ctx.saves) + y.shape[1:], y.dtype), problems.y0),
        steps=jnp.zeros(batch, jnp.int32),
        status=jnp.zeros(batch, jnp.int32),
    )
    slots = jax.vmap(lambda i: _load(ctx, i))(jnp.arange(pool))
    _, _, saved = jax.lax.while_loop(
        lambda carry: (carry[0].index < batch).any(),
        lambda carry: _iteration(ctx, *carry),
        (slots, jnp.asarray(pool), saved),
    )
    return saved


def _load(ctx: _Pool, index) -> Slot:
    """Slot state for system `index` (clipped: an idle slot holds a copy it never writes)."""
    i = jnp.minimum(index, ctx.batch - 1)
    p = ctx.problems
    tnext, controller_state, solver_state = ctx.starts
    return Slot(
        index=index,
        coefficients=_pick(p.coefficients, i),
        s1=p.s1[i],
        floor=ctx.floors[i],
        save_at=p.save_at[i],
        tprev=jnp.zeros_like(p.s1[i]),
        tnext=tnext[i],
        y=_pick(p.y0, i),
        solver_state=_pick(solver_state, i),
        controller_state=_pick(controller_state, i),
        result=diffrax.RESULTS.successful,  # type: ignore[arg-type]  # an eqx Enumeration item
        steps=jnp.zeros((), jnp.int32),
        save=jnp.zeros((), jnp.int32),
    )


def _advance(ctx: _Pool, slot: Slot):
    """One attempted step of one slot, as diffeqsolve's loop body makes it."""
    c, s1 = slot.coefficients, slot.s1
    y1, y_error, dense, solver_state, solver_result = ctx.solver.step(
        ctx.terms, slot.tprev, slot.tnext, slot.y, c, slot.solver_state, False
    )
    y_error = jax.tree.map(lambda e: jnp.where(jnp.isnan(e), jnp.inf, e), y_error)
    keep, tprev, tnext, _, controller_state, controller_result = ctx.controller.adapt_step_size(
        slot.tprev, slot.tnext, slot.y, y1, c, y_error, ctx.error_order, slot.controller_state
    )
    tprev = jnp.minimum(tprev, s1)
    tclip = jnp.where(keep, s1, tprev + 0.5 * (s1 - tprev))
    tnext = jnp.where(tnext > slot.floor, tclip, tnext)
    successful = diffrax.RESULTS.successful
    result = diffrax.RESULTS.where(
        diffrax.is_okay(slot.result), diffrax.RESULTS.where(keep, solver_result, successful), slot.result
    )
    result = diffrax.RESULTS.where(diffrax.is_okay(result), controller_result, result)
    new = dataclasses.replace(
        slot,
        tprev=tprev,
        tnext=tnext,
        y=_where(keep, y1, slot.y),
        solver_state=_where(keep, solver_state, slot.solver_state),
        controller_state=controller_state,
        result=result,
        steps=slot.steps + 1,
    )
    return new, dense, keep


def _save_pending(ctx: _Pool, slots: Slot, dense, keep, interval, saved: Saved):
    """Write every save time inside the step just accepted, per slot (diffrax's SaveAt(ts))."""
    t0, t1 = interval
    batch, saves = ctx.batch, ctx.saves

    def next_save(slots):
        k = jnp.minimum(slots.save, saves - 1)
        return k, jnp.take_along_axis(slots.save_at, k[:, None], axis=1)[:, 0]

    def pending(slots):
        return (slots.index < batch) & keep & (slots.save < saves) & (next_save(slots)[1] <= t1)

    def body(carry):
        slots, saved = carry
        todo = pending(slots)
        k, t = next_save(slots)
        values = jax.vmap(lambda d, a, b, tt: ctx.solver.interpolation_cls(t0=a, t1=b, **d).evaluate(tt))(
            dense, t0, t1, t
        )
        row = jnp.where(todo, slots.index, batch)  # out of bounds: dropped
        ys = jax.tree.map(lambda out, v: out.at[row, k].set(v, mode="drop"), saved.ys, values)
        return dataclasses.replace(slots, save=slots.save + todo), dataclasses.replace(saved, ys=ys)

    return jax.lax.while_loop(lambda carry: pending(carry[0]).any(), body, (slots, saved))


def _finished(ctx: _Pool, slot: Slot):
    """A slot's result (max_steps reached is diffrax's verdict after max_steps steps) and
    whether its system is done: at its end time, or failed."""
    unfinished = slot.tprev < slot.s1
    exhausted = unfinished & diffrax.is_okay(slot.result) & (slot.steps >= ctx.max_steps)
    result = diffrax.RESULTS.where(exhausted, diffrax.RESULTS.max_steps_reached, slot.result)
    return result, (slot.index < ctx.batch) & (~unfinished | ~diffrax.is_okay(result))


def _iteration(ctx: _Pool, slots: Slot, queue, saved: Saved):
    """One step of every slot; finished slots write their results and take the next systems."""
    interval = (slots.tprev, slots.tnext)
    slots, dense, keep = jax.vmap(lambda slot: _advance(ctx, slot))(slots)
    slots, saved = _save_pending(ctx, slots, dense, keep, interval, saved)
    result, done = jax.vmap(lambda slot: _finished(ctx, slot))(slots)
    row = jnp.where(done, slots.index, ctx.batch)
    saved = Saved(
        ys=saved.ys,
        steps=saved.steps.at[row].set(slots.steps, mode="drop"),
        status=saved.status.at[row].set(jax.vmap(status_code)(result), mode="drop"),
    )
    slots = dataclasses.replace(slots, result=result)

    # Finished slots take the next systems of the queue, in slot order (only in the iterations
    # where some slot finished).
    def refill(slots):
        fresh = jnp.where(done, queue + jnp.cumsum(done) - 1, slots.index)
        return _where(done, jax.vmap(lambda i: _load(ctx, i))(fresh), slots)

    slots = jax.lax.cond(done.any(), refill, lambda slots: slots, slots)
    return slots, queue + done.sum(), saved
