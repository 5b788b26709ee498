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
    """Boolean `(n_q, n_k)` mask: query `i` sees keys `0..i` (keys aligned to the last queries)."""
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
