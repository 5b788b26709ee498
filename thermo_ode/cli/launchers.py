"""Start a checked run: in this process (on one device or several), as one process of a
jax.distributed job, or on a Dask cluster; and drive it under a progress bar to its exit
code, turning the failures a run can meet into one line each."""

from __future__ import annotations

import os
import socket
import sys
import time

from . import reports
from .exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

# How long a process waits for something to listen at an address it was given before it
# refuses it: process 0 of a jax.distributed job, which hosts the coordinator, may start a
# little after the others; a Dask scheduler is normally up already.
COORDINATOR_WAIT, SCHEDULER_WAIT = 10, 5


def in_this_process(args, loaded, out_dir, cache_dir) -> int:
    """The run in this process, on `--devices` local devices (or as one process of a
    jax.distributed job with `--distributed`)."""
    _running_in(out_dir)
    import jax

    from .. import use_all_cores, use_exact_cpu_code

    use_all_cores()  # one CPU device per core, before jax starts (no effect on a GPU's count)
    use_exact_cpu_code()  # the same bytes whatever the layout or CPU (Dask workers inherit it)
    # The CLI, not the library, chooses precision (before any array exists).
    jax.config.update("jax_enable_x64", loaded.config.precision == "float64")
    if args.distributed:
        problem = start_jax_distributed(args)
        if problem:
            print(problem, file=sys.stderr)
            return EXIT_USAGE
    available = jax.local_device_count()
    devices = args.devices or available
    if devices > available:
        print(f"--devices: {devices} requested, {available} local devices available", file=sys.stderr)
        return EXIT_USAGE
    cache = reports.CacheCounter()
    from .. import sweeps
    from ..sweeps import clusters

    options = dict(resume=args.resume, devices=devices, netcdf=args.netcdf)
    if args.distributed:
        label = f"{loaded.config.name} (process {jax.process_index()} of {jax.process_count()})"
        code = drive(
            out_dir,
            label,
            lambda on_chunk: clusters.run_on_jax_processes(loaded, out_dir, **options, on_chunk=on_chunk),
        )
    else:
        code = drive(
            out_dir,
            loaded.config.name,
            lambda on_chunk: sweeps.run(loaded, out_dir, **options, chunks=args.chunks, on_chunk=on_chunk),
        )
    if code is None:  # a jax.distributed process other than 0: process 0 reports
        print(f"process {jax.process_index()}: its chunks are committed; process 0 writes the summary")
        return EXIT_OK
    if code == EXIT_OK:
        print(cache.report(cache_dir))
    elif args.distributed:
        # The other processes wait in a collective: ending at once, without JAX's orderly
        # shutdown, lets its health check end them too.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def start_jax_distributed(args) -> str:
    """`jax.distributed.initialize` from the options, or from the cluster's environment; the
    problem ("" if it started)."""
    if args.coordinator is not None:
        address = _host_port(args.coordinator)
        if address is None:
            return f"--coordinator: expected HOST:PORT (process 0's address), got {args.coordinator!r}"
        why = "" if args.process_id == 0 else _nothing_listening(*address, COORDINATOR_WAIT)
        if why:  # else jax.distributed.initialize would wait minutes, silently
            return (
                f"--coordinator: nothing listening at {args.coordinator} ({why}): "
                "start process 0 (--process-id 0 hosts the coordinator) or give its HOST:PORT"
            )
    import jax

    options = dict(coordinator_address=args.coordinator, num_processes=args.num_processes, process_id=args.process_id)
    if args.heartbeat_timeout:
        options["heartbeat_timeout_seconds"] = args.heartbeat_timeout
    try:
        jax.distributed.initialize(**options)
    except (ValueError, RuntimeError) as exc:
        return (
            f"--distributed: jax.distributed could not start ({exc}); outside SLURM, Open MPI or a Cloud TPU, "
            "give --coordinator, --num-processes and --process-id"
        )
    return ""


def on_dask(args, loaded, out_dir) -> int:
    """The run's chunks on a local Dask cluster (`--workers N`) or the one at `--scheduler`."""
    _running_in(out_dir)
    scheme, _, rest = (args.scheduler or "").rpartition("://")
    address = _host_port(rest) if args.scheduler and scheme in ("", "tcp", "tls") else None  # others: Dask's to try
    why = _nothing_listening(*address, SCHEDULER_WAIT) if address else ""
    if why:  # else the Dask client would try for 30 s
        print(
            f"--scheduler: nothing listening at {args.scheduler} ({why}): start the Dask "
            "scheduler first (`dask scheduler`), or give the address it prints (tcp://HOST:PORT)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from distributed import Client

    from .. import use_exact_cpu_code
    from ..sweeps import clusters
    from ..sweeps import plan as planning

    use_exact_cpu_code()  # local workers inherit it with the environment
    # One task a chunk: workers beyond the chunks would only idle (after starting JAX).
    chunks = planning.plan_sweep(loaded).chunks
    starting = min(args.workers or 0, chunks)
    if args.workers and args.workers > chunks:
        print(
            f"note: --workers {args.workers}: {_idle(chunks, args.workers)} would idle; starting {chunks}",
            file=sys.stderr,
        )
    try:
        client = clusters.local_cluster(starting) if starting else Client(args.scheduler, timeout="30s")
    except (OSError, TimeoutError, ValueError) as exc:
        print(
            f"--scheduler: cannot reach the Dask scheduler at {args.scheduler} ({type(exc).__name__}: {exc})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    with client:
        workers = len(client.scheduler_info(n_workers=-1)["workers"]) if args.scheduler else starting
        if args.scheduler and workers > chunks:
            print(f"note: --scheduler: {_idle(chunks, workers)} of its {workers} will idle", file=sys.stderr)
        print(f"dask: {_plural(workers, 'worker')}; dashboard {client.dashboard_link}")

        def start(on_chunk):
            return clusters.run_on_dask(
                loaded,
                out_dir,
                client,
                resume=args.resume,
                devices=args.devices,
                cache_dir=args.cache_dir,
                netcdf=args.netcdf,
                on_chunk=on_chunk,
            )

        code = drive(out_dir, loaded.config.name, start)
        if args.workers:
            client.cluster.close()
    if code == EXIT_OK:
        print("compilation: on the workers, each with its persistent cache")
    return code  # type: ignore[return-value]  # run_on_dask always returns a summary: never None


def _idle(chunks: int, workers: int) -> str:
    """`1 chunk to run, 1 worker`: the chunks, and the workers beyond them."""
    return f"{_plural(chunks, 'chunk')} to run, {_plural(workers - chunks, 'worker')}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _host_port(text: str) -> tuple[str, int] | None:
    """`HOST:PORT` (`[V6]:PORT` too) as (host, port); None if it is not one."""
    host, _, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def _nothing_listening(host: str, port: int, seconds: float) -> str:
    """Why nothing accepts a TCP connection at host:port, after trying for `seconds`, for a
    message; "" as soon as something does."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection((host, port), timeout=max(0.2, min(1.0, deadline - time.monotonic()))):
                return ""
        except socket.gaierror as exc:  # no such host: waiting would not make one
            return f"{host}: {exc.strerror}"
        except OSError as exc:
            why = exc.strerror or str(exc) or type(exc).__name__
        if time.monotonic() >= deadline:
            return f"{why}; waited {seconds} s"
        time.sleep(0.2)


def _running_in(out_dir) -> None:
    """Name the run's folder in the line an interruption prints from here on."""
    from .interrupts import interruption

    interruption().folder = out_dir


def drive(out_dir, label: str, start) -> int | None:
    """Run `start(on_chunk)` (which returns the run's summary, or None in a process that does
    not report) under a progress bar; print the summary and where the results are. Returns
    the exit code, or None for a process that does not report."""
    from rich.console import Console

    from ..sweeps import clusters, store
    from .interrupts import interruption

    console, errors = Console(), Console(stderr=True)
    progress = reports.ChunkProgress(label, console)
    stop = interruption()
    try:
        with progress:
            summary = start(progress.on_chunk)
        if stop.signum:  # a signal Python dropped (in a callback): the run stops here all the same
            return stop.report()
        if summary is None:
            return None
        for line in summary.repaired:
            console.print(f"repaired: {line}", soft_wrap=True)
    except (store.ConfigMismatch, store.StoreBusy, store.StoreDamaged, clusters.EngineError) as exc:
        print(f"--out: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # SIGINT or SIGTERM (the handlers of app.main): 130 or 143
        return stop.report()
    except OSError as exc:  # a full disk, a read-only folder: what was committed stays
        errors.print(
            f"[bold red]run failed:[/] {reports.os_error(exc, out_dir)}; committed chunks are kept in {out_dir}: "
            "free the space (or fix the folder) and rerun the same command to resume",
            soft_wrap=True,
        )
        return EXIT_FAILED
    except Exception as exc:  # the run could not finish; what was written stays
        errors.print(
            f"[bold red]run failed:[/] {type(exc).__name__}: {exc}; committed chunks are kept in {out_dir}",
            soft_wrap=True,
        )
        return EXIT_FAILED
    before = progress.before
    if before and before[0] == before[1] and not summary.repaired:
        console.print(
            f"already complete: {before[0]}/{before[1]} chunks in {out_dir} (checksums verified); nothing to run "
            "(--no-resume starts afresh)",
            soft_wrap=True,
        )
    reports.print_summary(console, summary)
    reports.print_where(console, summary)
    return EXIT_OK
