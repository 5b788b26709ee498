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
# emitters treat every lane alike. A field of XLA's compile options: other backends ignore it,
# and XLA versions that no longer have it refuse it (jax 0.12), so it is asked for only where
# the installed XLA knows it (`compiler_options`).
COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False}


@functools.cache
def compiler_options() -> dict:
    """`COMPILER_OPTIONS` if the installed XLA accepts them (tried once on a trivial program),
    else none."""
    try:
        jax.jit(lambda x: x + 1, compiler_options=COMPILER_OPTIONS).lower(1.0).compile()
    except Exception as exc:  # XLA's JaxRuntimeError: "No such compile option"
        if "compile option" not in str(exc):
            raise
        return {}
    return dict(COMPILER_OPTIONS)


def program(fn: Callable[P, R]) -> Callable[P, R]:
    """`eqx.filter_jit` with `compiler_options()`: how thermo-ode compiles each of its programs.

    Called inside a user's transformation (`jax.jit`, `jax.grad`, `jax.vmap`: some argument is a
    tracer), `fn` becomes part of the user's program, whose compile options are the user's: XLA
    takes compile options only at the top level."""
    nested = eqx.filter_jit(fn)

    @functools.cache
    def top_level():  # built at the first call: asking XLA for its options starts JAX
        return eqx.filter_jit(fn, compiler_options=compiler_options())

    @functools.wraps(fn)
    def compiled(*args, **kwargs):
        traced = any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves((args, kwargs)))
        return (nested if traced else top_level())(*args, **kwargs)

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
