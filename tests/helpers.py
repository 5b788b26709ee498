"""Shared builders and measurements for the tests."""

from __future__ import annotations

import functools

import numpy as np

import thermo_ode as to


def random_system(rng, batch=(), n=6, temperature=1.0, mass=1.0, damping_ratio=0.5, scale=1.0, mask=None):
    """Energies with `E/T ~ N(0, scale^2)` and damping set from a damping ratio."""
    temperature = np.broadcast_to(np.asarray(temperature, float), batch)
    mass = np.broadcast_to(np.asarray(mass, float), batch)
    energies = scale * rng.normal(size=batch + (n,)) * temperature[..., None]
    damping = 2 * np.asarray(damping_ratio) * np.sqrt(mass * temperature)
    return to.AttentionSystem(energies, temperature, mass, damping, mask=mask)


def near_equilibrium_start(system, rng, size=0.3):
    """`rho* (1 + eps)` with a random `eps` of relative size `size`, masked tokens 0."""
    star = np.asarray(to.equilibrium(system))
    eps = size * rng.uniform(-1, 1, size=star.shape)
    rho = np.where(np.asarray(system.mask), star * (1 + eps), 0)
    return rho / rho.sum(-1, keepdims=True)


def uniform_start(system):
    mask = np.asarray(system.mask, float)
    return mask / mask.sum(-1, keepdims=True)


def crossing_times(t, signal):
    """Times where `signal` changes sign, by linear interpolation between samples."""
    s = np.asarray(signal)
    i = np.where(np.sign(s[:-1]) * np.sign(s[1:]) < 0)[0]
    return t[i] - s[i] * (t[i + 1] - t[i]) / (s[i + 1] - s[i])


def log_slope_of_peaks(t, d, low, high):
    """Slope of log(d) at its local maxima inside `low < d < high` (oscillating decay)."""
    inside = (d > low) & (d < high)
    peaks = np.where((d[1:-1] > d[:-2]) & (d[1:-1] > d[2:]) & inside[1:-1])[0] + 1
    assert len(peaks) >= 4, f"only {len(peaks)} peaks in the fitting window"
    return np.polyfit(t[peaks], np.log(d[peaks]), 1)[0]


def log_slope(t, d, low, high):
    inside = (d > low) & (d < high)
    assert inside.sum() >= 20, f"only {inside.sum()} samples in the fitting window"
    return np.polyfit(t[inside], np.log(d[inside]), 1)[0]


def sphere_rhs_physical(energies, temperature, mass, damping, mask):
    """The sphere-chart equations of docs/physics.md, section 3, in physical time, in plain numpy
    (an independent implementation for scipy to integrate)."""
    live = np.asarray(mask)

    def rhs(t, y):
        n = len(y) // 2
        x, v = y[:n], y[n:]
        rho = x**2 / 4
        log_rho = np.log(np.where(rho > 0, rho, 1.0))
        grad_v = np.where(live, 0.5 * x * (energies + temperature * log_rho + temperature), 0)
        f = -grad_v - damping * v
        mu = -(mass * v @ v + x @ f) / (x @ x)
        return np.concatenate([v, np.where(live, (f + mu * x) / mass, 0)])

    return rhs


_TRACE_COUNTS: dict[tuple[str, str], list[int]] = {}


def count_traces(module, name: str):
    """A counter of the traces of the jit-compiled `module.name` (an `eqx.filter_jit` function,
    found by the library's callers as that module attribute): the first call replaces it, once
    per process, by the same function compiled again with a body that counts each trace; the
    counter returns the traces so far. Tests compare counts before and after a call."""

    key = (module.__name__, name)
    if key not in _TRACE_COUNTS:
        body = getattr(module, name).__wrapped__
        count = _TRACE_COUNTS[key] = [0]

        def counted(*args, **kwargs):
            count[0] += 1
            return body(*args, **kwargs)

        functools.update_wrapper(counted, body)
        from thermo_ode import programs

        setattr(module, name, programs.program(counted))  # the library's compile options kept
    return lambda: _TRACE_COUNTS[key][0]
