"""From a validated config to fixed-size chunks of systems, and from trajectories to the
per-point observables the store keeps. Nothing here reads YAML or writes files.

A sweep is the grid of its axes, flattened in C order into `points`; every point is a head of
`queries` rows over `tokens` keys. Points with fewer tokens than the largest are padded with
masked tokens, so the whole grid shares one array shape and one compiled program.
"""

from __future__ import annotations

import math
import typing

import numpy as np

from ..formulas import causal_mask, damping_from_ratio, energies_from_qk
from .config.loaded_config import LoadedConfig
from .config.schema import spec_to_physical

# Dirichlet draws can underflow to exactly 0 for small alpha; a zero is an invariant face, not
# what a random start means, so draws are floored here.
DIRICHLET_FLOOR = 1e-300


class Plan(typing.NamedTuple):
    """The shape of a sweep: axes in config order, grid shape, points, rows and padded tokens.

    - `axes`: each swept key's values, in the order the config writes them.
    - `shape`: the grid's shape (one axis per key); `points`: its size.
    - `queries`: rows (query tokens) per point; `tokens`: `N`, padded to the longest row.
    - `saves`: saved times per row; `chunk_size`: points per compiled chunk.

    Examples:
        >>> from thermo_ode import sweeps
        >>> plan = sweeps.plan_sweep(sweeps.load(sweeps.default_config_path()))
        >>> plan.shape, plan.points, plan.chunk_size, plan.chunks
        ((4, 3, 4), 48, 16, 3)
        >>> plan.point_values(47), plan.chunk_range(2)
        ({'temperature': 10.0, 'mass': 10.0, 'seed': 3}, (32, 48))
    """

    axes: dict[str, np.ndarray]
    shape: tuple[int, ...]
    points: int
    queries: int
    tokens: int
    saves: int
    chunk_size: int

    @property
    def chunks(self) -> int:
        """The number of chunks (the last may be short)."""
        return math.ceil(self.points / self.chunk_size)

    def chunk_range(self, chunk: int) -> tuple[int, int]:
        """The flat point indices `[start, stop)` of a chunk."""
        start = chunk * self.chunk_size
        return start, min(start + self.chunk_size, self.points)

    def point_values(self, index: int) -> dict[str, float]:
        """The swept values of one flat point index."""
        position = np.unravel_index(index, self.shape) if self.shape else ()
        return {key: values[i].item() for (key, values), i in zip(self.axes.items(), position)}


def plan_sweep(loaded: LoadedConfig) -> Plan:
    """The `Plan` of a checked config: its grid, rows, tokens, saves and chunks.

    The layout depends on the config alone (not on devices), so any process can resume.

    Examples:
        >>> from thermo_ode import sweeps
        >>> plan = sweeps.plan_sweep(sweeps.parse('''
        ... name: demo
        ... system: {tokens: 3, energies: {kind: list, values: [0.0, 1.0, 2.0]}, temperature: 1.0}
        ... sweep: {damping_ratio: [0.5, 1.0, 2.0], mass: [1.0, 4.0]}
        ... integrate: {saves: 11, chunk_size: 4}
        ... '''))
        >>> plan.shape, plan.points, plan.queries, plan.tokens, plan.saves, plan.chunks
        ((3, 2), 6, 1, 3, 11, 2)
    """
    cfg = loaded.config
    axes = cfg.sweep.axes()
    shape = tuple(len(v) for v in axes.values())
    points = math.prod(shape)
    chunk = min(cfg.integrate.chunk_size, points)
    return Plan(axes, shape, points, loaded.rows_per_point, cfg.max_tokens, cfg.integrate.saves, chunk)


def is_thermal(loaded: LoadedConfig, plan: Plan) -> bool:
    """Whether any point of the sweep has a heat bath. Every chunk of a thermal sweep runs the
    noisy program, its zero-bath points too, so that a point's bits do not depend on the
    chunk it falls in (the noise-free program is compiled, and so rounded, otherwise)."""
    if "bath_temperature" in plan.axes:
        return bool((np.asarray(plan.axes["bath_temperature"], float) > 0).any())
    return float(loaded.config.value_at("bath_temperature", plan.point_values(0)) or 0) > 0


class ChunkInputs(typing.NamedTuple):
    """Inputs for `chunk_size` points (the tail padded by repeating the last point)."""

    energies: np.ndarray  # (C, Q, N)
    mask: np.ndarray  # (C, Q, N)
    temperature: np.ndarray  # (C,)
    mass: np.ndarray
    damping: np.ndarray
    bath_temperature: np.ndarray  # (C,)
    noise_seed: np.ndarray  # (C,) int
    index: np.ndarray  # type: ignore[assignment]  # (C,) flat point index (padding repeats the last); shadows tuple.index
    rho0: np.ndarray  # (C, Q, N)


def chunk_inputs(loaded: LoadedConfig, plan: Plan, chunk: int) -> ChunkInputs:
    """The systems, starts and noise seeds of one chunk's points, stacked."""
    start, stop = plan.chunk_range(chunk)
    indices = list(range(start, stop)) + [stop - 1] * (plan.chunk_size - (stop - start))
    rows = [_point(loaded, plan, i) for i in indices]
    stack = lambda k: np.stack([r[k] for r in rows])
    return ChunkInputs(
        stack("energies"),
        stack("mask"),
        stack("temperature"),
        stack("mass"),
        stack("damping"),
        stack("bath_temperature"),
        stack("noise_seed"),
        np.asarray(indices),
        stack("rho0"),
    )


def _point(loaded: LoadedConfig, plan: Plan, index: int) -> dict:
    """One point's energies, mask, parameters and start, from its swept values and the fixed ones."""
    cfg = loaded.config
    system_cfg, energies_cfg = cfg.system, cfg.system.energies
    point = plan.point_values(index)
    at: typing.Callable[[str], typing.Any] = lambda key: cfg.value_at(key, point)
    n, Q, N = int(at("tokens")), plan.queries, plan.tokens

    if energies_cfg.kind == "random_qk":
        rng = np.random.default_rng(int(at("seed")))
        d_k = int(at("d_k"))
        energies = energies_from_qk(rng.normal(size=(Q, d_k)), rng.normal(size=(n, d_k)))
    elif energies_cfg.kind == "gaussian":
        rng = np.random.default_rng(int(at("seed")))
        energies = rng.normal(size=(Q, n)) * at("scale")
    elif energies_cfg.kind == "minilm":
        from ..sources import attention_heads

        head = attention_heads(energies_cfg.text, layer=int(at("layer")), head=int(at("head")))
        energies = energies_from_qk(head.q.astype(np.float64), head.k.astype(np.float64))
    else:
        energies = np.broadcast_to(loaded.energies, (Q, n))
    T, m = at("temperature"), at("mass")
    gamma = at("damping") if cfg.damping_key == "damping" else damping_from_ratio(at("damping_ratio"), m, T)

    mask = np.zeros((Q, N), bool)
    if system_cfg.mask == "causal":
        mask[:, :n] = causal_mask(Q, n)
    else:
        mask[:, :n] = True
    padded = np.zeros((Q, N))
    padded[:, :n] = energies

    init = cfg.initial
    if init.kind == "uniform":
        rho0 = mask / mask.sum(-1, keepdims=True)
    elif init.kind == "dirichlet":
        rng = np.random.default_rng(int(at("initial_seed")))
        draw = np.zeros((Q, N))
        draw[:, :n] = rng.dirichlet(np.full(n, at("alpha")), size=Q)
        draw = np.where(mask, np.maximum(draw, DIRICHLET_FLOOR), 0)
        rho0 = draw / draw.sum(-1, keepdims=True)
    else:
        rho0 = np.broadcast_to(np.asarray(init.values, float), (Q, N)) / np.sum(init.values)

    return dict(
        energies=padded,
        mask=mask,
        temperature=T,
        mass=m,
        damping=gamma,
        bath_temperature=at("bath_temperature"),
        noise_seed=int(at("noise_seed")),
        rho0=rho0,
    )


def end_times(cfg, theory) -> np.ndarray:
    """`integrate.t1` in physical time for each point, from its `LinearTheory` (1-D batch)."""
    return physical_times(cfg.integrate.t1, theory)


def step_sizes(cfg, theory) -> np.ndarray | None:
    """`integrate.dt` in physical time for each point, or None (adaptive steps)."""
    return None if cfg.integrate.dt is None else physical_times(cfg.integrate.dt, theory)


def burn_in_times(cfg, theory, t1: np.ndarray) -> np.ndarray:
    """Start of the time averages for each point: `integrate.burn_in`, default half of t1."""
    if cfg.integrate.burn_in is None:
        return t1 / 2
    return np.minimum(physical_times(cfg.integrate.burn_in, theory), t1)


def physical_times(spec, theory) -> np.ndarray:
    """A time written as a number (physical), `{natural: tau}` or `{relaxation_times: k}`, for
    each point of a `LinearTheory` (1-D batch)."""
    return spec_to_physical(spec, np.asarray(theory.natural_frequency), np.asarray(theory.relaxation_time))
