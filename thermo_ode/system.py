"""`AttentionSystem`: the energies, temperature, mass, damping and mask of one or many heads."""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
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
    """

    energies: Float[Array, "*batch N"]
    temperature: Float[Array, "*batch"]
    mass: Float[Array, "*batch"]
    damping: Float[Array, "*batch"]
    mask: Bool[Array, "*batch N"]

    def __init__(self, energies, temperature, mass=1.0, damping=0.0, mask=None):
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
    def from_qk(cls, q, k, mask=None, temperature=None, mass=1.0, damping=0.0) -> AttentionSystem:
        """Energies `E_ij = -q_i . k_j` for every query row: `q (..., n_q, d)`, `k (..., n_k, d)`.

        The result has batch shape `(..., n_q)` and `N = n_k` tokens. `mask` broadcasts to
        `(..., n_q, n_k)` (use `causal_mask`). The temperature defaults to `sqrt(d)`.
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
        return self.energies.shape[:-1]

    @property
    def num_tokens(self) -> int:
        return self.energies.shape[-1]

    @property
    def dtype(self):
        return self.energies.dtype

    def replace(self, **changes) -> AttentionSystem:
        """A copy with some parameters changed (validated like a new system)."""
        fields = dict(
            energies=self.energies,
            temperature=self.temperature,
            mass=self.mass,
            damping=self.damping,
            mask=self.mask,
        )
        fields.update(changes)
        return AttentionSystem(**fields)

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
