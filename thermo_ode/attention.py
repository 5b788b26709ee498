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
from jax.typing import ArrayLike
from jaxtyping import Array, Float

from . import _checks
from .formulas import energies_from_qk
from .integration import solve
from .system import AttentionSystem


class LagrangianAttention(eqx.Module):
    """Attention whose weights are the state of the Lagrangian dynamics at time `time`.

    `__call__(q (n_q, d), k (n_k, d), v (n_k, d_v), mask (n_q, n_k) | None) -> (n_q, d_v)`.
    Written for one head (vmap over heads and batches, as equinox layers are). The fields are
    arrays, hence parameters under `eqx.filter_grad`: `temperature` (`T`; `sqrt(d)` is the
    transformer's), `mass`, `damping` (both > 0) and `time` (> 0, physical). `rtol`/`atol` are
    the solver's tolerances (static).

        layer = LagrangianAttention(temperature=8.0, mass=1.0, damping=4.0, time=5.0)
        out = layer(q, k, v)                                  # (n_q, d_v)
        weights = layer.weights(q, k)                         # (n_q, n_k), rows on the simplex

    Examples:
        After a long time with damping the layer is softmax attention; after a short one the
        weights have barely left the uniform start:

        >>> import jax, jax.numpy as jnp
        >>> import thermo_ode as to
        >>> q = jax.random.normal(jax.random.key(0), (2, 4))
        >>> k = jax.random.normal(jax.random.key(1), (3, 4))
        >>> v = jnp.eye(3)
        >>> layer = to.LagrangianAttention(temperature=2.0, mass=1.0, damping=4.0, time=20.0, rtol=1e-5, atol=1e-7)
        >>> out = layer(q, k, v)
        >>> out.shape
        (2, 3)
        >>> bool(jnp.allclose(out, jax.nn.softmax(q @ k.T / 2.0) @ v, atol=1e-4))
        True
        >>> early = to.LagrangianAttention(2.0, 1.0, 4.0, time=0.1, rtol=1e-5, atol=1e-7)
        >>> bool(jnp.allclose(early.weights(q, k), 1 / 3, atol=0.01))
        True
    """

    temperature: Float[Array, ""]
    mass: Float[Array, ""]
    damping: Float[Array, ""]
    time: Float[Array, ""]
    rtol: float = eqx.field(static=True, default=1e-8)
    atol: float = eqx.field(static=True, default=1e-10)

    def __init__(
        self,
        temperature: ArrayLike,
        mass: ArrayLike = 1.0,
        damping: ArrayLike = 1.0,
        time: ArrayLike = 10.0,
        rtol: float = 1e-8,
        atol: float = 1e-10,
    ) -> None:
        named = {"temperature": temperature, "mass": mass, "damping": damping, "time": time}
        for name, value in named.items():
            if not _checks.is_traced(value):  # a traced value is checked by `solve`, at run time
                label = f"LagrangianAttention: {name}"
                _checks.positive(label, _checks.float_array(label, value))
        for name, tolerance in (("rtol", rtol), ("atol", atol)):
            if not (isinstance(tolerance, (int, float)) and not isinstance(tolerance, bool) and 0 < tolerance < 1):
                raise ValueError(f"LagrangianAttention: {name} must be a number in (0, 1), got {tolerance!r}")
        self.temperature, self.mass, self.damping, self.time = (jnp.asarray(x, float) for x in named.values())
        self.rtol, self.atol = float(rtol), float(atol)

    def weights(self, q: ArrayLike, k: ArrayLike, mask: ArrayLike | None = None) -> Float[Array, "n_q n_k"]:
        """The attention weights `(n_q, n_k)`: each row's state at `time`, from the uniform start.

        `mask (n_q, n_k)` (broadcast; True where a key is seen) restricts each row to its keys.
        """
        energies = energies_from_qk(q, k)
        mask = jnp.ones(energies.shape, bool) if mask is None else jnp.broadcast_to(mask, energies.shape)

        def row(e, live):
            system = AttentionSystem(e, self.temperature, self.mass, self.damping, mask=live)
            start = live / jnp.sum(live)
            traj = solve(system, start, self.time, saves=2, rtol=self.rtol, atol=self.atol, first_order=False)
            return traj.rho[-1]

        return jax.vmap(row)(energies, mask)

    def __call__(
        self, q: ArrayLike, k: ArrayLike, v: ArrayLike, mask: ArrayLike | None = None
    ) -> Float[Array, "n_q d_v"]:
        """The attention output `weights(q, k, mask) @ v`, shape `(n_q, d_v)`."""
        return self.weights(q, k, mask) @ v
