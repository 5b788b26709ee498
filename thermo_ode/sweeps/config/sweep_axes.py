"""The sweep axes of a config: how an axis is written (a list of values, `{logspace: [a, b, n]}`,
`{linspace: [a, b, n]}` or `{range: [a, b]}`), the `sweep` section that holds them in the order
written, and each axis's values and length."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, PrivateAttr, Tag, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Finite = Annotated[float, Field(allow_inf_nan=False)]
Count = Annotated[int, Field(ge=1)]

# The keys whose values count things or seed draws: their axes must hold integers.
INTEGER_KEYS = {"tokens", "seed", "d_k", "initial_seed", "noise_seed", "layer", "head"}


def tag_by_key(suffix: str, plain_tag: str, plain_types: tuple):
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


def _one_value_is_a(spec: tuple) -> tuple:
    a, b, n = spec
    if n == 1 and a != b:
        raise ValueError(f"n = 1 gives a alone ({a:g}), not b; write [a] for one value, or n >= 2")
    return spec


class Logspace(Strict):
    """`10**linspace(a, b, n)`."""

    logspace: Annotated[tuple[Finite, Finite, Count], AfterValidator(_one_value_is_a)]


class Linspace(Strict):
    """`linspace(a, b, n)`: `n` equally spaced values from `a` to `b`."""

    linspace: Annotated[tuple[Finite, Finite, Count], AfterValidator(_one_value_is_a)]


class Range(Strict):
    """Integers `a, a+1, ..., b-1` (Python's `range`)."""

    range: tuple[int, int]


Axis = Annotated[
    Annotated[list[Finite], Tag("values")]
    | Annotated[Logspace, Tag("logspace-axis")]
    | Annotated[Linspace, Tag("linspace-axis")]
    | Annotated[Range, Tag("range-axis")],
    Discriminator(
        tag_by_key("axis", "values", (list, tuple)),
        custom_error_type="invalid_axis",
        custom_error_message="a sweep axis is a list of values, {logspace: [a, b, n]}, {linspace: [a, b, n]} or {range: [a, b]}",
    ),
]


def axis_values(axis) -> np.ndarray:
    """The values an axis holds."""
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


def axis_length(axis) -> int:
    """The number of values an axis holds, computed without building it."""
    if isinstance(axis, (Logspace, Linspace)):
        return max(int((axis.logspace if isinstance(axis, Logspace) else axis.linspace)[2]), 0)
    if isinstance(axis, Range):
        start, stop = axis.range
        return max(stop - start, 0)
    return len(axis)


class SweepAxes(Strict):
    """Each key is a parameter of the system or start; the run is the grid of all of them, in
    the order written. `seed` sweeps the energies' seed, `initial_seed` the Dirichlet start's,
    `noise_seed` the Langevin noise's."""

    temperature: Axis | None = Field(None, description="`T`")
    mass: Axis | None = Field(None, description="`m`")
    damping: Axis | None = Field(None, description="`gamma`")
    damping_ratio: Axis | None = Field(None, description="`zeta`")
    tokens: Axis | None = Field(None, description="`N` (rows padded with masked tokens)")
    seed: Axis | None = Field(None, description="the energies' seed")
    d_k: Axis | None = Field(None, description="`random_qk`'s feature size")
    scale: Axis | None = Field(None, description="`gaussian`'s spread")
    alpha: Axis | None = Field(None, description="the Dirichlet start's concentration")
    initial_seed: Axis | None = Field(None, description="the Dirichlet start's seed")
    bath_temperature: Axis | None = Field(None, description="`T_b` of the heat bath")
    noise_seed: Axis | None = Field(None, description="the Langevin noise's seed")
    layer: Axis | None = Field(None, description="`minilm`'s layer")
    head: Axis | None = Field(None, description="`minilm`'s head")
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
        """Each swept key's values, in the order written."""
        return {key: axis_values(getattr(self, key)) for key in self.order}

    def lengths(self) -> dict[str, int]:
        """Each swept key's number of values, in the order written, without building the axes."""
        return {key: axis_length(getattr(self, key)) for key in self.order}
