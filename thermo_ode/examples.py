"""Built-in example inputs (no files, no downloads)."""

from __future__ import annotations

import numpy as np


def random_qk(n_tokens: int, d_k: int, seed: int = 0, n_queries: int | None = None):
    """Isotropic Gaussian queries and keys, `q (n_queries, d_k)` and `k (n_tokens, d_k)`, as in a
    freshly initialised attention head: `q . k` has variance `d_k`."""
    rng = np.random.default_rng(seed)
    n_queries = n_tokens if n_queries is None else n_queries
    return rng.normal(size=(n_queries, d_k)), rng.normal(size=(n_tokens, d_k))
