"""The rules of a sweep config that involve several keys or the sweep's values; each problem is
`(key path, message)`, located and formatted by `loading`. The rules shared with the library
(solver names, the mixed-mass rule, MiniLM's shape, the normalisation tolerance) come from
`thermo_ode.rules`."""

from __future__ import annotations

import math
import typing

import numpy as np

from .. import rules
from ..formulas import damping_from_ratio, decay_rate, natural_frequency
from . import limits
from .schema import INTEGER_KEYS, Config, ListInitial, MiniLMEnergies, RelaxationTimes, spec_to_physical

if typing.TYPE_CHECKING:
    from .loading import LoadedConfig

SWEEP_RULES = {
    # key: (lowest allowed, inclusive?)
    "temperature": (0.0, False),
    "mass": (0.0, True),
    "damping": (0.0, True),
    "damping_ratio": (0.0, True),
    "tokens": (1, True),
    "d_k": (1, True),
    "scale": (0.0, False),
    "alpha": (0.0, False),
    "bath_temperature": (0.0, True),
    "layer": (0, True),
    "head": (0, True),
}
SWEEP_RULES.update({key: (0, True) for key in ("seed", "initial_seed", "noise_seed")})
SWEEP_CEILINGS = {
    "layer": (rules.MINILM_LAYERS - 1, f"MiniLM has {rules.MINILM_LAYERS} layers"),
    "head": (rules.MINILM_HEADS - 1, f"MiniLM has {rules.MINILM_HEADS} heads"),
    **{key: (rules.MAX_SEED, "seeds are 32-bit") for key in ("seed", "initial_seed", "noise_seed")},
    "d_k": (rules.MAX_D_K, "each point draws its q and k vectors in memory"),
}


def size_problems(cfg: Config) -> list[tuple[tuple, str]]:
    """A grid whose per-point arrays cannot fit this machine's memory, found from the axes'
    lengths, before any axis is built."""
    lengths = {key: limits.axis_length(getattr(cfg.sweep, key)) for key in cfg.sweep.order}
    if not lengths:
        return []
    points = math.prod(lengths.values())
    need, available = limits.POINT_ARRAYS * 8 * points * (1 + len(lengths)), limits.available_memory()
    if need <= available:
        return []
    widest = max(lengths, key=lengths.__getitem__)
    shape = " x ".join(f"{key}[{n:,}]" for key, n in lengths.items())
    return [
        (
            ("sweep", widest),
            f"the grid has {points:,} points ({shape}); its per-point arrays alone need "
            f"{limits.human(need)}, more than the {limits.human(available)} of memory available here",
        )
    ]


def memory_problems(cfg: Config, sizes: limits.Sizes) -> list[tuple[tuple, str]]:
    """A chunk or the grid's per-point arrays that cannot fit this machine's memory."""
    available = limits.available_memory()
    problems: list[tuple[tuple, str]] = []
    if sizes.chunk_memory > available:
        loc = ("integrate", "chunk_size") if cfg.integrate.chunk_size > 1 else ("system", "tokens")
        problems.append(
            (
                loc,
                f"a chunk of {min(cfg.integrate.chunk_size, sizes.points)} points needs about "
                f"{limits.human(sizes.chunk_memory)} of memory, more than the {limits.human(available)} available here "
                "(lower integrate.chunk_size, integrate.saves or the tokens)",
            )
        )
    if sizes.point_memory > available:
        problems.append(
            (
                ("sweep",),
                f"the grid's per-point arrays need {limits.human(sizes.point_memory)}, more than the "
                f"{limits.human(available)} of memory available here",
            )
        )
    return problems


def axis_problems(cfg: Config) -> list[tuple[tuple, str]]:
    """Each sweep axis's own values: present, finite, integers where counted, in range,
    distinct. Cheap, and what the sizes and the rules over the grid need first."""
    problems: list[tuple[tuple, str]] = []
    for key, values in cfg.sweep.axes().items():
        if values.size == 0:
            problems.append((("sweep", key), "empty sweep axis: give at least one value"))
            continue
        if not np.all(np.isfinite(values)):
            problems.append((("sweep", key), "values must be finite"))
            continue
        if key in INTEGER_KEYS and not np.all(values == np.round(values)):
            problems.append((("sweep", key), "values must be integers"))
        if key in SWEEP_RULES:
            low, inclusive = SWEEP_RULES[key]
            bad = values < low if inclusive else values <= low
            if bad.any():
                problems.append(
                    (("sweep", key), f"values must be {'>=' if inclusive else '>'} {low:g}, got {values[bad][0]:g}")
                )
        if key in SWEEP_CEILINGS and (values > SWEEP_CEILINGS[key][0]).any():
            ceiling, why = SWEEP_CEILINGS[key]
            problems.append((("sweep", key), f"values must be <= {ceiling} ({why})"))
        # Generated axes are monotonic: neighbours tell (np.unique of 10^7 values takes seconds).
        repeats = (
            len(np.unique(values)) != len(values)
            if isinstance(getattr(cfg.sweep, key), list)
            else (np.diff(values) == 0).any()
        )
        if repeats:
            problems.append((("sweep", key), "values must be distinct (they label a grid dimension)"))
    return problems


def semantic_problems(loaded: LoadedConfig) -> list[tuple[tuple, str]]:
    """Rules that involve several keys or the whole grid (after `axis_problems` found none);
    each is `(loc, message)`."""
    cfg = loaded.config
    system_cfg, energies_cfg = cfg.system, cfg.system.energies
    problems: list[tuple[tuple, str]] = []
    axes = cfg.sweep.axes()
    given = lambda key: key in axes or getattr(system_cfg, key, None) is not None
    if given("damping") and given("damping_ratio"):
        problems.append((("system", "damping"), "give damping or damping_ratio (in system or sweep), not both"))
    masses = axes.get("mass", np.array([system_cfg.mass]))
    if rules.mixes_massless(masses):
        problems.append((("sweep", "mass"), f"{rules.MIXED_MASS}; split it into two configs"))
    if (masses == 0).any():
        if given("damping_ratio"):
            problems.append((("system", "damping_ratio"), "undefined at mass 0: give damping instead"))
        dampings = axes.get("damping", np.array([system_cfg.damping if system_cfg.damping is not None else 0.0]))
        if (dampings == 0).any():
            problems.append((("system", "damping"), "mass 0 needs damping > 0 (the gradient flow's friction)"))
    if (
        system_cfg.temperature is None
        and "temperature" not in axes
        and energies_cfg.kind not in ("random_qk", "minilm")
    ):
        problems.append(
            (
                ("system", "temperature"),
                f"required with energies.kind {energies_cfg.kind!r} (random_qk and minilm default to sqrt(d_k))",
            )
        )
    if energies_cfg.kind != "minilm":
        for key in ("layer", "head"):
            if key in axes:
                problems.append((("sweep", key), "only applies to energies.kind minilm"))
    else:
        problems += _minilm_problems(cfg, axes)
    if energies_cfg.kind != "random_qk" and "d_k" in axes:
        problems.append((("sweep", "d_k"), "only applies to energies.kind random_qk"))
    if energies_cfg.kind != "gaussian" and "scale" in axes:
        problems.append((("sweep", "scale"), "only applies to energies.kind gaussian"))
    if energies_cfg.kind in ("file", "list", "minilm") and "seed" in axes:
        problems.append((("sweep", "seed"), f"energies.kind {energies_cfg.kind!r} has no seed"))
    if cfg.initial.kind != "dirichlet":
        for key in ("alpha", "initial_seed"):
            if key in axes:
                problems.append((("sweep", key), "only applies to initial.kind dirichlet"))

    n_max, queries = cfg.max_tokens, cfg.queries
    if system_cfg.mask == "causal" and queries > system_cfg.tokens and "tokens" not in axes:
        problems.append((("system", "queries"), f"a causal mask has at most tokens = {system_cfg.tokens} query rows"))
    if energies_cfg.kind in ("file", "list"):
        if "tokens" in axes:
            problems.append((("sweep", "tokens"), f"energies.kind {energies_cfg.kind!r} fixes the token count"))
        if loaded.energies is not None:  # read (and checked) when the config was loaded
            shape = loaded.energies.shape
            if shape[-1] != system_cfg.tokens:
                problems.append(
                    (("system", "tokens"), f"is {system_cfg.tokens} but the energies have {shape[-1]} tokens")
                )
            if len(shape) == 2 and system_cfg.queries is not None and shape[0] != system_cfg.queries:
                problems.append(
                    (("system", "queries"), f"is {system_cfg.queries} but the energies have {shape[0]} rows")
                )
            if len(shape) == 2 and system_cfg.mask == "causal" and shape[0] > shape[1]:
                problems.append(
                    (
                        ("system", "mask"),
                        f"a causal mask has at most one row per token, the energies have {shape[0]} rows of {shape[1]}",
                    )
                )
    if isinstance(cfg.initial, ListInitial):
        v = np.asarray(cfg.initial.values)
        if len(v) != n_max or "tokens" in axes:
            problems.append(
                (
                    ("initial", "values"),
                    f"needs exactly tokens = {system_cfg.tokens} values (and no tokens sweep), got {len(v)}",
                )
            )
        elif (v <= 0).any() or abs(v.sum() - 1) > rules.NORMALISATION_TOL:
            problems.append(
                (
                    ("initial", "values"),
                    f"must be > 0 and sum to 1 within {rules.NORMALISATION_TOL} (a zero is an invariant face), sums to {v.sum():.9g}",
                )
            )
        elif system_cfg.mask == "causal":
            problems.append(
                (("initial", "values"), "a list start cannot be used with a causal mask (rows see different tokens)")
            )
    problems += _integrator_problems(cfg, axes)
    if not problems:  # the numbers below assume the rules above hold
        problems += _precision_problems(loaded, axes)
    t1 = cfg.integrate.t1
    if isinstance(t1, RelaxationTimes):
        dampings = axes.get("damping", np.array([system_cfg.damping if system_cfg.damping is not None else 0.0]))
        ratios = axes.get(
            "damping_ratio",
            np.array(
                [
                    system_cfg.damping_ratio
                    if system_cfg.damping_ratio is not None
                    else (0.0 if given("damping") else 0.5)
                ]
            ),
        )
        undamped = (dampings == 0).any() if given("damping") else (ratios == 0).any()
        if undamped:
            problems.append(
                (("integrate", "t1"), "relaxation_times needs damping > 0 at every point (undamped points never relax)")
            )
    return problems


def _integrator_problems(cfg: Config, axes: dict) -> list[tuple[tuple, str]]:
    """Solver, step, chart and noise settings that only make sense together."""
    system_cfg, integrate = cfg.system, cfg.integrate
    problems = []
    solver = cfg.solver_name
    solver_loc = ("integrate", "solver") if integrate.solver is not None else ("integrate",)
    named = f"{solver!r}" if integrate.solver is not None else f"{solver!r} (the default here)"
    baths = axes.get("bath_temperature", np.array([system_cfg.bath_temperature]))
    noisy = bool((baths > 0).any())
    bath_loc = ("sweep", "bath_temperature") if "bath_temperature" in axes else ("system", "bath_temperature")
    masses = axes.get("mass", np.array([system_cfg.mass]))
    second_order = bool((masses > 0).all())
    if noisy:
        if solver not in rules.NOISE:
            problems.append(
                (
                    solver_loc,
                    f"{named} cannot integrate Langevin noise (bath_temperature > 0); use one of {list(rules.NOISE)} or leave solver out",
                )
            )
        if integrate.chart != "sphere":
            problems.append((("integrate", "chart"), "Langevin noise (bath_temperature > 0) needs chart sphere"))
        if integrate.dt is None:
            problems.append(
                (
                    bath_loc,
                    f"bath_temperature > 0 needs integrate.dt (Langevin solvers take fixed steps): {rules.dt_hint(second_order)}",
                )
            )
    else:
        if "noise_seed" in axes:
            problems.append((("sweep", "noise_seed"), "has no effect: every bath_temperature is 0 (no noise)"))
        if "noise_seed" in integrate.model_fields_set:
            problems.append((("integrate", "noise_seed"), "has no effect: every bath_temperature is 0 (no noise)"))
    if solver in rules.FIXED_STEP and integrate.dt is None and not noisy:
        problems.append((solver_loc, f"{named} takes fixed steps: give integrate.dt, {rules.dt_hint(second_order)}"))
    if solver in rules.SPHERE_SPLITTING:
        if integrate.chart != "sphere":
            problems.append((("integrate", "chart"), f"solver {solver!r} works in the sphere chart only"))
        if (masses == 0).any():
            problems.append(
                (solver_loc, f"{named} needs mass > 0 at every point (use euler or an adaptive solver at m = 0)")
            )
    return problems


def _minilm_problems(cfg: Config, axes: dict) -> list[tuple[tuple, str]]:
    system_cfg = cfg.system
    energies_cfg = typing.cast(MiniLMEnergies, cfg.system.energies)  # called for kind minilm only
    problems: list[tuple[tuple, str]] = []
    if "tokens" in axes:
        problems.append((("sweep", "tokens"), "energies.kind 'minilm' fixes the token count (the text's)"))
    if system_cfg.mask != "none":
        problems.append((("system", "mask"), "MiniLM's attention is bidirectional: use mask none"))
    try:
        from ..sources import token_count

        count = token_count(energies_cfg.text)
    except ImportError as exc:
        problems.append((("system", "energies", "kind"), str(exc)))
    else:
        if count != system_cfg.tokens:
            problems.append(
                (
                    ("system", "tokens"),
                    f"is {system_cfg.tokens} but the text has {count} tokens ([CLS] and [SEP] included)",
                )
            )
        if system_cfg.queries is not None and system_cfg.queries != count:
            problems.append(
                (("system", "queries"), f"is {system_cfg.queries}; a MiniLM head has one row per token ({count})")
            )
    return problems


def _parameter_grid(loaded: LoadedConfig, axes: dict) -> dict[str, np.ndarray]:
    """Temperature, mass and damping of every combination of the axes they depend on (each
    point's, without the energies, which they do not depend on)."""
    cfg = loaded.config
    system_cfg, energies_cfg = cfg.system, cfg.system.energies
    if energies_cfg.kind == "random_qk":
        default_t = np.sqrt(axes.get("d_k", np.array([energies_cfg.d_k], float)))
    elif energies_cfg.kind == "minilm":
        default_t = np.array([np.sqrt(rules.MINILM_HEAD_DIM)])
    else:
        default_t = np.array([np.nan])
    temperature = axes.get(
        "temperature", np.array([system_cfg.temperature]) if system_cfg.temperature is not None else default_t
    )
    mass = axes.get("mass", np.array([system_cfg.mass]))
    by_damping = "damping" in axes or system_cfg.damping is not None
    third = (
        axes.get("damping", np.array([system_cfg.damping]))
        if by_damping
        else axes.get(
            "damping_ratio", np.array([system_cfg.damping_ratio if system_cfg.damping_ratio is not None else 0.5])
        )
    )
    T, m, x = (
        a.reshape(-1)
        for a in np.meshgrid(
            np.asarray(temperature, float), np.asarray(mass, float), np.asarray(third, float), indexing="ij"
        )
    )
    with np.errstate(all="ignore"):
        gamma = x if by_damping else damping_from_ratio(x, m, T)
    return dict(temperature=T, mass=m, damping=gamma)


def _precision_problems(loaded: LoadedConfig, axes: dict) -> list[tuple[tuple, str]]:
    """Tolerances the precision cannot resolve, parameters or ratios of them it cannot hold,
    and fixed steps that do not fit the end time or max_steps, at every point."""
    cfg = loaded.config
    integrate, precision = cfg.integrate, cfg.precision
    problems = []
    found = rules.tolerance_problem(*cfg.tolerances, precision)
    if found:
        name, message = found
        given = getattr(integrate, name) is not None
        problems.append(
            (("integrate", name) if given else ("precision",), message if given else f"default {name} {message}")
        )
    p = _parameter_grid(loaded, axes)
    T, m, gamma = p["temperature"], p["mass"], p["damping"]
    tiny, huge = rules.TINY[precision], rules.HUGE[precision]
    baths = axes.get("bath_temperature", np.array([cfg.system.bath_temperature]))
    damping_key = _damping_key(cfg, axes)
    with np.errstate(all="ignore"):
        spread = _energy_spread(loaded, axes)
        quantities = {
            "temperature": (T, ("sweep", "temperature") if "temperature" in axes else ("system", "temperature")),
            "mass": (m[m > 0], ("sweep", "mass") if "mass" in axes else ("system", "mass")),
            "damping": (gamma[gamma > 0], damping_key),
            "bath_temperature": (
                baths[baths > 0],
                ("sweep", "bath_temperature") if "bath_temperature" in axes else ("system", "bath_temperature"),
            ),
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


SQUARED = ("damping / mass", "energy spread / temperature")


def _damping_key(cfg: Config, axes: dict) -> tuple[str, str]:
    """Where the damping was written: swept, or in `system`, as a damping or a damping ratio."""
    for name in ("damping", "damping_ratio"):
        if name in axes:
            return ("sweep", name)
    return ("system", "damping" if cfg.system.damping is not None else "damping_ratio")


def _energy_spread(loaded: LoadedConfig, axes: dict) -> float:
    """The widest spread of energies in the sweep: exact for fixed energies, 12 standard
    deviations for Gaussian ones (0 where it is bounded by construction)."""
    cfg = loaded.config
    if loaded.energies is not None:
        return float(np.ptp(loaded.energies))
    if cfg.system.energies.kind == "gaussian":
        return 12 * float(np.max(axes.get("scale", cfg.system.energies.scale)))
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
