"""The sweep config's schema: pydantic v2 models of a YAML sweep file (what each key means and
its range of values; the sweep axes are in `sweep_axes`), and how a key's value is looked up:
swept, else fixed (`Config.values`, `Config.value_at`). Cross-field rules are in `checks`,
loading and error reports in `loading`."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import Discriminator, Field, Tag

from ... import rules
from .sweep_axes import Finite, Strict, SweepAxes, axis_values, tag_by_key

Seed = Annotated[int, Field(ge=0, le=rules.MAX_SEED)]

# The damping ratio of a system given neither `damping` nor `damping_ratio`.
DEFAULT_DAMPING_RATIO = 0.5


# --- energies --------------------------------------------------------------------------------


class RandomQK(Strict):
    """Isotropic Gaussian `q` and `k` (a freshly initialised head); `T` defaults to `sqrt(d_k)`."""

    kind: Literal["random_qk"]
    d_k: int = Field(64, ge=1, le=rules.MAX_D_K, description="feature size of `q` and `k` (sweepable)")
    seed: Seed = Field(0, description="seed of `q` and `k` (sweep it as `seed`: independent heads)")


class Gaussian(Strict):
    """Energies drawn i.i.d. from `N(0, scale^2)`."""

    kind: Literal["gaussian"]
    scale: float = Field(1.0, gt=0, allow_inf_nan=False, description="standard deviation of the energies (sweepable)")
    seed: Seed = Field(0, description="seed of the energies (sweep it as `seed`)")


class FileEnergies(Strict):
    """An `.npz` file with `q (Q, d)` and `k (N, d)`, or `energies (N,)` / `(Q, N)`; the path is
    relative to the config file."""

    kind: Literal["file"]
    path: str = Field(description="`.npz` or `.npy` file, relative to the config file")


class ListEnergies(Strict):
    """Energies written out: one row `(N,)` shared by every query, or one row per query `(Q, N)`."""

    kind: Literal["list"]
    values: list[Finite] | list[list[Finite]] = Field(description="`(N,)` or `(Q, N)` finite energies")


class MiniLMEnergies(Strict):
    """The query and key vectors of one head of all-MiniLM-L6-v2 on `text` (needs the weights
    package, see `thermo_ode.sources`): a point is a head, with one row per token; `layer` and
    `head` are sweepable; `T` defaults to `sqrt(32)`, the model's own scale."""

    kind: Literal["minilm"]
    text: str = Field(min_length=1, description="the sentence the model reads")
    layer: int = Field(0, ge=0, lt=rules.MINILM_LAYERS, description="layer 0..5 (sweepable)")
    head: int = Field(0, ge=0, lt=rules.MINILM_HEADS, description="head 0..11 (sweepable)")


Energies = Annotated[RandomQK | Gaussian | FileEnergies | ListEnergies | MiniLMEnergies, Field(discriminator="kind")]


class SystemConfig(Strict):
    """The attention head: its tokens, energies and physical parameters."""

    tokens: int = Field(ge=1, description="`N`, keys per row (sweepable: shorter rows are padded with masked tokens)")
    queries: int | None = Field(None, ge=1, description="rows per point; default 1, or `tokens` with a causal mask")
    energies: Energies = Field(description="where the energies `E = -q.k` come from, by `kind`")
    temperature: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="`T`, the weight of the entropy; default `sqrt(d_k)` for `random_qk` and `minilm`, required otherwise",
    )
    mass: float = Field(1.0, ge=0, allow_inf_nan=False, description="`m`; 0 is the first-order gradient flow")
    damping_ratio: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description=f"`zeta = gamma / (2 sqrt(m T))`; default {DEFAULT_DAMPING_RATIO:g} without `damping`",
    )
    damping: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="`gamma`, the friction; not together with `damping_ratio`"
    )
    mask: Literal["none", "causal"] = Field("none", description="`causal`: row `i` sees keys `0..i`")
    bath_temperature: float = Field(
        0.0,
        ge=0,
        allow_inf_nan=False,
        description="`T_b` of a Langevin heat bath coupled through the damping (0: none)",
    )


# --- initial state ---------------------------------------------------------------------------


class Uniform(Strict):
    """The uniform distribution over the unmasked tokens."""

    kind: Literal["uniform"]


class Dirichlet(Strict):
    """A random start drawn from a symmetric Dirichlet distribution."""

    kind: Literal["dirichlet"]
    alpha: float = Field(1.0, gt=0, allow_inf_nan=False, description="concentration (sweepable)")
    seed: Seed = Field(0, description="seed of the draw (sweep it as `initial_seed`)")


class ListInitial(Strict):
    """A start written out."""

    kind: Literal["list"]
    values: list[Finite] = Field(description="`(N,)`, positive, summing to 1")


Initial = Annotated[Uniform | Dirichlet | ListInitial, Field(discriminator="kind")]


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
    bound = Field(allow_inf_nan=False, ge=0) if allow_zero else Field(allow_inf_nan=False, gt=0)
    members = [
        Annotated[Annotated[float, bound], Tag("physical-time")],
        Annotated[NaturalTime, Tag("natural-t1")],
    ]
    if relaxation:
        members.append(Annotated[RelaxationTimes, Tag("relaxation_times-t1")])
    return Annotated[
        Union[tuple(members)],  # noqa: UP007 (a union built at run time has no `|` spelling)
        Discriminator(
            tag_by_key("t1", "physical-time", (int, float, str)),
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


T1_HELP = "end time: a time, `{natural: tau}` or `{relaxation_times: k}`"
SOLVER_HELP = "a solver name; default `fused_tsit5`, or `gbaoab` (`euler` at m = 0) with a heat bath"
DT_HELP = "fixed step: a time or `{natural: step}`; needed by rattle, gbaoab, euler and a heat bath"
BURN_IN_HELP = "start of the time averages (same spellings as `t1`); default `t1 / 2`"


class Integrate(Strict):
    """How each point is integrated and saved."""

    t1: EndTime = Field(60.0, description=T1_HELP)  # type: ignore[valid-type]  # a union built at run time
    saves: int = Field(121, ge=2, description="saved times, equally spaced from 0 to `t1`")
    # None: the library's default (thermo_ode.rules.default_solver), resolved by `solver_name`.
    solver: Literal[rules.NAMES] | None = Field(None, description=SOLVER_HELP)  # type: ignore[valid-type]
    dt: StepSize | None = Field(None, description=DT_HELP)  # type: ignore[valid-type]  # a union built at run time
    burn_in: BurnIn | None = Field(None, description=BURN_IN_HELP)  # type: ignore[valid-type]  # built at run time
    noise_seed: Seed = Field(0, description="seed of the Langevin noise (sweepable; only with a heat bath)")
    # None: the precision's default (rules.DEFAULT_TOLERANCES), resolved by Config.tolerances.
    rtol: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="relative tolerance; default 1e-8 (float64), 1e-6 (float32)"
    )
    atol: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="absolute tolerance; default 1e-10 (float64), 1e-8 (float32)"
    )
    chart: Literal["sphere", "logit", "simplex"] = Field("sphere", description="the coordinates integrated in")
    time: Literal["natural", "physical"] = Field(
        "natural", description="the solver's clock: natural `tau = t sqrt(T/m)` or physical `t`"
    )
    max_steps: int = Field(100_000, ge=1, le=rules.MAX_STEPS, description="steps allowed per solve")
    chunk_size: int = Field(256, ge=1, description="points per compiled chunk (the last one padded)")


class Verify(Strict):
    """What counts as converged."""

    tolerance: float = Field(
        1e-6, gt=0, allow_inf_nan=False, description="converged: final Fisher–Rao distance to softmax below this"
    )


class Config(Strict):
    """A sweep: one system, its start, the grid of parameters, and how to integrate it.

    The pydantic model of a sweep's YAML file (each key's meaning and range is in its field's
    description). Read configs with `load` or `parse`, which also apply the rules that involve
    several keys and locate every problem in the file.

    Examples:
        >>> from thermo_ode import sweeps
        >>> config = sweeps.load(sweeps.default_config_path()).config
        >>> config.system.tokens, config.integrate.chunk_size, config.solver_name
        (16, 16, 'fused_tsit5')
        >>> config.tolerances  # the float64 defaults
        (1e-08, 1e-10)
        >>> sweeps.Config.model_validate(
        ...     {"name": "demo", "system": {"tokens": 3, "energies": {"kind": "gaussian"}, "temperature": 1.0}}
        ... ).integrate.saves
        121
    """

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        max_length=100,
        description="letters, digits, `.`, `_`, `-`; names the output folder `results/<name>`",
    )
    precision: Literal["float64", "float32"] = Field("float64", description="floating-point precision of the run")
    system: SystemConfig = Field(description="the attention head")
    initial: Initial = Field(
        default_factory=lambda: Uniform(kind="uniform"), description="the start `rho(0)`, by `kind`"
    )
    sweep: SweepAxes = Field(default_factory=SweepAxes, description="the grid's axes, in the order written")
    integrate: Integrate = Field(default_factory=Integrate, description="how each point is integrated")
    verify: Verify = Field(default_factory=Verify, description="what counts as converged")

    @property
    def queries(self) -> int:
        """Rows per point: `system.queries`, else `max_tokens` with a causal mask, else 1."""
        if self.system.queries is not None:
            return self.system.queries
        return self.max_tokens if self.system.mask == "causal" else 1

    @property
    def solver_name(self) -> str:
        """`integrate.solver`, or the library's default solver for this sweep.

        A bath anywhere in the grid makes the whole sweep noisy, so every chunk uses the same
        solver."""
        if self.integrate.solver is not None:
            return self.integrate.solver
        noisy = bool((self.values("bath_temperature") > 0).any())
        second_order = bool((self.values("mass") > 0).all())
        return rules.default_solver(noisy, second_order)

    @property
    def tolerances(self) -> tuple[float, float]:
        """`(rtol, atol)`: as written, or the precision's defaults."""
        rtol, atol = rules.DEFAULT_TOLERANCES[self.precision]
        given = self.integrate
        return (rtol if given.rtol is None else given.rtol, atol if given.atol is None else given.atol)

    @property
    def max_tokens(self) -> int:
        """The longest row: the largest swept `tokens`, else `system.tokens`."""
        return int(self.values("tokens").max())

    def key_path(self, key: str) -> tuple[str, ...]:
        """Where a sweepable `key` is written: its sweep axis, else its fixed place
        (`("system", "mass")`, `("system", "energies", "seed")`, ...)."""
        return ("sweep", key) if key in self.sweep.order else FIXED_AT[key]

    def given(self, key: str) -> bool:
        """Whether `key` is swept or has a fixed value (keys left unset have a derived default)."""
        return key in self.sweep.order or self._written(key) is not None

    @property
    def damping_key(self) -> str:
        """The key that sets the friction: `damping` where it is given, else `damping_ratio`."""
        return "damping" if self.given("damping") else "damping_ratio"

    def values(self, key: str) -> np.ndarray:
        """The swept values of `key`, else its fixed value, as floats: one value, or for a
        default derived from a swept key (`sqrt(d_k)` for the temperature) one per value of that
        key; NaN where the config leaves it unset.

        Examples:
            >>> from thermo_ode import sweeps
            >>> config = sweeps.load(sweeps.default_config_path()).config
            >>> config.values("mass"), config.values("bath_temperature")
            (array([ 0.1,  1. , 10. ]), array([0.]))
        """
        if key in self.sweep.order:
            return np.asarray(axis_values(getattr(self.sweep, key)), float)
        return np.atleast_1d(np.asarray(self._fixed(key, self.values), float))

    def value_at(self, key: str, point: Mapping[str, Any]) -> Any:
        """The value of `key` at one point of the grid (`point`: its swept values), else the
        fixed one (None where the config leaves it unset)."""
        if key in point:
            return point[key]
        return self._fixed(key, lambda other: self.value_at(other, point))

    def _written(self, key: str) -> Any:
        section: Any = self
        for name in FIXED_AT[key]:
            section = getattr(section, name, None)  # None: a key the energies' or start's kind lacks
        return section

    def _fixed(self, key: str, value_of: Callable[[str], Any]) -> Any:
        """`key`'s value where it is not swept: as written, else its default, which may depend
        on other keys (read with `value_of`)."""
        written = self._written(key)
        if written is not None:
            return written
        if key == "temperature":  # sqrt(d_k): each head's own scale
            kind = self.system.energies.kind
            if kind == "random_qk":
                return np.sqrt(value_of("d_k"))
            return math.sqrt(rules.MINILM_HEAD_DIM) if kind == "minilm" else None
        if key == "damping_ratio" and self.damping_key == "damping_ratio":
            return DEFAULT_DAMPING_RATIO
        return None


# Where each sweepable key's fixed value is written (the sweep axis of that name replaces it).
FIXED_AT = {
    **{
        key: ("system", key)
        for key in ("temperature", "mass", "damping", "damping_ratio", "tokens", "bath_temperature")
    },
    **{key: ("system", "energies", key) for key in ("seed", "d_k", "scale", "layer", "head")},
    "alpha": ("initial", "alpha"),
    "initial_seed": ("initial", "seed"),
    "noise_seed": ("integrate", "noise_seed"),
}


def resolved_json(config: Config) -> str:
    """The config with every default filled in, as canonical JSON: a run's identity."""
    data = config.model_dump(mode="json")
    data["integrate"]["rtol"], data["integrate"]["atol"] = config.tolerances
    # The axes in the order written (the grid's C order is part of a run's identity), each as
    # written: a generated axis by its rule, so that a 10^8-value range costs a line, not 1 GB.
    dumped = data["sweep"]
    data["sweep"] = [[key, dumped[key]] for key in config.sweep.order]
    return json.dumps(data, sort_keys=True)
