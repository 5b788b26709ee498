"""Run a sweep: plan the grid, skip chunks already in the store (verifying them, and repairing
what is damaged), simulate the rest chunk by chunk (one compiled program for all of them) and
commit each chunk as it finishes; then the run's summary and, if asked, its netCDF copy."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from importlib import metadata

from . import plan as planning
from . import store
from .chunk import compute_chunk
from .config.loaded_config import LoadedConfig
from .config.schema import resolved_json
from .summary import RunSummary, summarize


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
        "versions": versions,  # the store keeps it as JSON text
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
        The demo's config (`demo_run`), run into a new folder:

        >>> import tempfile
        >>> from thermo_ode import sweeps
        >>> loaded = sweeps.load(sweeps.demo_run() / "demo.yaml")
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
    problem = store.metadata_check(out_dir)
    if problem:  # never report a store as repaired, or finished, that does not verify
        raise store.StoreDamaged(f"{store.store_path(out_dir)}: {problem}")
    summary = summarize(out_dir)._replace(repaired=repaired)
    if netcdf and summary.finished and not store.netcdf_current(out_dir):
        store.export_netcdf(out_dir)
    return summary


def prepare_store(out_dir, plan, attrs, resume: bool, chunks: range | None):
    """Open (or create, or replace) the store, verify the committed chunks this process owns and
    uncommit those that fail, so they are computed again. Returns what was repaired, the chunks
    to compute, this process's chunk range and the group."""
    group, restored = store.open_for_run(out_dir, plan, attrs, resume)
    mine = range(plan.chunks) if chunks is None else range(max(chunks.start, 0), min(chunks.stop, plan.chunks))
    check = store.verify(group, mine)
    if check.metadata_problem:  # what open_for_run wrote back did not take
        raise store.StoreDamaged(f"{store.store_path(out_dir)}: {check.metadata_problem}")
    recomputed = [f"{line}; recomputed" for line in check.describe(limit=len(check.damaged))]
    repaired = restored + tuple(recomputed)
    store.repair(group, plan, check, out_dir)
    done = store.committed(group)
    return repaired, [c for c in mine if not done[c]], mine, group


def run_chunks(loaded, plan, group, todo, devices, progress) -> None:
    """Compute and commit the chunks `todo` one after another; `progress(count)` after each."""
    for count, chunk in enumerate(todo, start=1):
        store.write_chunk(group, plan, chunk, compute_chunk(loaded, plan, chunk, devices))
        progress(count)
