"""Closed forms shared by the library (on jax arrays) and the host layers (on numpy): each lives
here once. They use operators only, so they work on either kind of array, and this module
imports no jax, so the config layer (`thermo-ode validate`) can use them without it.
"""

from __future__ import annotations

import numpy as np


def energies_from_qk(q, k):
    """`E_ij = -q_i . k_j` for query rows `q (..., n_q, d)` and keys `k (..., n_k, d)`."""
    return -(q @ k.swapaxes(-1, -2))


def causal_mask(n_q: int, n_k: int | None = None) -> np.ndarray:
    """A boolean causal mask of shape `(n_q, n_k)`: query `i` sees keys `0..i`.

    `n_k` defaults to `n_q`; with more keys than queries, the queries are aligned to the last
    keys (query `i` sees keys `0..i + n_k - n_q`). Use it as the `mask` of
    `AttentionSystem.from_qk`.

    Examples:
        >>> import thermo_ode as to
        >>> to.causal_mask(3).astype(int).tolist()
        [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
        >>> to.causal_mask(2, 3).astype(int).tolist()
        [[1, 1, 0], [1, 1, 1]]
    """
    n_k = n_q if n_k is None else n_k
    return np.tril(np.ones((n_q, n_k), bool), k=n_k - n_q)


def natural_frequency(temperature, mass):
    """`omega0 = sqrt(T/m)`: every mode's frequency in the linear theory (m > 0)."""
    return (temperature / mass) ** 0.5


def damping_ratio(damping, mass, temperature):
    """`zeta = gamma / (2 sqrt(m T))` (m > 0)."""
    return damping / (2 * (mass * temperature) ** 0.5)


def damping_from_ratio(ratio, mass, temperature):
    """`gamma = 2 zeta sqrt(m T)`, the inverse of `damping_ratio`."""
    return 2 * ratio * (mass * temperature) ** 0.5


def equipartition(live_tokens, bath_temperature):
    """`<K> = (N - 1) T_b / 2`: the kinetic energy a heat bath gives the `N - 1` free directions
    of `N` live tokens."""
    return (live_tokens - 1) * bath_temperature / 2


# Damping ratios within this relative distance of 1 count as critical.
CRITICAL_RTOL = 1e-9


def decay_rate(temperature, mass, damping, xp=np):
    """The linear theory's slowest decay rate of the distance to softmax: `gamma/(2m)`
    underdamped, `omega0` critical, `omega0 (zeta - sqrt(zeta^2 - 1))` overdamped, `T/gamma`
    for m = 0. `xp` is the array module (numpy for host checks, jax.numpy in the library)."""
    massless = mass == 0
    safe_m = xp.where(massless, 1, mass)
    omega0 = natural_frequency(temperature, safe_m)
    zeta = xp.where(massless, 2.0, damping_ratio(damping, safe_m, temperature))
    critical = xp.abs(zeta - 1) <= CRITICAL_RTOL
    # omega0 / (zeta + sqrt(zeta^2 - 1)) is omega0 (zeta - sqrt(zeta^2 - 1)) without cancellation.
    over_rate = omega0 / (zeta + xp.sqrt(xp.clip(zeta**2 - 1, 0, None)))
    safe_gamma = xp.where(damping > 0, damping, 1)
    return xp.where(
        massless,
        temperature / safe_gamma,
        xp.where(critical, omega0, xp.where(zeta < 1, damping / (2 * safe_m), over_rate)),
    )
