"""The numbers of every point of a sweep against its precision: the tolerances it can resolve,
the parameters and their ratios it can hold, and the end time and fixed steps in its range and
within max_steps. Run after the other rules hold (`checks.semantic_problems`); each problem is
`(key path, message)`.
"""

from __future__ import annotations

import math
import typing

import numpy as np

from ... import rules
from ...formulas import damping_from_ratio, decay_rate, natural_frequency
from .schema import Config, spec_to_physical

if typing.TYPE_CHECKING:
    from .loaded_config import LoadedConfig

SQUARED = ("damping / mass", "energy spread / temperature")  # quantities the error norm squares


def _parameter_grid(cfg: Config) -> dict[str, np.ndarray]:
    """Temperature, mass and damping of every combination of the axes they depend on (each
    point's, without the energies, which they do not depend on)."""
    by_damping = cfg.damping_key == "damping"
    T, m, x = (
        a.reshape(-1)
        for a in np.meshgrid(cfg.values("temperature"), cfg.values("mass"), cfg.values(cfg.damping_key), indexing="ij")
    )
    with np.errstate(all="ignore"):
        gamma = x if by_damping else damping_from_ratio(x, m, T)
    return dict(temperature=T, mass=m, damping=gamma)


def precision_problems(loaded: LoadedConfig) -> list[tuple[tuple, str]]:
    """Tolerances the precision cannot resolve, parameters or ratios of them it cannot hold,
    and fixed steps that do not fit the end time or max_steps, at every point."""
    cfg = loaded.config
    integrate, precision = cfg.integrate, cfg.precision
    problems: list[tuple[tuple, str]] = []
    found = rules.tolerance_problem(*cfg.tolerances, precision)
    if found:
        name, message = found
        given = getattr(integrate, name) is not None
        problems.append(
            (("integrate", name) if given else ("precision",), message if given else f"default {name} {message}")
        )
    p = _parameter_grid(cfg)
    T, m, gamma = p["temperature"], p["mass"], p["damping"]
    tiny, huge = rules.TINY[precision], rules.HUGE[precision]
    baths = cfg.values("bath_temperature")
    damping_key = cfg.key_path(cfg.damping_key)  # the rules before these allow one of the two
    with np.errstate(all="ignore"):
        spread = _energy_spread(loaded)
        quantities = {
            "temperature": (T, cfg.key_path("temperature")),
            "mass": (m[m > 0], cfg.key_path("mass")),
            "damping": (gamma[gamma > 0], damping_key),
            "bath_temperature": (baths[baths > 0], cfg.key_path("bath_temperature")),
            "temperature / mass": ((T / m)[m > 0], ("system", "mass")),
            "damping / mass": ((gamma / m)[(m > 0) & (gamma > 0)], damping_key),
            "temperature / damping": ((T / gamma)[gamma > 0], damping_key),
            "energy spread / temperature": (spread / T if spread > 0 else np.array([]), ("system", "temperature")),
        }
    for name, (values, loc) in quantities.items():
        values = values[~np.isnan(values)] if np.ndim(values) else np.atleast_1d(values)
        # Rates and energy ratios enter the solver's error norm squared: their squares must fit.
        top, why = (math.sqrt(huge), ", squared by the solver's error norm") if name in SQUARED else (huge, "")
        bad = (np.abs(values) < tiny) | (np.abs(values) > top) | ~np.isfinite(values)
        if bad.any():
            value = values[bad][0]
            problems.append(
                (
                    loc,
                    f"{name} = {value:.3g} cannot be represented in {precision} (normal numbers "
                    f"{tiny:.3g} to {top:.3g}{why}); the run would compute NaN or infinity",
                )
            )
            return problems
    return problems + _time_problems(cfg, T, m, gamma)


def _energy_spread(loaded: LoadedConfig) -> float:
    """The widest spread of energies in the sweep: exact for fixed energies, 12 standard
    deviations for Gaussian ones (0 where it is bounded by construction)."""
    cfg = loaded.config
    if loaded.energies is not None:
        return float(np.ptp(loaded.energies))
    if cfg.system.energies.kind == "gaussian":
        return 12 * float(np.max(cfg.values("scale")))
    return 0.0


def _time_problems(cfg: Config, T, m, gamma) -> list[tuple[tuple, str]]:
    """The end time and step in the precision's range, and the step against the end time and
    max_steps, at every combination of parameters (both may be written in natural time or
    relaxation times, so they differ from point to point)."""
    integrate, precision = cfg.integrate, cfg.precision
    specs = {"t1": integrate.t1}
    specs.update({name: getattr(integrate, name) for name in ("dt", "burn_in") if getattr(integrate, name) is not None})
    with np.errstate(all="ignore"):
        relaxation = 1 / decay_rate(T, m, gamma)
        omega0 = np.where(m > 0, natural_frequency(T, np.where(m > 0, m, 1)), np.inf)
        times = {name: spec_to_physical(spec, omega0, relaxation) for name, spec in specs.items()}
    if "burn_in" in times and (times["burn_in"] > times["t1"]).any():
        i = int(np.argmax(times["burn_in"] > times["t1"]))
        return [
            (
                ("integrate", "burn_in"),
                f"is {times['burn_in'][i]:.4g} in physical time, after t1 = {times['t1'][i]:.4g} at "
                f"temperature {T[i]:.4g}, mass {m[i]:.4g}: the time averages would hold no save",
            )
        ]
    for name, values in times.items():
        if name == "burn_in":
            continue  # 0 is allowed, and it was compared with t1 above
        bad = ~np.isfinite(values) | (values < rules.TINY[precision]) | (values > rules.HUGE[precision])
        if bad.any():
            i = int(np.argmax(bad))
            return [
                (
                    ("integrate", name),
                    f"is {values[i]:.4g} in physical time at temperature {T[i]:.4g}, mass {m[i]:.4g}: "
                    f"not a normal {precision} number",
                )
            ]
    with np.errstate(all="ignore"):
        units = times["t1"] * np.maximum(np.where(np.isfinite(omega0), omega0, 0), 1 / relaxation)  # natural time units
    most = math.sqrt(rules.HUGE[precision])
    if not (units <= most).all():
        i = int(np.argmax(~(units <= most)))
        return [
            (
                ("integrate", "t1"),
                f"is {units[i]:.4g} natural time units at temperature {T[i]:.4g}, mass {m[i]:.4g}: more than "
                f"the {most:.3g} the solver's arithmetic in {precision} can hold",
            )
        ]
    if integrate.dt is None:
        return []
    t1, dt = times["t1"], times["dt"]
    if (dt > t1).any():
        i = int(np.argmax(dt > t1))
        return [
            (
                ("integrate", "dt"),
                f"is {dt[i]:.4g} in physical time, longer than t1 = {t1[i]:.4g} at temperature {T[i]:.4g}, "
                f"mass {m[i]:.4g}, damping {gamma[i]:.4g}",
            )
        ]
    with np.errstate(all="ignore"):
        steps = np.ceil(t1 / dt * (1 - 1e-9))
    if not (steps <= integrate.max_steps).all():
        i = int(np.argmax(~(steps <= integrate.max_steps)))
        return [
            (
                ("integrate", "max_steps"),
                f"is {integrate.max_steps} but t1/dt needs {steps[i]:,.4g} fixed steps at "
                f"temperature {T[i]:.4g}, mass {m[i]:.4g}; raise max_steps (at most {rules.MAX_STEPS}) or dt",
            )
        ]
    return []
