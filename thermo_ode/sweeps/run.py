"""Run a sweep: plan the grid, skip chunks already in the store, simulate the rest chunk by
chunk (one compiled program for all of them) and write each chunk as it finishes."""

from __future__ import annotations

import json
import os
import platform
import typing
from collections.abc import Callable, Iterable
from importlib import metadata

import numpy as np

from ..formulas import equipartition
from . import plan as planning
from . import store
from .loading import LoadedConfig
from .schema import resolved_json
from .store import PARAMETERS


class RunSummary(typing.NamedTuple):
    """Counts over the committed chunks of a run, as `run` returns and `summarize` reads them.

    Rows are counted point by point and query row by query row: `points` rows, of which
    `converged` ended within the config's tolerance of softmax, `failed` had a solver failure
    and `not_converged` solved but ended above the tolerance. `slowest_relaxation` and
    `worst_final_distance` say where (`slowest_at`, `worst_at`); `thermal` counts heat-bath
    points and `equipartition` their mean `<K> / ((N - 1) T_b / 2)`. `finished` is True once
    every chunk is in.

    Examples:
        >>> import tempfile
        >>> from thermo_ode import sweeps
        >>> loaded = sweeps.parse('''
        ... name: demo
        ... precision: float32
        ... system: {tokens: 3, energies: {kind: list, values: [0.0, 1.0, 2.0]}, temperature: 1.0}
        ... sweep: {damping_ratio: [0.5, 2.0]}
        ... integrate: {t1: {relaxation_times: 20}, saves: 5}
        ... verify: {tolerance: 1.0e-4}
        ... ''')
        >>> out = tempfile.mkdtemp()
        >>> summary = sweeps.run(loaded, out)
        >>> summary.points, summary.converged, summary.failed, summary.finished
        (2, 2, 0, True)
        >>> summary.slowest_at
        'damping_ratio=2, query row 0'
    """

    points: int  # points x query rows
    converged: int
    failed: int  # solver status != 0
    not_converged: int  # solved but still above the tolerance at t1
    slowest_relaxation: float  # physical time; NaN if nothing converged
    slowest_at: str  # the point and row of the slowest relaxation ("" if none)
    worst_final_distance: float  # over deterministic rows that solved; NaN if none
    worst_at: str
    tolerance: float
    thermal: int  # points with bath_temperature > 0 (they fluctuate: not counted as converging)
    equipartition: float  # mean over thermal points of <K> / ((N - 1) T_b / 2); NaN if none
    chunks_done: int
    chunks_total: int
    out_dir: str
    repaired: tuple[str, ...] = ()  # committed chunks that failed verification and were recomputed

    @property
    def finished(self) -> bool:
        """Whether every chunk of the run is in the store."""
        return self.chunks_done == self.chunks_total


def provenance(loaded: LoadedConfig, devices: int, *, engine: str = "one process", backend: str | None = None) -> dict:
    """What the store records of how it was made (not part of the run's identity). `backend`
    defaults to this process's JAX backend."""
    if backend is None:
        import jax

        backend = jax.default_backend()
    packages = ("thermo-ode", "jax", "jaxlib", "diffrax", "equinox", "numpy", "xarray", "zarr", "pydantic")
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "name": loaded.config.name,
        "config_text": loaded.text,
        "config_resolved": resolved_json(loaded.config),
        "config_digest": loaded.digest,
        "config_path": str(loaded.path) if loaded.path else "",
        "versions": json.dumps(versions),
        "python": platform.python_version(),
        "backend": backend,
        "device_count": devices,
        "engine": engine,
        "precision": loaded.config.precision,
    }


def run(
    loaded: LoadedConfig,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = True,
    devices: int | None = None,
    chunks: range | None = None,
    netcdf: bool = False,
    on_chunk: Callable[[int, int], object] | None = None,
) -> RunSummary:
    """Run (or resume) the sweep into the store in `out_dir` and return its summary.

    Each chunk is split over `devices` local devices (default all). Chunks already in the
    store are kept (`resume=False` replaces the store). `chunks` restricts this process to a
    range of chunk indices (for several hosts sharing one store); `netcdf` writes results.nc
    once the store is finished; `on_chunk(done, total)` reports progress.

    Examples:
        >>> import tempfile
        >>> from thermo_ode import sweeps
        >>> loaded = sweeps.parse('''
        ... name: demo
        ... precision: float32
        ... system: {tokens: 3, energies: {kind: list, values: [0.0, 1.0, 2.0]}, temperature: 1.0}
        ... sweep: {damping_ratio: [0.5, 2.0]}
        ... integrate: {t1: {relaxation_times: 20}, saves: 5}
        ... verify: {tolerance: 1.0e-4}
        ... ''')
        >>> out = tempfile.mkdtemp()
        >>> summary = sweeps.run(loaded, out, on_chunk=lambda done, total: print(f"{done}/{total} chunks"))
        0/1 chunks
        1/1 chunks
        >>> summary.converged, summary.finished
        (2, True)
        >>> sweeps.run(loaded, out).chunks_done  # resumed: nothing left to compute
        1
    """
    import jax

    devices = jax.local_device_count() if devices is None else devices
    plan = planning.plan_sweep(loaded)
    engine = "one process" if chunks is None else f"processes sharing --chunks (this one {chunks.start}:{chunks.stop})"
    with store.writer_lock(out_dir, shared=chunks is not None):
        repaired, todo, mine, group = prepare_store(
            out_dir, plan, provenance(loaded, devices, engine=engine), resume, chunks
        )
        if on_chunk:
            on_chunk(len(mine) - len(todo), len(mine))
        run_chunks(
            loaded,
            plan,
            group,
            todo,
            devices,
            lambda count: on_chunk and on_chunk(len(mine) - len(todo) + count, len(mine)),
        )
        return finish(out_dir, repaired, netcdf)


def finish(out_dir, repaired: tuple[str, ...], netcdf: bool) -> RunSummary:
    """The run's summary, and (with `netcdf`, once every chunk is in) its one-file copy; call
    it holding the writer lock, so no other run can write meanwhile."""
    summary = summarize(out_dir)._replace(repaired=repaired)
    if netcdf and summary.finished and not store.netcdf_current(out_dir):
        store.export_netcdf(out_dir)
    return summary


def prepare_store(out_dir, plan, attrs, resume: bool, chunks: range | None):
    """Open (or create, or replace) the store, verify the committed chunks this process owns and
    uncommit those that fail, so they are computed again. Returns what was repaired, the chunks
    to compute, this process's chunk range and the group."""
    group = store.open_for_run(out_dir, plan, attrs, resume)
    mine = range(plan.chunks) if chunks is None else range(max(chunks.start, 0), min(chunks.stop, plan.chunks))
    check = store.verify(group, mine)
    if check.layout_problem:
        raise store.StoreDamaged(f"{store.store_path(out_dir)}: {check.layout_problem}")
    repaired = tuple(check.describe(limit=len(check.damaged)))
    if check.static_problem:
        store.repair_static(group, plan)
    if check.damaged:
        store.uncommit(group, check.damaged)
    if not check.intact:
        store.remove_netcdf(out_dir)  # written from what was damaged
    done = store.committed(group)
    return repaired, [c for c in mine if not done[c]], mine, group


def run_chunks(loaded, plan, group, todo, devices, progress) -> None:
    """Compute and commit the chunks `todo` one after another; `progress(count)` after each."""
    for count, chunk in enumerate(todo, start=1):
        store.write_chunk(group, plan, chunk, compute_chunk(loaded, plan, chunk, devices))
        progress(count)


def compute_chunk(
    loaded: LoadedConfig, plan: planning.Plan, chunk: int, devices: int | None = None
) -> dict[str, np.ndarray]:
    """Simulate one chunk of the sweep on `devices` local devices (default all) and return the
    arrays the store keeps for it (`store.write_chunk` commits them). Pure in its inputs: the
    same chunk on the same number of devices gives the same bytes, in any process."""
    from ..linear import linear_theory
    from ..observables import time_averages
    from ..simulation import simulate
    from ..system import AttentionSystem

    cfg = loaded.config
    integrate = cfg.integrate
    inputs = planning.chunk_inputs(loaded, plan, chunk)
    system = AttentionSystem(
        inputs.energies, inputs.temperature[:, None], inputs.mass[:, None], inputs.damping[:, None], mask=inputs.mask
    )
    theory = linear_theory(system[:, 0])  # parameters are per point, shared by its rows
    predicted = np.asarray(theory.relaxation_time)
    t1 = planning.end_times(cfg, theory)
    dt = planning.step_sizes(cfg, theory)
    burn_in = planning.burn_in_times(cfg, theory, t1)
    noisy = bool((inputs.bath_temperature > 0).any())
    traj = simulate(
        system,
        inputs.rho0,
        t1[:, None],
        saves=plan.saves,
        chart=integrate.chart,
        solver=cfg.solver_name,
        dt=None if dt is None else dt[:, None],
        bath_temperature=inputs.bath_temperature[:, None],
        key=_point_keys(inputs, plan.queries) if noisy else None,
        rtol=cfg.tolerances[0],
        atol=cfg.tolerances[1],
        max_steps=integrate.max_steps,
        time=integrate.time,
        devices=devices,
    )
    averages = time_averages(traj, burn_in[:, None])
    t = np.asarray(traj.ts[:, 0])
    distance = np.asarray(traj.distance)
    status = np.asarray(traj.status)
    final = distance[..., -1]
    converged = (status == 0) & (final < cfg.verify.tolerance)
    relax = np.where(
        converged,
        planning.relaxation_time(np.broadcast_to(t[:, None], distance.shape), distance, cfg.verify.tolerance),
        np.nan,
    )
    parameters = dict(
        temperature=inputs.temperature,
        mass=inputs.mass,
        damping=inputs.damping,
        t1=t1,
        bath_temperature=inputs.bath_temperature,
        dt=np.full_like(t1, np.nan) if dt is None else dt,
        burn_in=burn_in,
    )
    return {
        "mean_kinetic_energy": np.asarray(averages.kinetic_energy, float),
        "mean_distance": np.asarray(averages.distance, float),
        "mean_rho": np.asarray(averages.rho, float),
        "rho_fluctuation": np.asarray(averages.rho_fluctuation, float),
        "rho": np.asarray(traj.rho, float),
        "rho_dot": np.asarray(traj.rho_dot, float),
        "distance": distance,
        "hamiltonian": np.asarray(traj.hamiltonian, float),
        "free_energy": np.asarray(traj.free_energy, float),
        "equilibrium": np.asarray(traj.equilibrium, float),
        "energies": inputs.energies,
        "mask": inputs.mask,
        "status": status.astype(np.int32),
        "num_steps": np.asarray(traj.num_steps).astype(np.int64),
        "final_distance": final,
        "converged": converged,
        "relaxation_time": relax,
        "predicted_relaxation_time": predicted,
        "t": t,
        "parameters": np.stack([parameters[name] for name in PARAMETERS], axis=-1),
    }


def _point_keys(inputs, queries: int):
    """Noise keys `(C, Q)`: each point's from its noise seed and flat index (so a point's noise
    does not depend on the chunking), split over its query rows."""
    import jax

    def point_key(seed, index):
        return jax.random.split(jax.random.fold_in(jax.random.key(seed), index), queries)

    return jax.vmap(point_key)(np.asarray(inputs.noise_seed, np.uint32), np.asarray(inputs.index, np.uint32))


def summarize(out_dir: str | os.PathLike[str], exclude: Iterable[int] = ()) -> RunSummary:
    """The `RunSummary` of the chunks committed so far, of a finished or an interrupted run.

    The chunks in `exclude` (those that failed verification) are left out.

    Examples:
        >>> import tempfile
        >>> from thermo_ode import sweeps
        >>> loaded = sweeps.parse('''
        ... name: demo
        ... precision: float32
        ... system: {tokens: 3, energies: {kind: list, values: [0.0, 1.0, 2.0]}, temperature: 1.0}
        ... sweep: {damping_ratio: [0.5, 2.0]}
        ... integrate: {t1: {relaxation_times: 20}, saves: 5}
        ... verify: {tolerance: 1.0e-4}
        ... ''')
        >>> out = tempfile.mkdtemp()
        >>> _ = sweeps.run(loaded, out)
        >>> sweeps.summarize(out).converged
        2
        >>> summary = sweeps.summarize(out, exclude=[0])
        >>> summary.points, summary.chunks_done, summary.chunks_total
        (0, 0, 1)
    """
    import zarr

    group = zarr.open_group(store.store_path(out_dir), mode="r")
    done = store.committed(group)
    done[list(exclude)] = False
    chunk_size = int(group.attrs["chunk_size"])  # type: ignore[arg-type]  # a JSON number
    points = group["status"].shape[0]  # type: ignore[union-attr]  # an array, not a group
    spans: list[tuple] = []  # point ranges of the included chunks, neighbours joined (a finished store: one read)
    for c in np.flatnonzero(done):
        start, stop = c * chunk_size, min((c + 1) * chunk_size, points)
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], stop)
        else:
            spans.append((start, stop))

    def read(name):  # the included chunks only: an excluded one may not even decode
        array = group[name]
        parts = [np.asarray(array[a:b]) for a, b in spans]
        return np.concatenate(parts) if parts else np.zeros((0,) + array.shape[1:], array.dtype)

    rows = np.concatenate([np.arange(a, b) for a, b in spans]) if spans else np.zeros(0, int)
    status = read("status")
    converged = read("converged")
    relax = read("relaxation_time")
    final = read("final_distance")
    failed = int((status != 0).sum())
    bath = np.broadcast_to(read("parameters")[:, PARAMETERS.index("bath_temperature")][:, None], status.shape)
    thermal = bath > 0
    live = read("mask").sum(-1)
    kinetic = read("mean_kinetic_energy")
    ratio = kinetic[thermal & (status == 0)] / equipartition(live, bath)[thermal & (status == 0)]
    where = _Where(group, rows)
    deterministic = (status == 0) & ~thermal
    worst = np.where(deterministic, final, -np.inf)
    worst_index = np.unravel_index(np.argmax(worst), worst.shape) if deterministic.any() else None
    slow_index = np.unravel_index(np.nanargmax(relax), relax.shape) if np.isfinite(relax).any() else None
    return RunSummary(
        points=int(status.size),
        converged=int(converged.sum()),
        failed=failed,
        not_converged=int((deterministic & ~converged).sum()),
        slowest_relaxation=float(relax[slow_index]) if slow_index else float("nan"),
        slowest_at=where(slow_index),
        worst_final_distance=float(final[worst_index]) if worst_index else float("nan"),
        worst_at=where(worst_index),
        tolerance=float(json.loads(group.attrs["config_resolved"])["verify"]["tolerance"]),  # type: ignore[arg-type]  # JSON text
        thermal=int(thermal.sum()),
        equipartition=float(ratio.mean()) if ratio.size else float("nan"),
        chunks_done=int(done.sum()),
        chunks_total=int(done.size),
        out_dir=str(out_dir),
    )


class _Where:
    """Names a (point, query row) of the written rows by its swept values."""

    def __init__(self, group, point_indices: np.ndarray):
        self.group, self.keys = group, json.loads(group.attrs["sweep_keys"])
        self.point_indices = point_indices

    def __call__(self, index) -> str:
        if index is None:
            return ""
        point = int(self.point_indices[index[0]])
        named = [f"{key}={self.group[key][point]:.4g}" for key in self.keys]  # one value each, not the axis
        return ", ".join(named + [f"query row {index[1]}"])
