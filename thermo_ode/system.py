"""`AttentionSystem`: the energies, temperature, mass, damping and mask of one or many heads."""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike
from jaxtyping import Array, Bool, Float

from . import _checks
from .formulas import causal_mask, energies_from_qk

__all__ = ["AttentionSystem", "causal_mask"]


class AttentionSystem(eqx.Module):
    """A batch of attention distributions seen as physical systems (docs/physics.md, section 1).

    `energies` has shape `(..., N)`; `temperature`, `mass` and `damping` broadcast against the
    batch shape `(...)`; `mask` (True where a token exists) has shape `(..., N)`. All fields are
    stored broadcast to their full shapes. Masked tokens take no part in the dynamics: their
    energies are stored as 0 and may be given as anything, including `inf`.

    - `energies (..., N)`: the energies `E` of the tokens (e.g. `-q.k`, see `from_qk`).
    - `temperature`: `T > 0`, the weight of the entropy; softmax is `softmax(-E/T)`.
    - `mass`: `m >= 0` (default 1); 0 is the first-order gradient flow.
    - `damping`: `gamma >= 0` (default 0, conservative); `m` and `gamma` are not both 0.
    - `mask (..., N)`: boolean, True where a token exists (default all).

    Concrete values are checked when the system is made (`ValueError`/`TypeError` naming the
    argument); traced values (under `jax.jit`, `jax.vmap`) are not.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> energies = jnp.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])
        >>> system = to.AttentionSystem(energies, temperature=1.0, mass=1.0, damping=0.5)
        >>> system.batch_shape, system.num_tokens
        ((2,), 3)
        >>> system.damping.shape  # broadcast to the batch
        (2,)
        >>> system[1].energies.tolist()
        [2.0, 1.0, 0.0]
        >>> float(system.replace(temperature=2.0).temperature[0])
        2.0
    """

    energies: Float[Array, "*batch N"]
    temperature: Float[Array, "*batch"]
    mass: Float[Array, "*batch"]
    damping: Float[Array, "*batch"]
    mask: Bool[Array, "*batch N"]

    def __init__(
        self,
        energies: ArrayLike,
        temperature: ArrayLike,
        mass: ArrayLike = 1.0,
        damping: ArrayLike = 0.0,
        mask: ArrayLike | None = None,
    ) -> None:
        traced = _checks.is_traced(energies, temperature, mass, damping, mask)
        if not traced:
            energies, temperature, mass, damping, mask = _validated(energies, temperature, mass, damping, mask)
        energies = jnp.asarray(energies)
        if not jnp.issubdtype(energies.dtype, jnp.floating):
            energies = energies.astype(float)
        dtype = energies.dtype
        batch = energies.shape[:-1]
        mask = jnp.ones(energies.shape, bool) if mask is None else jnp.asarray(mask, bool)
        mask = jnp.broadcast_to(mask, energies.shape)
        self.mask = mask
        self.energies = jnp.where(mask, energies, 0).astype(dtype)
        self.temperature = jnp.broadcast_to(jnp.asarray(temperature, dtype), batch)
        self.mass = jnp.broadcast_to(jnp.asarray(mass, dtype), batch)
        self.damping = jnp.broadcast_to(jnp.asarray(damping, dtype), batch)

    @classmethod
    def from_qk(
        cls,
        q: ArrayLike,
        k: ArrayLike,
        mask: ArrayLike | None = None,
        temperature: ArrayLike | None = None,
        mass: ArrayLike = 1.0,
        damping: ArrayLike = 0.0,
    ) -> AttentionSystem:
        """The systems of an attention head, energies `E_ij = -q_i . k_j` for every query row.

        `q (..., n_q, d)`, `k (..., n_k, d)`. The result has batch shape `(..., n_q)` and
        `N = n_k` tokens. `mask` broadcasts to `(..., n_q, n_k)` (use `causal_mask`). The
        temperature defaults to `sqrt(d)`, so the equilibrium is the transformer's attention
        `softmax(q k^T / sqrt(d))`.

        Examples:
            >>> import jax, jax.numpy as jnp
            >>> import thermo_ode as to
            >>> q = jax.random.normal(jax.random.key(0), (4, 8))
            >>> k = jax.random.normal(jax.random.key(1), (5, 8))
            >>> system = to.AttentionSystem.from_qk(q, k, mask=to.causal_mask(4, 5))
            >>> system.batch_shape, system.num_tokens
            ((4,), 5)
            >>> attention = jax.nn.softmax(jnp.where(to.causal_mask(4, 5), q @ k.T / jnp.sqrt(8.0), -jnp.inf))
            >>> bool(jnp.allclose(to.equilibrium(system), attention, atol=1e-6))
            True
        """
        if not _checks.is_traced(q, k):
            qa, ka = _checks.float_array("q", q), _checks.float_array("k", k)
            for name, arr in (("q", qa), ("k", ka)):
                if arr.ndim < 2:
                    raise ValueError(f"{name} must have shape (..., n, d), got {arr.shape}")
                _checks.finite(name, arr)
            if qa.shape[-1] != ka.shape[-1]:
                raise ValueError(
                    f"q and k must share the feature size d: q has d={qa.shape[-1]}, k has d={ka.shape[-1]}"
                )
            try:
                np.broadcast_shapes(qa.shape[:-2], ka.shape[:-2])
            except ValueError:
                raise ValueError(
                    f"q batch shape {qa.shape[:-2]} and k batch shape {ka.shape[:-2]} do not broadcast"
                ) from None
        q, k = jnp.asarray(q), jnp.asarray(k)
        d = q.shape[-1]
        energies = energies_from_qk(q, k)
        if temperature is None:
            temperature = math.sqrt(d)
        return cls(energies, temperature, mass, damping, mask)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The batch shape `(...)`: the shape of `temperature`, `mass` and `damping`."""
        return self.energies.shape[:-1]

    @property
    def num_tokens(self) -> int:
        """`N`, the number of tokens (masked ones included)."""
        return self.energies.shape[-1]

    @property
    def dtype(self) -> np.dtype:
        """The floating-point type of every field but the mask."""
        return self.energies.dtype

    def replace(self, **changes: ArrayLike | None) -> AttentionSystem:
        """A copy with some parameters changed (validated like a new system)."""
        fields: dict[str, ArrayLike | None] = dict(
            energies=self.energies,
            temperature=self.temperature,
            mass=self.mass,
            damping=self.damping,
            mask=self.mask,
        )
        fields.update(changes)
        return AttentionSystem(**fields)  # type: ignore[arg-type]  # None only where allowed (mask)

    def __getitem__(self, index) -> AttentionSystem:
        """Index the batch dimensions, e.g. `system[0]` or `system[:, 2]`."""
        index = index if isinstance(index, tuple) else (index,)
        if len(index) > len(self.batch_shape):
            raise IndexError(f"too many indices for batch shape {self.batch_shape}")
        return AttentionSystem(
            self.energies[index],
            self.temperature[index],
            self.mass[index],
            self.damping[index],
            self.mask[index],
        )


def _validated(energies, temperature, mass, damping, mask):
    """Check concrete inputs; return them with the mask as a numpy bool array (or None)."""
    e = _checks.float_array("energies", energies)
    if e.ndim < 1:
        raise ValueError("energies must have shape (..., N) with N >= 1, got a scalar")
    if e.shape[-1] < 1:
        raise ValueError(f"energies must have at least one token, got shape {e.shape}")
    batch = e.shape[:-1]
    if mask is not None:
        m = np.asarray(mask)
        if m.dtype != bool:
            raise TypeError(
                f"mask must be a boolean array (True where the token exists), got dtype {m.dtype}; "
                "use mask.astype(bool)"
            )
        _checks.broadcastable("mask", m.shape, e.shape, "the energies' shape")
        m = np.broadcast_to(m, e.shape)
        if not m.any(axis=-1).all():
            idx = _checks.first_index(~m.any(axis=-1))
            raise ValueError(f"mask has no token at batch index {idx}: every system needs at least one")
        mask = m
    _checks.finite("energies", e, where=mask if mask is not None else None)
    params = {}
    for name, value in (("temperature", temperature), ("mass", mass), ("damping", damping)):
        arr = _checks.float_array(name, value)
        _checks.broadcastable(name, arr.shape, batch, "the batch shape")
        params[name] = np.broadcast_to(arr, batch)
    _checks.positive("temperature", params["temperature"])
    _checks.nonnegative("mass", params["mass"])
    _checks.nonnegative("damping", params["damping"])
    frozen = (params["mass"] == 0) & (params["damping"] == 0)
    if frozen.any():
        idx = _checks.first_index(frozen) if frozen.ndim else ()
        raise ValueError(
            f"mass and damping are both 0 at batch index {idx}: with no inertia and no friction the "
            "equation of motion is undefined; give mass > 0 or damping > 0"
        )
    return energies, temperature, mass, damping, mask
