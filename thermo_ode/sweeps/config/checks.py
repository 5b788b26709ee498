"""The rules of a sweep config that involve several keys or the sweep's values, after each axis
passed its own (`grid_checks`); each problem is `(key path, message)`, located and formatted by
`loading`. The rules shared with the library (solver names, the mixed-mass rule, MiniLM's shape,
the normalisation tolerance) come from `thermo_ode.rules`; the numbers each point must hold in
its precision are checked by `precision_checks`."""

from __future__ import annotations

import typing

import numpy as np

from ... import rules
from .precision_checks import precision_problems
from .schema import FIXED_AT, Config, ListInitial, MiniLMEnergies, RelaxationTimes

if typing.TYPE_CHECKING:
    from .loaded_config import LoadedConfig

Problems = list[tuple[tuple, str]]


def semantic_problems(loaded: LoadedConfig) -> Problems:
    """Rules that involve several keys or the whole grid (after `grid_checks.axis_problems`
    found none); each is `(loc, message)`, in the order of the topics below."""
    cfg = loaded.config
    problems = _mass_and_damping_problems(cfg) + _temperature_problems(cfg) + _kind_problems(cfg)
    problems += _row_problems(loaded) + _initial_values_problems(cfg)
    problems += _integrator_problems(cfg)
    if not problems:  # the numbers below assume the rules above hold
        problems += precision_problems(loaded)
    return problems + _relaxation_problems(cfg)


def _mass_and_damping_problems(cfg: Config) -> Problems:
    """The friction given once, and a grid on one side of mass 0, damped there."""
    problems: Problems = []
    if cfg.given("damping") and cfg.given("damping_ratio"):
        problems.append((("system", "damping"), "give damping or damping_ratio (in system or sweep), not both"))
    masses = cfg.values("mass")
    if rules.mixes_massless(masses):
        problems.append((("sweep", "mass"), f"{rules.MIXED_MASS}; split it into two configs"))
    if (masses == 0).any():
        if cfg.given("damping_ratio"):
            problems.append((("system", "damping_ratio"), "undefined at mass 0: give damping instead"))
        if not cfg.given("damping") or (cfg.values("damping") == 0).any():
            problems.append((("system", "damping"), "mass 0 needs damping > 0 (the gradient flow's friction)"))
    return problems


def _temperature_problems(cfg: Config) -> Problems:
    kind = cfg.system.energies.kind
    if cfg.given("temperature") or kind in ("random_qk", "minilm"):
        return []
    return [
        (
            ("system", "temperature"),
            f"required with energies.kind {kind!r} (random_qk and minilm default to sqrt(d_k))",
        )
    ]


def _kind_problems(cfg: Config) -> Problems:
    """Sweep keys that only apply to another kind of energies or start, and MiniLM's own rules."""
    swept, kind = cfg.sweep.order, cfg.system.energies.kind
    problems: Problems = []
    if kind != "minilm":
        problems += [
            (("sweep", key), "only applies to energies.kind minilm") for key in ("layer", "head") if key in swept
        ]
    else:
        problems += _minilm_problems(cfg, swept)
    if kind != "random_qk" and "d_k" in swept:
        problems.append((("sweep", "d_k"), "only applies to energies.kind random_qk"))
    if kind != "gaussian" and "scale" in swept:
        problems.append((("sweep", "scale"), "only applies to energies.kind gaussian"))
    if kind in ("file", "list", "minilm") and "seed" in swept:
        problems.append((("sweep", "seed"), f"energies.kind {kind!r} has no seed"))
    if cfg.initial.kind != "dirichlet":
        problems += [
            (("sweep", key), "only applies to initial.kind dirichlet")
            for key in ("alpha", "initial_seed")
            if key in swept
        ]
    return problems


def _row_problems(loaded: LoadedConfig) -> Problems:
    """The query rows and tokens against the mask and against fixed energies."""
    cfg = loaded.config
    system_cfg, kind, swept = cfg.system, cfg.system.energies.kind, cfg.sweep.order
    problems: Problems = []
    if system_cfg.mask == "causal" and cfg.queries > system_cfg.tokens and "tokens" not in swept:
        problems.append((("system", "queries"), f"a causal mask has at most tokens = {system_cfg.tokens} query rows"))
    if kind not in ("file", "list"):
        return problems
    if "tokens" in swept:
        problems.append((("sweep", "tokens"), f"energies.kind {kind!r} fixes the token count"))
    if loaded.energies is None:
        return problems
    shape = loaded.energies.shape  # read (and checked) when the config was loaded
    if shape[-1] != system_cfg.tokens:
        problems.append((("system", "tokens"), f"is {system_cfg.tokens} but the energies have {shape[-1]} tokens"))
    if len(shape) == 2 and system_cfg.queries is not None and shape[0] != system_cfg.queries:
        problems.append((("system", "queries"), f"is {system_cfg.queries} but the energies have {shape[0]} rows"))
    if len(shape) == 2 and system_cfg.mask == "causal" and shape[0] > shape[1]:
        problems.append(
            (
                ("system", "mask"),
                f"a causal mask has at most one row per token, the energies have {shape[0]} rows of {shape[1]}",
            )
        )
    return problems


def _initial_values_problems(cfg: Config) -> Problems:
    """A start written out: one value per token, a point inside the simplex, no causal mask."""
    if not isinstance(cfg.initial, ListInitial):
        return []
    v = np.asarray(cfg.initial.values)
    if len(v) != cfg.max_tokens or "tokens" in cfg.sweep.order:
        message = f"needs exactly tokens = {cfg.system.tokens} values (and no tokens sweep), got {len(v)}"
    elif (v <= 0).any() or abs(v.sum() - 1) > rules.NORMALISATION_TOL:
        message = (
            f"must be > 0 and sum to 1 within {rules.NORMALISATION_TOL} (a zero is an invariant face), "
            f"sums to {v.sum():.9g}"
        )
    elif cfg.system.mask == "causal":
        message = "a list start cannot be used with a causal mask (rows see different tokens)"
    else:
        return []
    return [(("initial", "values"), message)]


def _relaxation_problems(cfg: Config) -> Problems:
    """An end time in relaxation times needs every point damped."""
    if not isinstance(cfg.integrate.t1, RelaxationTimes) or not (cfg.values(cfg.damping_key) == 0).any():
        return []
    return [(("integrate", "t1"), "relaxation_times needs damping > 0 at every point (undamped points never relax)")]


def _integrator_problems(cfg: Config) -> Problems:
    """Solver, step, chart and noise settings that only make sense together (the library's rule,
    `rules.integrator_problems`, in the config's words), and a noise seed without noise."""
    integrate = cfg.integrate
    solver = cfg.solver_name
    solver_loc = ("integrate", "solver") if integrate.solver is not None else ("integrate",)
    named = f"{solver!r}" if integrate.solver is not None else f"{solver!r} (the default here)"
    noisy = bool((cfg.values("bath_temperature") > 0).any())
    bath_loc = cfg.key_path("bath_temperature")
    second_order = bool((cfg.values("mass") > 0).all())
    hint = rules.dt_hint(second_order)
    words = {
        "noise_solver": (
            solver_loc,
            f"{named} cannot integrate Langevin noise (bath_temperature > 0); use one of {list(rules.NOISE)} or leave solver out",
        ),
        "noise_chart": (("integrate", "chart"), "Langevin noise (bath_temperature > 0) needs chart sphere"),
        "noise_dt": (bath_loc, f"bath_temperature > 0 needs integrate.dt (Langevin solvers take fixed steps): {hint}"),
        "solver_dt": (solver_loc, f"{named} takes fixed steps: give integrate.dt, {hint}"),
        "splitting_chart": (("integrate", "chart"), f"solver {solver!r} works in the sphere chart only"),
        "splitting_mass": (
            solver_loc,
            f"{named} needs mass > 0 at every point (use euler or an adaptive solver at m = 0)",
        ),
    }
    found = rules.integrator_problems(
        splitting=solver in rules.SPHERE_SPLITTING,
        noise_capable=solver in rules.NOISE,
        fixed_step_solver=solver in rules.FIXED_STEP,
        sphere_chart=integrate.chart == "sphere",
        second_order=second_order,
        noisy=noisy,
        dt_given=integrate.dt is not None,
    )
    problems: Problems = []
    if not noisy:
        if "noise_seed" in cfg.sweep.order:
            problems.append((("sweep", "noise_seed"), "has no effect: every bath_temperature is 0 (no noise)"))
        if "noise_seed" in integrate.model_fields_set:
            problems.append((("integrate", "noise_seed"), "has no effect: every bath_temperature is 0 (no noise)"))
    # A config hears of every problem, in the order of `words` (the library raises the first
    # of its own order): noise, then the fixed step, then the splitting solvers' needs.
    broken = {problem for _, problem in found}
    return problems + [located for problem, located in words.items() if problem in broken]


def _minilm_problems(cfg: Config, swept: tuple[str, ...]) -> Problems:
    system_cfg = cfg.system
    energies_cfg = typing.cast(MiniLMEnergies, cfg.system.energies)  # called for kind minilm only
    problems: Problems = []
    if "tokens" in swept:
        problems.append((("sweep", "tokens"), "energies.kind 'minilm' fixes the token count (the text's)"))
    if system_cfg.mask != "none":
        problems.append((("system", "mask"), "MiniLM's attention is bidirectional: use mask none"))
    try:
        from ...sources import token_count

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


def fixed_and_swept(cfg: Config) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """`(sweep axis, fixed key)` for each key written both as a fixed value and as a sweep axis
    (the axis replaces the fixed value). `system.tokens` is required even where tokens are
    swept, so a tokens sweep is not listed."""
    pairs: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for key in cfg.sweep.order:
        if key == "tokens":
            continue
        *sections, name = FIXED_AT[key]
        section: typing.Any = cfg
        for part in sections:
            section = getattr(section, part)
        if name in section.model_fields_set:  # written in the file, not a default
            pairs.append((("sweep", key), FIXED_AT[key]))
    return pairs
