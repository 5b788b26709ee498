"""Input checks that run on concrete values before anything is traced or compiled.

Every check names the argument it rejects. Inside a jax transformation the values are
tracers and cannot be inspected; the checks then do nothing (the caller is responsible).
"""

from __future__ import annotations

import jax
import numpy as np


def is_traced(*values) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for v in values for leaf in jax.tree.leaves(v))


def float_array(name: str, value) -> np.ndarray:
    """`value` as a numpy float array, or TypeError naming `name`."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a number or an array of numbers: {exc}") from None
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must be a real number or array of real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def first_index(bad: np.ndarray) -> tuple[int, ...]:
    """Index of the first True entry, for error messages."""
    return tuple(int(i) for i in np.argwhere(bad)[0])


def finite(name: str, arr: np.ndarray, where: np.ndarray | None = None) -> None:
    bad = ~np.isfinite(arr)
    if where is not None:
        bad = bad & where
    if bad.any():
        idx = first_index(bad)
        raise ValueError(f"{name} must be finite, found {arr[idx]} at index {idx}")


def positive(name: str, arr: np.ndarray) -> None:
    finite(name, arr)
    if (arr <= 0).any():
        raise ValueError(f"{name} must be > 0, got min {arr.min()}")


def nonnegative(name: str, arr: np.ndarray) -> None:
    finite(name, arr)
    if (arr < 0).any():
        raise ValueError(f"{name} must be >= 0, got min {arr.min()}")


def broadcastable(name: str, shape: tuple, target: tuple, what: str) -> None:
    try:
        out = np.broadcast_shapes(shape, target)
    except ValueError:
        out = None
    if out != tuple(target):
        raise ValueError(f"{name} has shape {shape}, which does not broadcast to {what} {tuple(target)}")


def per_token(name: str, value, shape: tuple) -> np.ndarray:
    """A float array `(..., N)` broadcast to `shape = batch + (N,)` (its values are the start
    rules', thermo_ode.start_checks)."""
    arr = float_array(name, value)
    if arr.ndim < 1 or arr.shape[-1] != shape[-1]:
        raise ValueError(f"{name} must have length N = {shape[-1]} on its last axis, got shape {arr.shape}")
    broadcastable(name, arr.shape, shape, "the system's shape")
    return np.broadcast_to(arr, shape)


def per_system(name: str, value, batch: tuple) -> np.ndarray:
    """A float scalar or per-system value broadcast to the batch shape (its values are the
    start rules', thermo_ode.start_checks)."""
    arr = float_array(name, value)
    broadcastable(name, arr.shape, batch, "the batch shape")
    return np.broadcast_to(arr, batch)


def rule_broken(exc: Exception) -> str:
    """The rule an equinox runtime error reports, out of the stacks it carries."""
    text = str(exc)
    marker = "EquinoxRuntimeError: "
    at = text.rfind(marker)
    return text[at + len(marker) :].splitlines()[0].strip() if at >= 0 else text.strip().splitlines()[-1]
