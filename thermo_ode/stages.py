"""A batch's set-up and read-out as compiled programs of their own, on either engine.

`simulate` runs a batch as three programs, one after the other: `set_up_batch` (every system's
`Problem`), the engine's loop (thermo_ode.refill's pool or a vmapped `diffeqsolve`) and
`read_out_batch` (the observables). Each takes the previous one's results as inputs, so XLA
cannot rewrite the loop's arithmetic together with the set-up or the observables (it does, in
one program, in ways that change with the batch's shape and the number of devices); a system's
bits then depend on its own numbers alone (docs/guarantees.md).
"""

from __future__ import annotations

import equinox as eqx
from jaxtyping import Array, PyTree

from .integration import Inputs, Problem, set_up
from .options import Options
from .programs import over_devices, program
from .readout import read_out
from .trajectory import Trajectory

BATCHED = eqx.if_array(0)  # the batch axis of every array leaf (functions are shared)


class Saved(eqx.Module):
    """What a loop writes per system `(B, ...)`: the states at the saves, steps and status."""

    ys: PyTree
    steps: Array
    status: Array
    stop: Array | None = None  # with `until`: the solver time of the stop (inf: none)


@program
def set_up_batch(system, inputs: Inputs, opts: Options, *, mesh) -> Problem:
    """Every system's `Problem` (a batch axis on each array leaf)."""

    def run(batched, opts):
        return eqx.filter_vmap(set_up, in_axes=(BATCHED, BATCHED, None))(*batched, opts)

    return over_devices(run, mesh)((system, inputs), opts)


@program
def read_out_batch(system, inputs: Inputs, problems: Problem, saved: Saved, opts: Options, *, mesh) -> Trajectory:
    """The batched `Trajectory` of the loop's `saved` states."""

    def run(batched, opts):
        system, inputs, problems, saved = batched
        return eqx.filter_vmap(read_out, in_axes=(BATCHED,) * 6 + (None, BATCHED))(
            system, inputs, problems, saved.ys, saved.status, saved.steps, opts, saved.stop
        )

    return over_devices(run, mesh)((system, inputs, problems, saved), opts)
