"""The sweep config's schema: pydantic v2 models of a YAML sweep file (what each key means and
its range of values). Cross-field rules are in `checks`, loading and error reports in
`loading`."""

from __future__ import annotations

import json
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, PrivateAttr, Tag, model_validator

from .. import rules


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Finite = Annotated[float, Field(allow_inf_nan=False)]
Seed = Annotated[int, Field(ge=0, le=rules.MAX_SEED)]
Count = Annotated[int, Field(ge=1)]


# --- energies --------------------------------------------------------------------------------


class RandomQK(Strict):
    """Isotropic Gaussian `q` and `k` (a freshly initialised head); `T` defaults to `sqrt(d_k)`."""

    kind: Literal["random_qk"]
    d_k: int = Field(64, ge=1, le=rules.MAX_D_K)
    seed: Seed = 0


class Gaussian(Strict):
    """Energies drawn i.i.d. from `N(0, scale^2)`."""

    kind: Literal["gaussian"]
    scale: float = Field(1.0, gt=0, allow_inf_nan=False)
    seed: Seed = 0


class FileEnergies(Strict):
    """An `.npz` file with `q (Q, d)` and `k (N, d)`, or `energies (N,)` / `(Q, N)`; the path is
    relative to the config file."""

    kind: Literal["file"]
    path: str


class ListEnergies(Strict):
    kind: Literal["list"]
    values: list[Finite] | list[list[Finite]]


class MiniLMEnergies(Strict):
    """The query and key vectors of one head of all-MiniLM-L6-v2 on `text` (needs the weights
    package, see `thermo_ode.sources`): a point is a head, with one row per token; `layer` and
    `head` are sweepable; `T` defaults to `sqrt(32)`, the model's own scale."""

    kind: Literal["minilm"]
    text: str = Field(min_length=1)
    layer: int = Field(0, ge=0, lt=rules.MINILM_LAYERS)
    head: int = Field(0, ge=0, lt=rules.MINILM_HEADS)


Energies = Annotated[RandomQK | Gaussian | FileEnergies | ListEnergies | MiniLMEnergies, Field(discriminator="kind")]


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
    seed: Seed = 0


class ListInitial(Strict):
    kind: Literal["list"]
    values: list[Finite]


Initial = Annotated[Uniform | Dirichlet | ListInitial, Field(discriminator="kind")]


# --- sweep axes ------------------------------------------------------------------------------


def _one_value_is_a(spec: tuple) -> tuple:
    a, b, n = spec
    if n == 1 and a != b:
        raise ValueError(f"n = 1 gives a alone ({a:g}), not b; write [a] for one value, or n >= 2")
    return spec


class Logspace(Strict):
    """`10**linspace(a, b, n)`."""

    logspace: Annotated[tuple[Finite, Finite, Count], AfterValidator(_one_value_is_a)]


class Linspace(Strict):
    linspace: Annotated[tuple[Finite, Finite, Count], AfterValidator(_one_value_is_a)]


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
    Annotated[list[Finite], Tag("values")]
    | Annotated[Logspace, Tag("logspace-axis")]
    | Annotated[Linspace, Tag("linspace-axis")]
    | Annotated[Range, Tag("range-axis")],
    Discriminator(
        _tag_by_key("axis", "values", (list, tuple)),
        custom_error_type="invalid_axis",
        custom_error_message="a sweep axis is a list of values, {logspace: [a, b, n]}, {linspace: [a, b, n]} or {range: [a, b]}",
    ),
]


class SweepAxes(Strict):
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
    _order: tuple[str, ...] = PrivateAttr(default=())  # the keys as written in the file

    @model_validator(mode="wrap")
    @classmethod
    def _remember_order(cls, data, handler):
        model = handler(data)
        if isinstance(data, dict):
            model._order = tuple(data)
        return model

    @property
    def order(self) -> tuple[str, ...]:
        """The swept keys, in the order written."""
        return tuple(key for key in self._order if getattr(self, key, None) is not None)

    def axes(self) -> dict[str, np.ndarray]:
        return {key: axis_values(getattr(self, key)) for key in self.order}


INTEGER_KEYS = {"tokens", "seed", "d_k", "initial_seed", "noise_seed", "layer", "head"}


def axis_values(axis) -> np.ndarray:
    if isinstance(axis, Logspace):
        a, b, n = axis.logspace
        with np.errstate(over="ignore", under="ignore"):  # out-of-range values are refused by the checks, located
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
        Union[tuple(members)],  # noqa: UP007 (a union built at run time has no `|` spelling)
        Discriminator(
            _tag_by_key("t1", "physical-time", (int, float, str)),
            custom_error_type=f"invalid_{name}",
            custom_error_message=message,
        ),
    ]


EndTime = _time_spec("t1", "t1 is a time > 0, {natural: tau} or {relaxation_times: k}")
StepSize = _time_spec("dt", "dt is a time > 0 or {natural: step}", relaxation=False)
BurnIn = _time_spec("burn_in", "burn_in is a time >= 0, {natural: tau} or {relaxation_times: k}", allow_zero=True)


def spec_to_physical(spec, natural_frequency, relaxation_time):
    """A time written as a number (physical), `{natural: tau}` or `{relaxation_times: k}`, in
    physical time, given each point's `omega0` and predicted relaxation time (arrays)."""
    if isinstance(spec, NaturalTime):
        # One unit of natural time is 1/omega0; for m = 0 (omega0 = inf) it is gamma/T, the
        # gradient flow's relaxation time.
        return spec.natural * np.where(np.isfinite(natural_frequency), 1 / natural_frequency, relaxation_time)
    if isinstance(spec, RelaxationTimes):
        return spec.relaxation_times * relaxation_time
    return np.full(np.shape(relaxation_time), float(spec))


class Integrate(Strict):
    t1: EndTime = 60.0
    saves: int = Field(121, ge=2)
    # None: the library's default (thermo_ode.rules.default_solver), resolved by `solver_name`.
    solver: Literal[rules.NAMES] | None = None
    dt: StepSize | None = None  # fixed step (needed by rattle, gbaoab, euler and with noise)
    burn_in: BurnIn | None = None  # start of the time averages; default half of t1
    noise_seed: Seed = 0
    # None: the precision's default (rules.DEFAULT_TOLERANCES), resolved by Config.tolerances.
    rtol: float | None = Field(None, gt=0, allow_inf_nan=False)
    atol: float | None = Field(None, gt=0, allow_inf_nan=False)
    chart: Literal["sphere", "logit", "simplex"] = "sphere"
    time: Literal["natural", "physical"] = "natural"
    max_steps: int = Field(100_000, ge=1, le=rules.MAX_STEPS)
    chunk_size: int = Field(256, ge=1)  # points per compiled chunk


class Verify(Strict):
    tolerance: float = Field(1e-6, gt=0, allow_inf_nan=False)


class Config(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=100)  # names a folder
    precision: Literal["float64", "float32"] = "float64"
    system: SystemConfig
    initial: Initial = Field(default_factory=lambda: Uniform(kind="uniform"))
    sweep: SweepAxes = Field(default_factory=SweepAxes)
    integrate: Integrate = Field(default_factory=Integrate)
    verify: Verify = Field(default_factory=Verify)

    @property
    def queries(self) -> int:
        if self.system.queries is not None:
            return self.system.queries
        return self.max_tokens if self.system.mask == "causal" else 1

    @property
    def solver_name(self) -> str:
        """`integrate.solver`, or the library's default for this sweep (a bath anywhere in the
        grid makes the whole sweep noisy, so every chunk uses the same solver)."""
        if self.integrate.solver is not None:
            return self.integrate.solver
        axes = self.sweep.axes()
        noisy = bool((axes.get("bath_temperature", np.array([self.system.bath_temperature])) > 0).any())
        second_order = bool((axes.get("mass", np.array([self.system.mass])) > 0).all())
        return rules.default_solver(noisy, second_order)

    @property
    def tolerances(self) -> tuple[float, float]:
        """`(rtol, atol)`: as written, or the precision's defaults."""
        rtol, atol = rules.DEFAULT_TOLERANCES[self.precision]
        given = self.integrate
        return (rtol if given.rtol is None else given.rtol, atol if given.atol is None else given.atol)

    @property
    def max_tokens(self) -> int:
        tokens = self.sweep.axes().get("tokens")
        return int(tokens.max()) if tokens is not None else self.system.tokens


def resolved_json(config: Config) -> str:
    data = config.model_dump(mode="json")
    data["integrate"]["rtol"], data["integrate"]["atol"] = config.tolerances
    # The axes in the order written (the grid's C order is part of a run's identity), each as
    # written: a generated axis by its rule, so that a 10^8-value range costs a line, not 1 GB.
    dumped = data["sweep"]
    data["sweep"] = [[key, dumped[key]] for key in config.sweep.order]
    return json.dumps(data, sort_keys=True)
