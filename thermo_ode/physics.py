"""Thermodynamics of an `AttentionSystem`: pure, batched functions (docs/physics.md, section 6).

Sums run over unmasked tokens only; masked tokens have `rho = 0` and contribute nothing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp, xlogy

from .system import AttentionSystem


def _neg_beta_energies(system: AttentionSystem):
    return -system.energies / system.temperature[..., None]


def equilibrium(system: AttentionSystem):
    """The softmax equilibrium `rho* = softmax(-E/T)` over unmasked tokens (eq. 22)."""
    logits = jnp.where(system.mask, _neg_beta_energies(system), -jnp.inf)
    return jax.nn.softmax(logits, axis=-1, where=system.mask)


def log_partition(system: AttentionSystem):
    """`ln Z`, `Z = sum exp(-E_i / T)` over unmasked tokens."""
    return logsumexp(_neg_beta_energies(system), axis=-1, where=system.mask)


def partition_function(system: AttentionSystem):
    """`Z = sum exp(-E_i / T)`; overflows for `|E/T|` beyond ~700 in float64: prefer `log_partition`."""
    return jnp.exp(log_partition(system))


def internal_energy(rho, system: AttentionSystem):
    """`U = <E>_rho`."""
    return jnp.sum(jnp.where(system.mask, rho * system.energies, 0), axis=-1)


def entropy(rho, mask=None):
    """`S = -sum rho ln rho` (0 ln 0 = 0)."""
    terms = -xlogy(rho, rho)
    if mask is not None:
        terms = jnp.where(mask, terms, 0)
    return jnp.sum(terms, axis=-1)


def free_energy(rho, system: AttentionSystem):
    """`F(rho) = <E>_rho - T S(rho)`, the potential of the dynamics (eq. 12)."""
    return internal_energy(rho, system) - system.temperature * entropy(rho, system.mask)


def equilibrium_free_energy(system: AttentionSystem):
    """`F* = -T ln Z`, the minimum of `F` over the simplex."""
    return -system.temperature * log_partition(system)


def heat_capacity(system: AttentionSystem):
    """`C = Var_{rho*}(E) / T^2 = dU*/dT` at equilibrium."""
    rho = equilibrium(system)
    mean = internal_energy(rho, system)
    centred = jnp.where(system.mask, system.energies - mean[..., None], 0)
    return jnp.sum(rho * centred**2, axis=-1) / system.temperature**2


def kinetic_energy(rho, rho_dot, system: AttentionSystem):
    """`K = (m/2) sum rho_dot^2 / rho`, the Fisher–Rao kinetic term (eq. 11)."""
    live = system.mask & (rho > 0)
    safe = jnp.where(live, rho, 1)
    return 0.5 * system.mass * jnp.sum(jnp.where(live, rho_dot**2 / safe, 0), axis=-1)


def hamiltonian(rho, rho_dot, system: AttentionSystem):
    """`H = K + F`: conserved when `damping = 0`, non-increasing otherwise."""
    return kinetic_energy(rho, rho_dot, system) + free_energy(rho, system)
