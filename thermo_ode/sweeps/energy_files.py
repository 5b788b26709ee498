"""Reading fixed energies: a `file` (`.npz` with `energies`, or `q` and `k`) or a `list` in the
config."""

from __future__ import annotations

import typing

import numpy as np

from ..formulas import energies_from_qk
from .schema import ListEnergies

if typing.TYPE_CHECKING:
    from .loading import LoadedConfig


def fixed_energies(loaded: LoadedConfig) -> np.ndarray:
    """Energies of `file`/`list` kinds as `(N,)` or `(Q, N)`."""
    e = loaded.config.system.energies
    if isinstance(e, ListEnergies):
        arr = np.asarray(e.values, float)
        if arr.ndim == 2 and len({len(r) for r in e.values}) != 1:
            raise ValueError("rows must all have the same length")
    else:
        path = (loaded.base_dir / e.path).resolve()
        if not path.is_file():
            raise ValueError(f"no such file: {path}")
        with np.load(path) as data:
            if "energies" in data:
                arr = np.asarray(data["energies"], float)
            elif "q" in data and "k" in data:
                q, k = np.asarray(data["q"], float), np.asarray(data["k"], float)
                q = q[None] if q.ndim == 1 else q
                if q.ndim != 2 or k.ndim != 2 or q.shape[1] != k.shape[1]:
                    raise ValueError(f"q and k must be (Q, d) and (N, d), got {q.shape} and {k.shape}")
                arr = energies_from_qk(q, k)
            else:
                raise ValueError(f"{path.name} must hold 'energies' or both 'q' and 'k', has {sorted(data.files)}")
    if arr.ndim not in (1, 2) or arr.shape[-1] == 0:
        raise ValueError(f"energies must have shape (N,) or (Q, N), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("energies must be finite")
    return arr
