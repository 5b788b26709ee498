"""Sweeps on more than one process, on the engines clusters already run:

- **Dask** (`run_on_dask`): every chunk is a task; the worker that runs it computes the chunk
  and commits it to the store itself, with the store's chunk protocol (data, then checksum), so
  a task run twice (a retry after a lost worker) writes the same bytes. This process holds the
  writer lock, prepares the store (verifying and repairing it) and summarises; the scheduler
  balances chunks over the workers and reruns the tasks of a worker that dies.
- **jax.distributed** (`run_on_jax_processes`): one JAX program on many hosts. Process 0 holds
  the lock and prepares the store; every process then takes every `count`-th chunk still to
  do, by process index, and runs it on its local devices; process 0 summarises once all are
  committed. A process that dies ends the job (JAX's health check); rerunning the same command
  resumes from the committed chunks.

Both need `out_dir` on a file system every worker or process sees. Nothing here imports Dask
or JAX until a function is called.
"""

from __future__ import annotations

import contextlib
import pathlib

import numpy as np

from . import plan as planning
from . import store
from .chunk import compute_chunk
from .config.loaded_config import LoadedConfig
from .run import finish, prepare_store, provenance, run_chunks
from .summary import RunSummary


class EngineError(Exception):
    """The processes of a run disagree (config, store) or one of them could not start."""


# --- Dask ---------------------------------------------------------------------------------------


def run_on_dask(
    loaded: LoadedConfig,
    out_dir,
    client,
    *,
    resume: bool = True,
    devices: int | None = None,
    cache_dir=None,
    netcdf: bool = False,
    on_chunk=None,
) -> RunSummary:
    """Run (or resume) the sweep into `out_dir` as one Dask task per chunk still to do, on the
    cluster of `client` (a `distributed.Client`). Each task uses `devices` local devices of its
    worker (default all of them) and the persistent compilation cache `cache_dir` (default the
    worker's own: `$THERMO_ODE_CACHE_DIR` or `~/.cache/thermo-ode/jax`). `on_chunk(done,
    total)` reports progress; `netcdf` writes results.nc once the store is finished. The store
    equals, bit for bit, a one-process run on any number of devices (docs/guarantees.md)."""
    from distributed import as_completed

    out_dir = pathlib.Path(out_dir).absolute()  # workers may start elsewhere
    plan = planning.plan_sweep(loaded)
    report = on_chunk or (lambda done, total: None)
    with store.writer_lock(out_dir):
        attrs = provenance(loaded, devices or 0, engine="dask", backend="(the workers')")
        repaired, todo, mine, group = prepare_store(out_dir, plan, attrs, resume, None)
        report(len(mine) - len(todo), len(mine))
        keys = [f"thermo-ode-{loaded.digest[:12]}-chunk-{chunk}" for chunk in todo]
        futures = client.map(
            _dask_task,
            todo,
            key=keys,
            loaded=loaded,
            out_dir=str(out_dir),
            devices=devices,
            cache_dir=None if cache_dir is None else str(cache_dir),
        )
        made_on = set()
        try:
            for count, future in enumerate(as_completed(futures), start=1):
                made_on.add(future.result())
                report(len(mine) - len(todo) + count, len(mine))
        finally:
            client.cancel(futures)  # on a failure or Ctrl-C: nothing more is started
        if made_on:  # what the chunks of this run were computed on
            store.record_machine(group, ", ".join(sorted({b for b, _ in made_on})), max(n for _, n in made_on))
        return finish(out_dir, repaired, netcdf)


def _dask_task(chunk: int, *, loaded: LoadedConfig, out_dir: str, devices: int | None, cache_dir: str | None):
    """Compute and commit one chunk on a Dask worker; returns (backend, devices used)."""
    from ..caching import enable_compilation_cache
    from ..devices import use_exact_cpu_code

    enable_compilation_cache(cache_dir)  # before equinox is imported in a fresh worker
    use_exact_cpu_code()  # before the worker's first jax operation (a later task: already set)
    import jax

    plan = planning.plan_sweep(loaded)
    # A context, not a global flag: the worker may serve runs of either precision.
    with jax.enable_x64(loaded.config.precision == "float64"):
        data = compute_chunk(loaded, plan, chunk, devices)
    store.write_chunk(store.open_writable(out_dir), plan, chunk, data)
    return jax.default_backend(), devices or jax.local_device_count()


def local_cluster(workers: int):
    """A Dask cluster of `workers` processes on this machine, one thread each (JAX uses the
    cores of its process), and a client of it."""
    import logging

    from distributed import Client, LocalCluster

    # Its own log lines (a worker killed at shutdown after a timeout) are noise beside the
    # run's output; errors still show.
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
    )
    return Client(cluster)


# --- jax.distributed ----------------------------------------------------------------------------


def run_on_jax_processes(
    loaded: LoadedConfig,
    out_dir,
    *,
    resume: bool = True,
    devices: int | None = None,
    netcdf: bool = False,
    on_chunk=None,
) -> RunSummary | None:
    """Run (or resume) the sweep into `out_dir` from every process of a `jax.distributed` job
    (call `jax.distributed.initialize` first). Each process computes every `count`-th chunk
    still to do on `devices` of its local devices (default all). Process 0 returns the
    summary once every chunk is committed (and, with `netcdf`, writes results.nc); the others
    return None."""
    import jax
    from jax.experimental import multihost_utils

    me, count = jax.process_index(), jax.process_count()
    out_dir = pathlib.Path(out_dir).absolute()
    devices = jax.local_device_count() if devices is None else devices
    plan = planning.plan_sweep(loaded)
    report = on_chunk or (lambda done, total: None)
    with contextlib.ExitStack() as held:
        failure, repaired = None, ()
        if me == 0:
            try:
                held.enter_context(store.writer_lock(out_dir))
                attrs = provenance(loaded, devices, engine=f"jax.distributed, {count} processes")
                repaired = prepare_store(out_dir, plan, attrs, resume, None)[0]
            except Exception as exc:  # every process must hear of it, or they would wait forever
                failure = exc
        if not multihost_utils.broadcast_one_to_all(np.int32(failure is None)):
            if failure is not None:
                raise failure
            raise EngineError("process 0 could not open the store (its output says why)")
        problem = _same_run(loaded, out_dir)
        everyone = multihost_utils.process_allgather(np.int32(problem == ""))
        if not everyone.all():
            raise EngineError(
                problem
                or "process "
                + ", ".join(map(str, np.flatnonzero(everyone == 0)))
                + " cannot take part (its output says why)"
            )
        group = store.open_writable(out_dir)
        todo = np.flatnonzero(~store.committed(group))
        mine = [int(c) for c in todo[me::count]]  # interleaved: neighbouring chunks cost alike
        # Progress counts this process's chunks; a store with nothing left reports as complete.
        report(*((plan.chunks, plan.chunks) if todo.size == 0 else (0, len(mine))))
        run_chunks(loaded, plan, group, mine, devices, lambda done: report(done, len(mine)))
        multihost_utils.sync_global_devices("thermo-ode: every chunk committed")
        if me != 0:
            return None
        return finish(out_dir, repaired, netcdf)


def _same_run(loaded: LoadedConfig, out_dir: pathlib.Path) -> str:
    """What stops this process from writing into the store process 0 prepared ("" if nothing)."""
    import jax

    try:
        found = store.run_info(out_dir).config_digest
    except Exception as exc:
        return (
            f"process {jax.process_index()}: cannot open {store.store_path(out_dir)} ({type(exc).__name__}); "
            "--out must be on a file system every process shares"
        )
    if found != loaded.digest:
        return (
            f"process {jax.process_index()}: its config or input files differ from process 0's "
            f"(digest {loaded.digest}, the store's {found}); start every process with the same files"
        )
    return ""
