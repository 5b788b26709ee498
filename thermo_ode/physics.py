"""Thermodynamics of an `AttentionSystem`: pure, batched functions (docs/physics.md, section 6).

Sums run over unmasked tokens only; masked tokens have `rho = 0` and contribute nothing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy
from jax.typing import ArrayLike

from .summation import logsumexp, softmax, token_sum
from .system import AttentionSystem


def _neg_beta_energies(system: AttentionSystem) -> jax.Array:
    return -system.energies / system.temperature[..., None]


def equilibrium(system: AttentionSystem) -> jax.Array:
    """The softmax equilibrium `rho* = softmax(-E/T)` over unmasked tokens (eq. 22).

    Returns an array of shape `(..., N)`, 0 on masked tokens.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> import thermo_ode as to
        >>> energies = jnp.array([0.0, 1.0, 2.0])
        >>> rho_star = to.equilibrium(to.AttentionSystem(energies, temperature=0.5))
        >>> bool(jnp.allclose(rho_star, jax.nn.softmax(-energies / 0.5)))
        True
        >>> masked = to.AttentionSystem(energies, 0.5, mask=jnp.array([True, True, False]))
        >>> [round(float(p), 3) for p in to.equilibrium(masked)]
        [0.881, 0.119, 0.0]
    """
    logits = jnp.where(system.mask, _neg_beta_energies(system), -jnp.inf)
    return softmax(logits, system.mask)


def log_partition(system: AttentionSystem) -> jax.Array:
    """The log partition function `ln Z`, `Z = sum exp(-E_i / T)` over unmasked tokens.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.array([0.0, 0.0, 0.0, 0.0]), temperature=1.0)
        >>> bool(jnp.isclose(to.log_partition(system), jnp.log(4.0)))
        True
    """
    return logsumexp(_neg_beta_energies(system), system.mask)


def partition_function(system: AttentionSystem) -> jax.Array:
    """The partition function `Z = sum exp(-E_i / T)` over unmasked tokens.

    It overflows for `|E/T|` beyond ~700 in float64 (~88 in float32): prefer `log_partition`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0]), temperature=1.0)
        >>> round(float(to.partition_function(system)), 4)  # 1 + exp(-1)
        1.3679
    """
    return jnp.exp(log_partition(system))


def internal_energy(rho: ArrayLike, system: AttentionSystem) -> jax.Array:
    """The internal energy `U = <E>_rho = sum rho_i E_i` over unmasked tokens.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0)
        >>> round(float(to.internal_energy(jnp.array([0.5, 0.25, 0.25]), system)), 4)
        0.75
    """
    return token_sum(rho * system.energies, where=system.mask)


def entropy(rho: ArrayLike, mask: ArrayLike | None = None) -> jax.Array:
    """The Shannon entropy `S = -sum rho ln rho` over the last axis (0 ln 0 = 0).

    `mask` (True where a token exists) leaves the other tokens out of the sum.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> bool(jnp.isclose(to.entropy(jnp.full(4, 0.25)), jnp.log(4.0)))  # uniform: ln N
        True
        >>> float(to.entropy(jnp.array([1.0, 0.0])))
        0.0
    """
    terms = -xlogy(rho, rho)
    if mask is not None:
        terms = jnp.where(mask, terms, 0)
    return token_sum(terms)


def free_energy(rho: ArrayLike, system: AttentionSystem) -> jax.Array:
    """The free energy `F(rho) = <E>_rho - T S(rho)`, the potential of the dynamics (eq. 12).

    Examples:
        Softmax minimises it, at `F* = -T ln Z`:

        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0)
        >>> at_softmax = to.free_energy(to.equilibrium(system), system)
        >>> bool(jnp.isclose(at_softmax, to.equilibrium_free_energy(system)))
        True
        >>> bool(to.free_energy(jnp.full(3, 1 / 3), system) > at_softmax)
        True
    """
    return internal_energy(rho, system) - system.temperature * entropy(rho, system.mask)


def equilibrium_free_energy(system: AttentionSystem) -> jax.Array:
    """The equilibrium free energy `F* = -T ln Z`, the minimum of `F` over the simplex.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.array([0.0, 0.0]), temperature=2.0)
        >>> round(float(to.equilibrium_free_energy(system)), 4)  # -2 ln 2
        -1.3863
    """
    return -system.temperature * log_partition(system)


def heat_capacity(system: AttentionSystem) -> jax.Array:
    """The heat capacity `C = Var_{rho*}(E) / T^2 = dU*/dT` at equilibrium.

    Examples:
        A two-level system, `C = (E/T)^2 p (1 - p)` with `p = 1 / (1 + exp(E/T))`:

        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0]), temperature=1.0)
        >>> p = 1 / (1 + jnp.exp(1.0))
        >>> bool(jnp.isclose(to.heat_capacity(system), p * (1 - p)))
        True
    """
    rho = equilibrium(system)
    mean = internal_energy(rho, system)
    centred = jnp.where(system.mask, system.energies - mean[..., None], 0)
    return token_sum(rho * centred**2) / system.temperature**2


def kinetic_energy(rho: ArrayLike, rho_dot: ArrayLike, system: AttentionSystem) -> jax.Array:
    """The Fisher–Rao kinetic energy `K = (m/2) sum rho_dot^2 / rho` (eq. 11).

    Tokens where `rho = 0` or that are masked contribute 0.

    Examples:
        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0]), temperature=1.0, mass=2.0)
        >>> rho, rho_dot = jnp.array([0.5, 0.5]), jnp.array([0.1, -0.1])
        >>> round(float(to.kinetic_energy(rho, rho_dot, system)), 4)  # (2/2) (0.01/0.5 + 0.01/0.5)
        0.04
    """
    rho = jnp.asarray(rho)
    live = system.mask & (rho > 0)
    safe = jnp.where(live, rho, 1)
    return 0.5 * system.mass * token_sum(rho_dot**2 / safe, where=live)


def hamiltonian(rho: ArrayLike, rho_dot: ArrayLike, system: AttentionSystem) -> jax.Array:
    """The total energy `H = K + F`: conserved when `damping = 0`, non-increasing otherwise.

    Examples:
        At rest `H` is the free energy:

        >>> import jax.numpy as jnp
        >>> import thermo_ode as to
        >>> system = to.AttentionSystem(jnp.array([0.0, 1.0, 2.0]), temperature=1.0)
        >>> rho = jnp.array([0.2, 0.3, 0.5])
        >>> bool(jnp.isclose(to.hamiltonian(rho, jnp.zeros(3), system), to.free_energy(rho, system)))
        True
    """
    return kinetic_energy(rho, rho_dot, system) + free_energy(rho, system)
