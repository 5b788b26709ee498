"""How thermo-ode compiles its programs: XLA's compile options, and the split of a batch over a
1-D mesh of devices (each device runs the same per-system program on its own rows, with no
communication between them)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar, cast

import equinox as eqx
import jax

MESH_AXIS = "batch"
P = ParamSpec("P")
R = TypeVar("R")

# XLA:CPU's newer fusion emitters contract a * b + c into one fused multiply-add in some
# vector lanes and not in the scalar tail of the same loop, so a system's last bits depended on
# its place in the pool (measured: 1e-19 in rho_dot between pools of 4 and 90). The classic
# emitters treat every lane alike. A field of XLA's compile options: other backends ignore it.
COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False}


def program(fn: Callable[P, R]) -> Callable[P, R]:
    """`eqx.filter_jit` with `COMPILER_OPTIONS`: how thermo-ode compiles each of its programs.

    Called inside a user's transformation (`jax.jit`, `jax.grad`, `jax.vmap`: some argument is a
    tracer), `fn` becomes part of the user's program, whose compile options are the user's: XLA
    takes compile options only at the top level."""
    # equinox passes jax.jit keywords through (**jitkwargs), which its overloads do not declare.
    top_level = eqx.filter_jit(fn, compiler_options=COMPILER_OPTIONS)  # type: ignore[call-overload]
    nested = eqx.filter_jit(fn)

    @functools.wraps(fn)
    def compiled(*args, **kwargs):
        traced = any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves((args, kwargs)))
        return (nested if traced else top_level)(*args, **kwargs)

    return cast(Callable[P, R], compiled)


def over_devices(fn, mesh):
    """`fn(batched, shared)` on `mesh`: the array leaves of `batched` (and of the result) split
    along their first axis, those of `shared` copied to every device; other leaves (functions,
    Python numbers) are constants of the program. `mesh` None: `fn` itself."""
    if mesh is None:
        return fn

    def run(batched, shared):
        (batched, batched_static), (shared, shared_static) = (
            eqx.partition(batched, eqx.is_array),
            eqx.partition(shared, eqx.is_array),
        )
        static_out = []

        def per_device(batched, shared):
            out, static = eqx.partition(
                fn(eqx.combine(batched, batched_static), eqx.combine(shared, shared_static)), eqx.is_array
            )
            static_out.append(static)
            return out

        rows, copied = jax.sharding.PartitionSpec(MESH_AXIS), jax.sharding.PartitionSpec()
        # check_vma=False: diffrax's while loops do not type-check under varying-axis checks.
        out = jax.shard_map(per_device, mesh=mesh, in_specs=(rows, copied), out_specs=rows, check_vma=False)(
            batched, shared
        )
        return eqx.combine(out, static_out[0])

    return run
