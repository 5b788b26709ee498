"""Sums over tokens in one fixed order, so that a system's rounding never depends on the batch.

A reduction `jnp.sum(a, axis=-1)` leaves the order of its additions to XLA, which picks it
with the loop it vectorises: over a batch `(B, N)` the order (and so the last bits of the sum)
changes with `B`, the number of systems that share a device. Every per-system computation of
thermo-ode sums over tokens here instead: a pairwise tree of elementwise adds (`N` padded with
zeros to a power of two, then halved: `a[:h] + a[h:]`, down to one). Elementwise adds are
exactly rounded in IEEE arithmetic and XLA does not reorder them, so the bits of a sum depend
on the `N` values alone. With the code around the sums compiled without fused multiply-adds
(`thermo_ode.use_exact_cpu_code`), a system's results are then the same with 1 or 1000 others
beside it, on one device or many (docs/guarantees.md). The tree's rounding error grows like
`log2 N`, not `N`.

`logsumexp` and `softmax` are written with it for the same reason (their maxima are exact in
any order).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def token_sum(a, axis: int = -1, keepdims: bool = False, where=None) -> jax.Array:
    """`sum(a, axis)` by a pairwise tree of elementwise adds (`where` False terms count 0)."""
    a = jnp.asarray(a)
    if where is not None:
        a = jnp.where(where, a, 0)
    # A barrier before the tree too: no product feeding it is contracted into a fused
    # multiply-add in one layout and not in another.
    a = jax.lax.optimization_barrier(jnp.moveaxis(a, axis, -1))
    n = a.shape[-1]
    width = 1 << max(n - 1, 0).bit_length()
    if width != n:
        a = jnp.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, width - n)])
    while a.shape[-1] > 1:
        half = a.shape[-1] // 2
        a = a[..., :half] + a[..., half:]
    # + 0: a reduction's start, so that a sum of negative zeros is +0, as jnp.sum's is. The
    # barrier keeps XLA from copying the tree into every element of each consumer (elementwise
    # adds are cheap to copy: measured, 8x the flops and 2.4x the refill loop's time, where
    # sums feed sums).
    total = jax.lax.optimization_barrier(a[..., 0] + 0 if n else jnp.zeros(a.shape[:-1], a.dtype))
    return jnp.expand_dims(total, axis) if keepdims else total


def token_dot(a, b) -> jax.Array:
    """`sum(a * b)` over the last axis, in `token_sum`'s order."""
    return token_sum(a * b)


def logsumexp(a, where) -> jax.Array:
    """`log sum_{where} exp(a)` over the last axis (`where` holds at least one True per row)."""
    top = jnp.max(jnp.where(where, a, -jnp.inf), axis=-1, keepdims=True)
    top = jax.lax.stop_gradient(jnp.where(jnp.isfinite(top), top, 0))
    return jnp.log(token_sum(jnp.exp(a - top), where=where)) + top[..., 0]


def softmax(a, where) -> jax.Array:
    """`exp(a) / sum_{where} exp(a)` over the last axis, 0 where `where` is False."""
    top = jnp.max(jnp.where(where, a, -jnp.inf), axis=-1, keepdims=True)
    top = jax.lax.stop_gradient(jnp.where(jnp.isfinite(top), top, 0))
    weights = jnp.where(where, jnp.exp(a - top), 0)
    return weights / token_sum(weights, keepdims=True)


def rms_norm(tree) -> jax.Array:
    """The root mean square of every element of `tree` (lineax's `rms_norm`), in `token_sum`'s
    order: the step-size controller's error norm. No gradient flows through it (the controller
    only compares it and raises it to powers under `stop_gradient`)."""
    leaves = [jnp.asarray(leaf) for leaf in jax.tree.leaves(jax.lax.stop_gradient(tree))]
    size = sum(leaf.size for leaf in leaves)
    if size == 0:
        return jnp.zeros((), jnp.result_type(*leaves) if leaves else float)
    total = sum(token_sum(jnp.ravel(leaf * leaf)) for leaf in leaves)
    return jnp.sqrt(total / size)
