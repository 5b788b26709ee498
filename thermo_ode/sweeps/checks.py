"""The rules of a sweep config that involve several keys or the sweep's values; each problem is
`(key path, message)`, located and formatted by `loading`. The rules shared with the library
(solver names, the mixed-mass rule, MiniLM's shape, the normalisation tolerance) come from
`thermo_ode.rules`."""

from __future__ import annotations

import typing

import numpy as np

from .. import rules
from .energy_files import fixed_energies
from .schema import INTEGER_KEYS, Config, ListInitial, RelaxationTimes

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
SWEEP_CEILINGS = {"layer": rules.MINILM_LAYERS - 1, "head": rules.MINILM_HEADS - 1}


def semantic_problems(loaded: LoadedConfig) -> list[tuple[tuple, str]]:
    """Rules that involve several keys, or sweep values; each is `(loc, message)`."""
    cfg = loaded.config
    system_cfg, energies_cfg = cfg.system, cfg.system.energies
    problems: list[tuple[tuple, str]] = []
    axes = cfg.sweep.axes()
    for key, values in axes.items():
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
                problems.append((("sweep", key), f"values must be {'>=' if inclusive else '>'} {low:g}, got {values[bad][0]:g}"))
        if len(np.unique(values)) != len(values):
            problems.append((("sweep", key), "values must be distinct (they label a grid dimension)"))

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
    if system_cfg.temperature is None and "temperature" not in axes and energies_cfg.kind not in ("random_qk", "minilm"):
        problems.append((("system", "temperature"), f"required with energies.kind {energies_cfg.kind!r} (random_qk and minilm default to sqrt(d_k))"))
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
        try:
            shape = fixed_energies(loaded).shape
        except (OSError, ValueError, KeyError) as exc:
            problems.append((("system", "energies", "path" if energies_cfg.kind == "file" else "values"), str(exc)))
        else:
            if shape[-1] != system_cfg.tokens:
                problems.append((("system", "tokens"), f"is {system_cfg.tokens} but the energies have {shape[-1]} tokens"))
            if len(shape) == 2 and system_cfg.queries is not None and shape[0] != system_cfg.queries:
                problems.append((("system", "queries"), f"is {system_cfg.queries} but the energies have {shape[0]} rows"))
    if isinstance(cfg.initial, ListInitial):
        v = np.asarray(cfg.initial.values)
        if len(v) != n_max or "tokens" in axes:
            problems.append((("initial", "values"), f"needs exactly tokens = {system_cfg.tokens} values (and no tokens sweep), got {len(v)}"))
        elif (v <= 0).any() or abs(v.sum() - 1) > rules.NORMALISATION_TOL:
            problems.append((("initial", "values"), f"must be > 0 and sum to 1 within {rules.NORMALISATION_TOL} (a zero is an invariant face), sums to {v.sum():.9g}"))
        elif system_cfg.mask == "causal":
            problems.append((("initial", "values"), "a list start cannot be used with a causal mask (rows see different tokens)"))
    problems += _integrator_problems(cfg, axes)
    t1 = cfg.integrate.t1
    if isinstance(t1, RelaxationTimes):
        dampings = axes.get("damping", np.array([system_cfg.damping if system_cfg.damping is not None else 0.0]))
        ratios = axes.get("damping_ratio", np.array([system_cfg.damping_ratio if system_cfg.damping_ratio is not None else (0.0 if given("damping") else 0.5)]))
        undamped = (dampings == 0).any() if given("damping") else (ratios == 0).any()
        if undamped:
            problems.append((("integrate", "t1"), "relaxation_times needs damping > 0 at every point (undamped points never relax)"))
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
            problems.append((solver_loc, f"{named} cannot integrate Langevin noise (bath_temperature > 0); use one of {list(rules.NOISE)} or leave solver out"))
        if integrate.chart != "sphere":
            problems.append((("integrate", "chart"), "Langevin noise (bath_temperature > 0) needs chart sphere"))
        if integrate.dt is None:
            problems.append((bath_loc, f"bath_temperature > 0 needs integrate.dt (Langevin solvers take fixed steps): {rules.dt_hint(second_order)}"))
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
            problems.append((solver_loc, f"{named} needs mass > 0 at every point (use euler or an adaptive solver at m = 0)"))
    if isinstance(integrate.dt, float) and isinstance(integrate.t1, float) and integrate.dt > integrate.t1:
        problems.append((("integrate", "dt"), f"is longer than t1 = {integrate.t1}"))
    return problems


def _minilm_problems(cfg: Config, axes: dict) -> list[tuple[tuple, str]]:
    system_cfg, energies_cfg = cfg.system, cfg.system.energies
    problems = []
    for key, ceiling in SWEEP_CEILINGS.items():
        if key in axes and (axes[key] > ceiling).any():
            problems.append((("sweep", key), f"values must be <= {ceiling} (MiniLM has {ceiling + 1})"))
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
            problems.append((("system", "tokens"), f"is {system_cfg.tokens} but the text has {count} tokens ([CLS] and [SEP] included)"))
        if system_cfg.queries is not None and system_cfg.queries != count:
            problems.append((("system", "queries"), f"is {system_cfg.queries}; a MiniLM head has one row per token ({count})"))
    return problems
