"""Sweep configs: YAML (`safe_load` only) validated by pydantic v2.

Every problem is reported as `FILE:LINE:COL: dotted.key: what is wrong`, one line each, with a
"did you mean" hint for misspelt keys. Pydantic checks types and single-value ranges; the
cross-field rules (`semantic_problems`) are checked afterwards and reported the same way.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import pathlib
import typing
from typing import Annotated, Any, Literal, Union

import numpy as np
import yaml

from . import rules
from .formulas import energies_from_qk
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator



class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- energies --------------------------------------------------------------------------------


class RandomQK(Strict):
    """Isotropic Gaussian `q` and `k` (a freshly initialised head); `T` defaults to `sqrt(d_k)`."""

    kind: Literal["random_qk"]
    d_k: int = Field(64, ge=1)
    seed: int = 0


class Gaussian(Strict):
    """Energies drawn i.i.d. from `N(0, scale^2)`."""

    kind: Literal["gaussian"]
    scale: float = Field(1.0, gt=0, allow_inf_nan=False)
    seed: int = 0


class FileEnergies(Strict):
    """An `.npz` file with `q (Q, d)` and `k (N, d)`, or `energies (N,)` / `(Q, N)`; the path is
    relative to the config file."""

    kind: Literal["file"]
    path: str


class ListEnergies(Strict):
    kind: Literal["list"]
    values: list[float] | list[list[float]]


class MiniLMEnergies(Strict):
    """The query and key vectors of one head of all-MiniLM-L6-v2 on `text` (needs the weights
    package, see `thermo_ode.sources`): a point is a head, with one row per token; `layer` and
    `head` are sweepable; `T` defaults to `sqrt(32)`, the model's own scale."""

    kind: Literal["minilm"]
    text: str = Field(min_length=1)
    layer: int = Field(0, ge=0, lt=rules.MINILM_LAYERS)
    head: int = Field(0, ge=0, lt=rules.MINILM_HEADS)


Energies = Annotated[Union[RandomQK, Gaussian, FileEnergies, ListEnergies, MiniLMEnergies], Field(discriminator="kind")]


class SystemConfig(Strict):
    tokens: int = Field(ge=1)
    queries: int | None = Field(None, ge=1)  # rows per point; default 1, or `tokens` when causal
    energies: Energies
    temperature: float | None = Field(None, gt=0, allow_inf_nan=False)
    mass: float = Field(1.0, ge=0, allow_inf_nan=False)
    damping_ratio: float | None = Field(None, ge=0, allow_inf_nan=False)
    damping: float | None = Field(None, ge=0, allow_inf_nan=False)
    mask: Literal["none", "causal"] = "none"
    # Langevin heat bath coupled through the damping (0: deterministic); not the head's T.
    bath_temperature: float = Field(0.0, ge=0, allow_inf_nan=False)


# --- initial state ---------------------------------------------------------------------------


class Uniform(Strict):
    kind: Literal["uniform"]


class Dirichlet(Strict):
    kind: Literal["dirichlet"]
    alpha: float = Field(1.0, gt=0, allow_inf_nan=False)
    seed: int = 0


class ListInitial(Strict):
    kind: Literal["list"]
    values: list[float]


Initial = Annotated[Union[Uniform, Dirichlet, ListInitial], Field(discriminator="kind")]


# --- sweep axes ------------------------------------------------------------------------------


class Logspace(Strict):
    """`10**linspace(a, b, n)`."""

    logspace: tuple[float, float, int]


class Linspace(Strict):
    linspace: tuple[float, float, int]


class Range(Strict):
    """Integers `a, a+1, ..., b-1` (Python's `range`)."""

    range: tuple[int, int]


def _tag_by_key(suffix: str, plain_tag: str, plain_types: tuple):
    """Discriminator for a union of a plain value and one-key mappings ({logspace: ...}): the
    tag is the mapping's key. Called on raw YAML when validating and on models when dumping."""

    def tag(value):
        if isinstance(value, BaseModel):
            return f"{next(iter(type(value).model_fields))}-{suffix}"
        if isinstance(value, plain_types):
            return plain_tag
        if isinstance(value, dict) and len(value) == 1:
            return f"{next(iter(value))}-{suffix}"
        return None

    return tag


Axis = Annotated[
    Union[
        Annotated[list[float], Tag("values")],
        Annotated[Logspace, Tag("logspace-axis")],
        Annotated[Linspace, Tag("linspace-axis")],
        Annotated[Range, Tag("range-axis")],
    ],
    Discriminator(
        _tag_by_key("axis", "values", (list, tuple)),
        custom_error_type="invalid_axis",
        custom_error_message="a sweep axis is a list of values, {logspace: [a, b, n]}, {linspace: [a, b, n]} or {range: [a, b]}",
    ),
]


class Sweep(Strict):
    """Each key is a parameter of the system or start; the run is the grid of all of them, in
    the order written. `seed` sweeps the energies' seed, `initial_seed` the Dirichlet start's,
    `noise_seed` the Langevin noise's."""

    temperature: Axis | None = None
    mass: Axis | None = None
    damping: Axis | None = None
    damping_ratio: Axis | None = None
    tokens: Axis | None = None
    seed: Axis | None = None
    d_k: Axis | None = None
    scale: Axis | None = None
    alpha: Axis | None = None
    initial_seed: Axis | None = None
    bath_temperature: Axis | None = None
    noise_seed: Axis | None = None
    layer: Axis | None = None
    head: Axis | None = None
    order: tuple[str, ...] = Field(default=(), exclude=True)  # the keys as written in the file

    @model_validator(mode="before")
    @classmethod
    def _remember_order(cls, data):
        if isinstance(data, dict):
            data = dict(data, order=tuple(k for k in data if k != "order"))
        return data

    def axes(self) -> dict[str, np.ndarray]:
        return {key: axis_values(getattr(self, key)) for key in self.order if getattr(self, key) is not None}


INTEGER_KEYS = {"tokens", "seed", "d_k", "initial_seed", "noise_seed", "layer", "head"}


def axis_values(axis) -> np.ndarray:
    if isinstance(axis, Logspace):
        a, b, n = axis.logspace
        return 10.0 ** np.linspace(a, b, n)
    if isinstance(axis, Linspace):
        a, b, n = axis.linspace
        return np.linspace(a, b, n)
    if isinstance(axis, Range):
        return np.arange(*axis.range)
    return np.asarray(axis, float)


# --- integration and verification ------------------------------------------------------------


class NaturalTime(Strict):
    """End at natural time `tau = t sqrt(T/m)` (`T t / gamma` when m = 0)."""

    natural: float = Field(gt=0, allow_inf_nan=False)


class RelaxationTimes(Strict):
    """End at this many predicted relaxation times (linear theory) of each point."""

    relaxation_times: float = Field(gt=0, allow_inf_nan=False)


def _time_spec(name: str, message: str, *, allow_zero: bool = False, relaxation: bool = True):
    """A time written as a number (physical), `{natural: tau}` or (optionally)
    `{relaxation_times: k}`; `message` is the error for anything else."""
    bound = dict(ge=0) if allow_zero else dict(gt=0)
    members = [
        Annotated[Annotated[float, Field(allow_inf_nan=False, **bound)], Tag("physical-time")],
        Annotated[NaturalTime, Tag("natural-t1")],
    ]
    if relaxation:
        members.append(Annotated[RelaxationTimes, Tag("relaxation_times-t1")])
    return Annotated[
        Union[tuple(members)],
        Discriminator(
            _tag_by_key("t1", "physical-time", (int, float, str)),
            custom_error_type=f"invalid_{name}",
            custom_error_message=message,
        ),
    ]


EndTime = _time_spec("t1", "t1 is a time > 0, {natural: tau} or {relaxation_times: k}")
StepSize = _time_spec("dt", "dt is a time > 0 or {natural: step}", relaxation=False)
BurnIn = _time_spec("burn_in", "burn_in is a time >= 0, {natural: tau} or {relaxation_times: k}", allow_zero=True)

# Names pydantic inserts into error paths for union members; they are not YAML keys.
UNION_TAGS = {
    "random_qk", "gaussian", "file", "list", "minilm", "uniform", "dirichlet",
    "values", "logspace-axis", "linspace-axis", "range-axis",
    "physical-time", "natural-t1", "relaxation_times-t1",
}


class Integrate(Strict):
    t1: EndTime = 60.0
    saves: int = Field(121, ge=2)
    # None: the library's default (thermo_ode.rules.default_solver), resolved by `solver_name`.
    solver: Literal[rules.NAMES] | None = None
    dt: StepSize | None = None  # fixed step (needed by rattle, gbaoab, euler and with noise)
    burn_in: BurnIn | None = None  # start of the time averages; default half of t1
    noise_seed: int = 0
    rtol: float = Field(1e-8, gt=0, allow_inf_nan=False)
    atol: float = Field(1e-10, gt=0, allow_inf_nan=False)
    chart: Literal["sphere", "logit", "simplex"] = "sphere"
    time: Literal["natural", "physical"] = "natural"
    max_steps: int = Field(100_000, ge=1)
    chunk_size: int = Field(256, ge=1)  # points per compiled chunk


class Verify(Strict):
    tolerance: float = Field(1e-6, gt=0, allow_inf_nan=False)


class Config(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    precision: Literal["float64", "float32"] = "float64"
    system: SystemConfig
    initial: Initial = Field(default_factory=lambda: Uniform(kind="uniform"))
    sweep: Sweep = Field(default_factory=Sweep)
    integrate: Integrate = Field(default_factory=Integrate)
    verify: Verify = Field(default_factory=Verify)

    @property
    def queries(self) -> int:
        if self.system.queries is not None:
            return self.system.queries
        return self.max_tokens if self.system.mask == "causal" else 1

    @property
    def max_tokens(self) -> int:
        tokens = self.sweep.axes().get("tokens")
        return int(tokens.max()) if tokens is not None else self.system.tokens


# --- loading and error reporting -------------------------------------------------------------


class ConfigError(Exception):
    """One or more problems, each already formatted as `FILE:LINE:COL: key: message`."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class LoadedConfig(typing.NamedTuple):
    config: Config
    text: str
    path: pathlib.Path | None  # None for text that did not come from a file

    @property
    def base_dir(self) -> pathlib.Path:
        return self.path.parent if self.path is not None else pathlib.Path.cwd()

    @property
    def digest(self) -> str:
        """Identity of a run: the resolved config (formatting and comments do not count)."""
        return hashlib.sha256(resolved_json(self.config).encode()).hexdigest()[:16]


def resolved_json(config: Config) -> str:
    data = config.model_dump(mode="json")
    data["sweep"] = {key: values.tolist() for key, values in config.sweep.axes().items()}
    return json.dumps(data, sort_keys=True)


def load(path) -> LoadedConfig:
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config: {exc.strerror or exc}{_did_you_mean(path)}"]) from None
    return parse(text, str(path), path)


def _did_you_mean(path: pathlib.Path) -> str:
    """A hint naming the closest existing config for a mistyped path."""
    candidates = [p for folder in (path.parent, path.parent / "configs") if folder.is_dir() for p in folder.glob("*.y*ml")]
    close = difflib.get_close_matches(str(path), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def parse(text: str, filename: str = "<config>", path: pathlib.Path | None = None) -> LoadedConfig:
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        raise ConfigError([f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{filename}:1:1: the config must be a mapping of sections, got {type(data).__name__}"])
    locator = _Locator(filename, root)
    duplicates = list(_duplicate_keys(root, ()))
    if duplicates:  # safe_load keeps the last silently; a repeated key is almost always a slip
        raise ConfigError([locator.line_at(mark, path, f"duplicate key (first at line {first.line + 1})") for mark, first, path in duplicates])
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda err: _line_of(locator.mark(tuple(err["loc"]))))
        raise ConfigError([_format_pydantic(error, locator) for error in errors]) from None
    loaded = LoadedConfig(config, text, path)
    problems = [locator.line(loc, message) for loc, message in semantic_problems(loaded)]
    if problems:
        raise ConfigError(problems)
    return loaded


def _duplicate_keys(node, path):
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key, value in node.value:
            if key.value in seen:
                yield key.start_mark, seen[key.value], path + (key.value,)
            else:
                seen[key.value] = key.start_mark
            yield from _duplicate_keys(value, path + (key.value,))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, path + (i,))


def _line_of(mark) -> tuple[int, int]:
    return (mark.line, mark.column) if mark is not None else (0, 0)


class _Locator:
    """Maps a key path to the YAML node it came from, for FILE:LINE:COL."""

    def __init__(self, filename: str, root):
        self.filename, self.root = filename, root

    def mark(self, loc):
        node, mark = self.root, self.root.start_mark if self.root is not None else None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if k.value == part), None)
                if match is None:
                    continue  # a union tag pydantic inserts into the path, not a YAML key
                key, node = match
                mark = key.start_mark
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                mark = node.start_mark
        return mark

    def line(self, loc, message: str) -> str:
        return self.line_at(self.mark(loc), loc, message)

    def line_at(self, mark, loc, message: str) -> str:
        where = f"{self.filename}:{mark.line + 1}:{mark.column + 1}" if mark is not None else self.filename
        key = ".".join(str(p) for p in _user_path(loc)) or "(top level)"
        return f"{where}: {key}: {message}"


def _user_path(loc):
    """The path as the user wrote it: drop pydantic's union-member tags."""
    return [p for p in loc if not (isinstance(p, str) and p in UNION_TAGS)]


def _format_pydantic(error: dict, locator: _Locator) -> str:
    loc = tuple(error["loc"])
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        key = loc[-1]
        hint = difflib.get_close_matches(str(key), _allowed_keys(_user_path(loc[:-1])), n=1, cutoff=0.6)
        message = "unknown key" + (f"; did you mean '{hint[0]}'?" if hint else "")
        allowed = _allowed_keys(_user_path(loc[:-1]))
        if allowed:
            message += f" (allowed: {', '.join(allowed)})"
    elif error["type"] == "missing":
        message = "too few items" if loc and isinstance(loc[-1], int) else "required key is missing"
    elif error["type"] == "union_tag_invalid":
        message = f"unknown kind {error['ctx']['tag']!r}; expected one of {error['ctx']['expected_tags']}"
    elif isinstance(error.get("input"), (int, float, str, bool)) and error["type"] != "literal_error":
        message = f"{message} (got {error['input']!r})"
    return locator.line(loc, message)


def _allowed_keys(path) -> list[str]:
    """Field names of the model at `path` (following the discriminated unions by `kind`)."""
    model: Any = Config
    for part in path:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return []
        model = _model_of(field.annotation)
        if model is None:
            return []
    return [name for name in model.model_fields if name != "order"]


def _model_of(annotation):
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        for inner in typing.get_args(candidate):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


# --- cross-field rules -----------------------------------------------------------------------

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
    s, e = cfg.system, cfg.system.energies
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

    given = lambda key: key in axes or getattr(s, key, None) is not None
    if given("damping") and given("damping_ratio"):
        problems.append((("system", "damping"), "give damping or damping_ratio (in system or sweep), not both"))
    masses = axes.get("mass", np.array([s.mass]))
    if rules.mixes_massless(masses):
        problems.append((("sweep", "mass"), f"{rules.MIXED_MASS}; split it into two configs"))
    if (masses == 0).any():
        if given("damping_ratio"):
            problems.append((("system", "damping_ratio"), "undefined at mass 0: give damping instead"))
        dampings = axes.get("damping", np.array([s.damping if s.damping is not None else 0.0]))
        if (dampings == 0).any():
            problems.append((("system", "damping"), "mass 0 needs damping > 0 (the gradient flow's friction)"))
    if s.temperature is None and "temperature" not in axes and e.kind not in ("random_qk", "minilm"):
        problems.append((("system", "temperature"), f"required with energies.kind {e.kind!r} (random_qk and minilm default to sqrt(d_k))"))
    if e.kind != "minilm":
        for key in ("layer", "head"):
            if key in axes:
                problems.append((("sweep", key), "only applies to energies.kind minilm"))
    else:
        problems += _minilm_problems(cfg, axes)
    if e.kind != "random_qk" and "d_k" in axes:
        problems.append((("sweep", "d_k"), "only applies to energies.kind random_qk"))
    if e.kind != "gaussian" and "scale" in axes:
        problems.append((("sweep", "scale"), "only applies to energies.kind gaussian"))
    if e.kind in ("file", "list", "minilm") and "seed" in axes:
        problems.append((("sweep", "seed"), f"energies.kind {e.kind!r} has no seed"))
    if cfg.initial.kind != "dirichlet":
        for key in ("alpha", "initial_seed"):
            if key in axes:
                problems.append((("sweep", key), "only applies to initial.kind dirichlet"))

    n_max, queries = cfg.max_tokens, cfg.queries
    if s.mask == "causal" and queries > s.tokens and "tokens" not in axes:
        problems.append((("system", "queries"), f"a causal mask has at most tokens = {s.tokens} query rows"))
    if e.kind in ("file", "list"):
        if "tokens" in axes:
            problems.append((("sweep", "tokens"), f"energies.kind {e.kind!r} fixes the token count"))
        try:
            shape = fixed_energies(loaded).shape
        except (OSError, ValueError, KeyError) as exc:
            problems.append((("system", "energies", "path" if e.kind == "file" else "values"), str(exc)))
        else:
            if shape[-1] != s.tokens:
                problems.append((("system", "tokens"), f"is {s.tokens} but the energies have {shape[-1]} tokens"))
            if len(shape) == 2 and s.queries is not None and shape[0] != s.queries:
                problems.append((("system", "queries"), f"is {s.queries} but the energies have {shape[0]} rows"))
    if isinstance(cfg.initial, ListInitial):
        v = np.asarray(cfg.initial.values)
        if len(v) != n_max or "tokens" in axes:
            problems.append((("initial", "values"), f"needs exactly tokens = {s.tokens} values (and no tokens sweep), got {len(v)}"))
        elif (v <= 0).any() or abs(v.sum() - 1) > rules.NORMALISATION_TOL:
            problems.append((("initial", "values"), f"must be > 0 and sum to 1 within {rules.NORMALISATION_TOL} (a zero is an invariant face), sums to {v.sum():.9g}"))
        elif s.mask == "causal":
            problems.append((("initial", "values"), "a list start cannot be used with a causal mask (rows see different tokens)"))
    problems += _integrator_problems(cfg, axes)
    t1 = cfg.integrate.t1
    if isinstance(t1, RelaxationTimes):
        dampings = axes.get("damping", np.array([s.damping if s.damping is not None else 0.0]))
        ratios = axes.get("damping_ratio", np.array([s.damping_ratio if s.damping_ratio is not None else (0.0 if given("damping") else 0.5)]))
        undamped = (dampings == 0).any() if given("damping") else (ratios == 0).any()
        if undamped:
            problems.append((("integrate", "t1"), "relaxation_times needs damping > 0 at every point (undamped points never relax)"))
    return problems


def solver_name(cfg: Config) -> str:
    """`integrate.solver`, or the library's default for this sweep (any bath anywhere in the
    grid makes the whole sweep noisy, so every chunk uses the same solver)."""
    if cfg.integrate.solver is not None:
        return cfg.integrate.solver
    axes = cfg.sweep.axes()
    noisy = bool((axes.get("bath_temperature", np.array([cfg.system.bath_temperature])) > 0).any())
    second_order = bool((axes.get("mass", np.array([cfg.system.mass])) > 0).all())
    return rules.default_solver(noisy, second_order)


def _integrator_problems(cfg: Config, axes: dict) -> list[tuple[tuple, str]]:
    """Solver, step, chart and noise settings that only make sense together."""
    s, integrate = cfg.system, cfg.integrate
    problems = []
    solver = solver_name(cfg)
    solver_loc = ("integrate", "solver") if integrate.solver is not None else ("integrate",)
    named = f"{solver!r}" if integrate.solver is not None else f"{solver!r} (the default here)"
    baths = axes.get("bath_temperature", np.array([s.bath_temperature]))
    noisy = bool((baths > 0).any())
    bath_loc = ("sweep", "bath_temperature") if "bath_temperature" in axes else ("system", "bath_temperature")
    masses = axes.get("mass", np.array([s.mass]))
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
    s, e = cfg.system, cfg.system.energies
    problems = []
    for key, ceiling in SWEEP_CEILINGS.items():
        if key in axes and (axes[key] > ceiling).any():
            problems.append((("sweep", key), f"values must be <= {ceiling} (MiniLM has {ceiling + 1})"))
    if "tokens" in axes:
        problems.append((("sweep", "tokens"), "energies.kind 'minilm' fixes the token count (the text's)"))
    if s.mask != "none":
        problems.append((("system", "mask"), "MiniLM's attention is bidirectional: use mask none"))
    try:
        from .sources import token_count

        count = token_count(e.text)
    except ImportError as exc:
        problems.append((("system", "energies", "kind"), str(exc)))
    else:
        if count != s.tokens:
            problems.append((("system", "tokens"), f"is {s.tokens} but the text has {count} tokens ([CLS] and [SEP] included)"))
        if s.queries is not None and s.queries != count:
            problems.append((("system", "queries"), f"is {s.queries}; a MiniLM head has one row per token ({count})"))
    return problems


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


def default_config_path() -> pathlib.Path:
    """The embedded default, shipped inside the package."""
    return pathlib.Path(__file__).parent / "configs" / "default.yaml"
