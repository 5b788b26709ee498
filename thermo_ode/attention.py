"""Attention whose weights are the state of the Lagrangian dynamics at a finite time.

`LagrangianAttention` is an equinox module built on `solve`: each query row starts from the
uniform distribution over the keys it sees and moves for a time `time` under the dynamics
with energies `E = -q.k`, temperature, mass and damping; the weights are where it is then.
As `time -> infinity` (with damping) they are `softmax(q.k / T)`, ordinary attention. Every
parameter, `time` included, is differentiable, so the layer can be trained or probed like any
other: attention with inertia.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from .core import solve
from .formulas import energies_from_qk
from .system import AttentionSystem


class LagrangianAttention(eqx.Module):
    """`__call__(q (n_q, d), k (n_k, d), v (n_k, d_v), mask (n_q, n_k) | None) -> (n_q, d_v)`.

    Written for one head (vmap over heads and batches, as equinox layers are). The fields are
    arrays, hence parameters under `eqx.filter_grad`: `temperature` (`T`; `sqrt(d)` is the
    transformer's), `mass`, `damping` (both > 0) and `time` (> 0, physical). `rtol`/`atol` are
    the solver's tolerances (static).

        layer = LagrangianAttention(temperature=8.0, mass=1.0, damping=4.0, time=5.0)
        out = layer(q, k, v)                                  # (n_q, d_v)
        weights = layer.weights(q, k)                         # (n_q, n_k), rows on the simplex
    """

    temperature: Float[Array, ""]
    mass: Float[Array, ""]
    damping: Float[Array, ""]
    time: Float[Array, ""]
    rtol: float = eqx.field(static=True, default=1e-8)
    atol: float = eqx.field(static=True, default=1e-10)

    def __init__(self, temperature, mass=1.0, damping=1.0, time=10.0, rtol: float = 1e-8, atol: float = 1e-10):
        self.temperature, self.mass, self.damping, self.time = (
            jnp.asarray(x, float) for x in (temperature, mass, damping, time)
        )
        self.rtol, self.atol = rtol, atol

    def weights(self, q, k, mask: Bool[Array, "n_q n_k"] | None = None) -> Float[Array, "n_q n_k"]:
        """The attention weights: each row's state at `time`, from the uniform start."""
        energies = energies_from_qk(q, k)
        mask = jnp.ones(energies.shape, bool) if mask is None else jnp.broadcast_to(mask, energies.shape)

        def row(e, live):
            system = AttentionSystem(e, self.temperature, self.mass, self.damping, mask=live)
            start = live / jnp.sum(live)
            traj = solve(system, start, self.time, saves=2, rtol=self.rtol, atol=self.atol, first_order=False)
            return traj.rho[-1]

        return jax.vmap(row)(energies, mask)

    def __call__(self, q, k, v, mask=None) -> Float[Array, "n_q d_v"]:
        return self.weights(q, k, mask) @ v
