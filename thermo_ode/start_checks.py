"""The rules a start must follow, each stated once and applied two ways.

`simulate` checks concrete values on the host before anything compiles (`on_host`: a
`ValueError` naming the argument, the value and its index); `solve` checks its concrete values
the same way and its traced ones as equinox runtime errors (`traced`: one error per rule). Both
read the same `START_RULES`.
Also the host-side shaping of the inputs and the checks of the counts and keys.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _checks, rules
from .rules import NORMALISATION_TOL


class Start(NamedTuple):
    """The values the rules read: one system's (traced) or a batch's (host, `(...)` in front)."""

    rho0: Any  # (..., N)
    velocity0: Any  # (..., N)
    mask: Any  # (..., N)
    t1: Any  # (...)
    ts: Any  # (..., S)
    bath_temperature: Any  # (...)
    dt: Any = None  # (...), or None for adaptive steps
    max_steps: Any = None


class Part(NamedTuple):
    """One way a rule is broken: `broken(xp, start)` is True where it is; `shown(xp, start)`
    (same shape) is the value a host message quotes. `words` may name `{value}`, `{index}`
    and the fields of `Start`; else ", found {value} at index {index}" follows them."""

    words: str
    broken: Callable
    shown: Callable


class StartRule(NamedTuple):
    """A rule: `requirement` is the traced error's message; `parts` say how it can break."""

    requirement: str
    parts: tuple[Part, ...]
    fixed_step: bool = False  # applies only when a dt is given


def _part(words: str, broken: Callable, shown: Callable | None = None, argument: str = "") -> Part:
    return Part(words, broken, shown or (lambda xp, s: getattr(s, argument)))


def _finite_and(name: str, sign: str, broken_sign: Callable) -> StartRule:
    """`name` finite and `sign` (`"> 0"`, `">= 0"`)."""
    value = lambda xp, s: getattr(s, name)
    return StartRule(
        f"{name} must be finite and {sign}",
        (
            _part(f"{name} must be finite", lambda xp, s: ~xp.isfinite(value(xp, s)), value),
            _part(f"{name} must be {sign}", lambda xp, s: broken_sign(value(xp, s)), value),
        ),
    )


def _velocity_drift(xp, s):
    return xp.abs(xp.sum(s.velocity0, axis=-1))


def _velocity_scale(xp, s):
    return NORMALISATION_TOL * xp.maximum(1.0, xp.sum(xp.abs(s.velocity0), axis=-1))


# A zero on an unmasked token is an invariant face of the simplex (docs/physics.md, section 12).
_FACE = (
    "rho0 is 0 on unmasked token: that face of the simplex is invariant and the trajectory can never "
    "reach softmax (docs/physics.md, section 12); start inside the simplex or mask the token"
)

START_RULES = (
    _finite_and("rho0", ">= 0", lambda rho: rho < 0),
    StartRule(
        "rho0 must be 0 on masked tokens",
        (_part("rho0 must be 0 on masked tokens", lambda xp, s: ~s.mask & (s.rho0 != 0), argument="rho0"),),
    ),
    StartRule(_FACE, (_part(_FACE + " (index {index})", lambda xp, s: s.mask & (s.rho0 == 0), argument="rho0"),)),
    StartRule(
        f"rho0 must sum to 1 within {NORMALISATION_TOL}",
        (
            _part(
                f"rho0 must sum to 1 within {NORMALISATION_TOL}, sums to {{value}} at batch index {{index}}",
                lambda xp, s: xp.abs(xp.sum(s.rho0, axis=-1) - 1) > NORMALISATION_TOL,
                lambda xp, s: xp.sum(s.rho0, axis=-1),
            ),
        ),
    ),
    StartRule(
        "velocity0 must be finite",
        (_part("velocity0 must be finite", lambda xp, s: ~xp.isfinite(s.velocity0), argument="velocity0"),),
    ),
    StartRule(
        "velocity0 must be 0 on masked tokens",
        (
            _part(
                "velocity0 must be 0 on masked tokens", lambda xp, s: ~s.mask & (s.velocity0 != 0), argument="velocity0"
            ),
        ),
    ),
    StartRule(
        "velocity0 must be tangent to the simplex (sum to 0)",
        (
            _part(
                "velocity0 must be tangent to the simplex (sum to 0), sums to {value} at batch index {index}",
                lambda xp, s: _velocity_drift(xp, s) > _velocity_scale(xp, s),
                lambda xp, s: xp.sum(s.velocity0, axis=-1),
            ),
        ),
    ),
    _finite_and("t1", "> 0", lambda t1: t1 <= 0),
    StartRule(
        "ts must be non-decreasing in [0, t1]",
        (
            _part("ts must be finite", lambda xp, s: ~xp.isfinite(s.ts), argument="ts"),
            _part(
                "ts must be non-decreasing",
                lambda xp, s: s.ts[..., 1:] < s.ts[..., :-1],
                lambda xp, s: s.ts[..., 1:],
            ),
            _part("ts must lie in [0, t1]", lambda xp, s: (s.ts < 0) | (s.ts > s.t1[..., None]), argument="ts"),
        ),
    ),
    _finite_and("bath_temperature", ">= 0", lambda bath: bath < 0),
    _finite_and("dt", "> 0", lambda dt: dt <= 0)._replace(fixed_step=True),
    StartRule(
        "dt must be at most t1",
        (_part("dt = {value} is longer than t1 at batch index {index}", lambda xp, s: s.dt > s.t1, argument="dt"),),
        fixed_step=True,
    ),
    StartRule(
        "dt: t1/dt needs more than max_steps steps",
        (
            _part(
                "dt: t1/dt needs {value:.0f} steps, more than max_steps = {max_steps}; raise max_steps or dt",
                lambda xp, s: fixed_step_count(s.t1, s.dt) > s.max_steps,
                lambda xp, s: fixed_step_count(s.t1, s.dt),
            ),
        ),
        fixed_step=True,
    ),
)


def fixed_step_count(t1, dt):
    """Whole steps of at most `dt` that reach `t1`; a ratio within rounding of an integer is
    that integer. Works on numpy (host checks) and jax arrays alike."""
    xp = jnp if isinstance(t1, jax.Array) or isinstance(dt, jax.Array) else np
    ratio = t1 / dt
    return xp.where(xp.abs(ratio - xp.round(ratio)) <= 1e-9 * ratio, xp.round(ratio), xp.ceil(ratio))


def _applying(start: Start):
    return (rule for rule in START_RULES if start.dt is not None or not rule.fixed_step)


def on_host(start: Start, skip_traced: bool = False) -> None:
    """Raise a `ValueError` for the first broken rule, quoting the value and where it is.

    `skip_traced`: the start may hold tracers (`solve` under a transformation); a part that
    reads one cannot be evaluated here (jax refuses to make it a numpy array) and is left to
    `traced`, the others are checked now."""
    for rule in _applying(start):
        for part in rule.parts:
            try:
                bad = np.asarray(part.broken(np, start))
            except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
                if not skip_traced:
                    raise
                continue
            if bad.any():
                index = _checks.first_index(bad) if bad.ndim else ()
                value = np.asarray(part.shown(np, start))[index]
                fields = dict(start._asdict(), value=value, index=index)
                words = (
                    part.words
                    if "{value" in part.words or "{index" in part.words
                    else part.words + ", found {value} at index {index}"
                )
                raise ValueError(words.format(**fields))


def traced(start: Start, checked):
    """`checked` (an array) carrying an equinox runtime error for every rule `start` breaks."""
    for rule in _applying(start):
        bad = jnp.zeros((), bool)
        for part in rule.parts:
            bad = bad | jnp.any(part.broken(jnp, start))
        checked = eqx.error_if(checked, bad, rule.requirement)
    return checked


def check_counts(max_steps, saves) -> None:
    """`max_steps` and `saves` are ints in range (`solve` and `simulate` alike)."""
    for name, value, low in (("max_steps", max_steps, 1), ("saves", saves, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    if max_steps > rules.MAX_STEPS:
        raise ValueError(
            f"max_steps must be at most {rules.MAX_STEPS} (the solvers count steps in 32 bits), got {max_steps}"
        )


def check_tolerance_types(rtol, atol) -> None:
    """`rtol`/`atol` are None (the precision's default) or finite floats > 0."""
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a float, got {type(value).__name__}")
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value}")


def key_array(key):
    """`key` as a typed key array: a `jax.random.key` (or an array of them) as it is, a legacy
    `jax.random.PRNGKey` (uint32 data, last axis 2) wrapped by `jax.random.wrap_key_data`."""
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if isinstance(key, (jax.Array, np.ndarray)) and key.dtype == np.uint32 and key.ndim >= 1 and key.shape[-1] == 2:
        return jax.random.wrap_key_data(key)
    raise TypeError(
        "key must be a jax.random.key, a legacy jax.random.PRNGKey (uint32, shape (..., 2)), or an array of "
        f"either, got {type(key).__name__}"
        + (f" of dtype {key.dtype} and shape {key.shape}" if hasattr(key, "dtype") else "")
    )


def system_keys(key, batch: tuple):
    """One key per system, flat in the caller's order: split one key, or take a key array."""
    key = key_array(key)
    nb = math.prod(batch)
    if key.shape == ():
        return jax.random.split(key, nb)
    if key.shape != tuple(batch):
        raise ValueError(f"key: an array of keys must have the batch shape {tuple(batch)}, got {key.shape}")
    return key.reshape(nb)
