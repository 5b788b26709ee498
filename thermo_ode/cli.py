"""`thermo-ode` command line: run, validate and show sweeps.

jax is imported only inside the commands that need it, so `--help` and `validate` are instant.
Exit codes: 0 success, 1 a run that could not finish, 2 bad config or arguments.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import os
import pathlib
import sys

from .caching import DEFAULT_CACHE_DIR

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _chunk_range(text: str) -> range:
    try:
        start, stop = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:STOP chunk indices, got {text!r}") from None
    if not 0 <= start <= stop:
        raise argparse.ArgumentTypeError(f"need 0 <= START <= STOP, got {text!r}")
    return range(start, stop)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="thermo-ode",
        description="Attention as a Lagrangian system on the Fisher-Rao hypersphere: sweep it and check it relaxes to softmax.",
    )
    parser.add_argument("--version", action="version", version=f"thermo-ode {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run", help="run (or resume) a sweep", description="Run a sweep config; with no CONFIG, the embedded default."
    )
    run.add_argument("config", nargs="?", help="YAML sweep config (default: the embedded configs/default.yaml)")
    run.add_argument("--out", help="output folder (default: results/<name>)")
    run.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue from the chunks already in --out (default); --no-resume overwrites them",
    )
    run.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="override the config's precision (recorded in the store; a run's identity includes it)",
    )
    run.add_argument(
        "--devices", type=_positive_int, help="split each chunk over this many local devices (default: all)"
    )
    run.add_argument(
        "--netcdf",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also write results.nc, a one-file copy of the finished store (default); --no-netcdf for sweeps too big to copy",
    )
    run.add_argument(
        "--cache-dir",
        help=f"persistent compilation cache (default: $THERMO_ODE_CACHE_DIR, else {DEFAULT_CACHE_DIR}; "
        "with Dask, each worker's own default)",
    )
    engines = run.add_argument_group(
        "more than one process (docs/clusters.md); --out must be on a file system they all share"
    )
    engine = engines.add_mutually_exclusive_group()
    engine.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="run the chunks on a local Dask cluster of N worker processes",
    )
    engine.add_argument(
        "--scheduler", metavar="ADDRESS", help="run the chunks on the Dask cluster at ADDRESS (tcp://host:port)"
    )
    engine.add_argument(
        "--distributed",
        action="store_true",
        help="one process of a jax.distributed job (SLURM, Open MPI and Cloud TPU are detected; else --coordinator ...)",
    )
    engine.add_argument(
        "--chunks",
        type=_chunk_range,
        metavar="START:STOP",
        help="only these chunk indices: for independent jobs (a job array) with no network between them",
    )
    engines.add_argument("--coordinator", metavar="HOST:PORT", help="with --distributed: process 0's address")
    engines.add_argument(
        "--num-processes", type=_positive_int, metavar="N", help="with --distributed: processes in the job"
    )
    engines.add_argument(
        "--process-id", type=_non_negative_int, metavar="I", help="with --distributed: this process's index, 0 .. N-1"
    )
    engines.add_argument(
        "--heartbeat-timeout",
        type=_positive_int,
        metavar="S",
        help="with --distributed: seconds after which a silent process ends the job (default: JAX's, 100)",
    )
    validate = sub.add_parser("validate", help="check a config without running it: everything `run` would refuse")
    validate.add_argument("config", help="YAML sweep config to check")
    validate.add_argument(
        "--out", help="the output folder a run would use, for the free-disk check (default: results/<name>)"
    )
    validate.add_argument(
        "--precision", choices=PRECISIONS, help="check with this precision, as `run --precision` would"
    )
    validate.add_argument("--netcdf", action=argparse.BooleanOptionalAction, default=True, help="as for `run`")
    show = sub.add_parser("show", help="summarise a finished or interrupted run, after verifying its checksums")
    show.add_argument("dir", help="a run's output folder (the --out of `run`), or its results.zarr")
    show.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="check every committed chunk against its checksum (default; reads the whole store)",
    )
    verify = sub.add_parser(
        "verify",
        help="check every committed chunk, the arrays' layout and results.nc against what was written (exit 1 if anything is damaged)",
    )
    verify.add_argument("dir", help="a run's output folder (the --out of `run`), or its results.zarr")
    plot = sub.add_parser("plot", help="write the figures of a run (PNG, and SVG with --svg)")
    plot.add_argument("dir", help="a run's output folder (the --out of `run`), or its results.zarr")
    plot.add_argument("--svg", action="store_true", help="also write SVG")
    plot.add_argument("--figures", help="folder for the figures (default: DIR/figures)")
    sub.add_parser("version", help="print the version")
    return parser


PRECISIONS = ("float64", "float32")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help and --version
        return int(exc.code or 0)
    if args.command == "version":
        from . import __version__

        print(__version__)
        return EXIT_OK
    commands = {"run": _run, "validate": _validate, "show": _show, "plot": _plot, "verify": _verify}
    return commands[args.command](args)


def _run_dir(text: str) -> pathlib.Path | None:
    """The run folder named by `text` (the folder, or its results.zarr); None, after saying
    which runs exist nearby, when there is no run there."""
    from .sweeps import store

    path = pathlib.Path(text)
    if path.name == store.STORE_NAME and path.is_dir():
        path = path.parent
    if store.store_path(path).is_dir():
        return path
    message = f"{text}: no run here (no {store.STORE_NAME})"
    runs = store.find_runs(path if path.is_dir() else path.parent)
    close = difflib.get_close_matches(str(path), [str(r) for r in runs], n=1, cutoff=0.6)
    if close:
        message += f"; did you mean {close[0]}?"
    if runs:
        message += "\nruns found: " + ", ".join(str(r) for r in runs)
    print(message, file=sys.stderr)
    return None


def _intact_run(text: str):
    """`(run folder, its verification, EXIT_OK)`, or `(None, None, exit code)` after saying
    what is wrong: no run there, or a damaged store."""
    run_dir = _run_dir(text)
    if run_dir is None:
        return None, None, EXIT_USAGE
    check, problem = _damage(run_dir)
    if problem:
        print(problem, file=sys.stderr)
        return None, None, EXIT_FAILED
    return run_dir, check, EXIT_OK


def _plot(args) -> int:
    run_dir, _, code = _intact_run(args.dir)
    if run_dir is None:
        return code
    os.environ.setdefault("MPLBACKEND", "Agg")  # files only, no screen needed
    from .plotting import NothingToPlot, plot_run

    try:
        paths = plot_run(run_dir, svg=args.svg, figures_dir=args.figures)
    except NothingToPlot as exc:
        print(f"plot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(
            f"plot failed: {_os_error(exc)}"
            + (" (a read-only run folder? --figures writes elsewhere)" if exc.errno in (13, 30) else ""),
            file=sys.stderr,
        )
        return EXIT_FAILED
    for path in paths:
        print(path)
    return EXIT_OK


def _os_error(exc: OSError, folder=None) -> str:
    """`cannot write PATH: No space left on device (ENOSPC)` (the folder being written when the
    error does not name its file)."""
    import errno as errnos

    name = errnos.errorcode.get(exc.errno, "") if exc.errno else ""
    where = f"cannot write {exc.filename}: " if exc.filename else f"cannot write into {folder}: " if folder else ""
    return f"{where}{exc.strerror or exc}" + (f" ({name})" if name else "")


def _damage(run_dir) -> tuple[object, str]:
    """The store's verification, and what is wrong with it ("" if nothing): unreadable, or
    chunks that fail their checksums."""
    from .sweeps import store

    try:
        import zarr

        check = store.verify(zarr.open_group(store.store_path(run_dir), mode="r"))
    except Exception as exc:
        return (
            None,
            f"{run_dir}: the store cannot be read ({type(exc).__name__}: {exc}); `thermo-ode run --no-resume` writes it anew",
        )
    if check.intact:
        return check, ""
    remedy = "" if check.layout_problem else "; `thermo-ode run` with the same config recomputes what is damaged"
    return check, "\n".join([f"{run_dir}: damaged{remedy}:"] + ["  " + line for line in check.describe()])


def _load(path, precision=None):
    from .sweeps import loading

    try:
        return loading.load(
            path if path is not None else loading.default_config_path(),
            overrides={"precision": precision} if precision else None,
        )
    except loading.ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return None


def _needs(loaded, out_dir: pathlib.Path, netcdf: bool) -> tuple[str, list[str]]:
    """What a run into `out_dir` needs, as lines for people, and the problem ("" if none) when
    this machine's memory or the output's free disk cannot hold it, or `out_dir` cannot be."""
    try:
        return _sizes_against_machine(loaded, out_dir, netcdf)
    except OSError as exc:  # a name too long for the file system, a path through a file, ...
        return f"--out: {out_dir}: {exc.strerror or exc}", []


def _sizes_against_machine(loaded, out_dir: pathlib.Path, netcdf: bool) -> tuple[str, list[str]]:
    from .sweeps import limits, loading, store

    sizes = loading.sweep_sizes(loaded)
    committed_fraction = 0.0
    if store.store_path(out_dir).is_dir():
        try:
            import zarr

            done = store.committed(zarr.open_group(store.store_path(out_dir), mode="r"))
            committed_fraction = done.mean() if done.size else 0.0
        except Exception:
            committed_fraction = 0.0
    disk = int(sizes.store * (1 - committed_fraction)) + (sizes.netcdf if netcdf else 0)
    memory = sizes.run_memory(netcdf)
    free, available = limits.free_disk(out_dir), limits.available_memory()
    lines = [
        f"store {limits.human(sizes.store)} at most (uncompressed)"
        + (f", results.nc {limits.human(sizes.netcdf)}" if netcdf else ""),
        f"memory {limits.human(memory)} at most (largest: "
        + (
            "the netCDF copy"
            if memory == limits.EXPORT_COPIES * sizes.netcdf and netcdf
            else "one chunk"
            if memory == sizes.chunk_memory
            else "the per-point arrays"
        )
        + f"); {limits.human(available)} available, {limits.human(free)} free at {out_dir}",
    ]
    existing = limits.nearest_existing(out_dir)
    name_max = os.pathconf(existing, "PC_NAME_MAX") if existing.is_dir() else 255
    long = [
        part
        for part in pathlib.Path(out_dir).absolute().relative_to(existing).parts
        if len(os.fsencode(part)) > name_max
    ]
    if long:
        return (
            f"--out: the folder name {long[0][:40]}... is longer than the {name_max} bytes this file system allows",
            lines,
        )
    if not existing.is_dir():
        return f"--out: {existing} is a file, not a folder", lines
    if not limits.writable(out_dir):
        return f"--out: {existing} is not writable (a read-only folder or mount?)", lines
    if memory > available:
        return (
            f"the run needs about {limits.human(memory)} of memory, {limits.human(memory - available)} more than the "
            f"{limits.human(available)} available" + (" (--no-netcdf skips the one-file copy)" if netcdf else "")
        ), lines
    if disk > free:
        return (
            f"--out: {out_dir} has {limits.human(free)} free, the run needs up to {limits.human(disk)} "
            f"({limits.human(disk - free)} more)" + (" (--no-netcdf skips the one-file copy)" if netcdf else "")
        ), lines
    return "", lines


def _validate(args) -> int:
    loaded = _load(args.config, args.precision)
    if loaded is None:
        return EXIT_USAGE
    from .sweeps import plan as planning

    plan = planning.plan_sweep(loaded)
    axes = ", ".join(f"{k}[{len(v)}]" for k, v in plan.axes.items()) or "no sweep"
    out_dir = pathlib.Path(args.out or pathlib.Path("results") / loaded.config.name)
    problem, lines = _needs(loaded, out_dir, args.netcdf)
    if not problem:
        from .sweeps import store

        found = store.other_run(out_dir, loaded.digest)
        problem = f"--out: `run` would refuse it: {found}" if found else ""
    if problem:
        print(f"{args.config}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"{args.config}: ok: '{loaded.config.name}', {plan.points} points ({axes}) x {plan.queries} rows x {plan.tokens} tokens, {plan.chunks} chunks"
    )
    for line in lines:
        print(f"  {line}")
    return EXIT_OK


def _engine_problem(args) -> str:
    """A misuse of the engine options, naming the option ("" if none)."""
    manual = {
        "--coordinator": args.coordinator,
        "--num-processes": args.num_processes,
        "--process-id": args.process_id,
        "--heartbeat-timeout": args.heartbeat_timeout,
    }
    given = [name for name, value in manual.items() if value is not None]
    if given and not args.distributed:
        return f"{given[0]}: only with --distributed"
    named = [name for name in ("--coordinator", "--num-processes", "--process-id") if manual[name] is not None]
    if named and len(named) < 3:
        return f"--distributed: give all of --coordinator, --num-processes and --process-id, or none (missing {', '.join(sorted(set(manual) - set(named) - {'--heartbeat-timeout'}))})"
    if args.process_id is not None and args.num_processes is not None and args.process_id >= args.num_processes:
        return f"--process-id: {args.process_id} is not below --num-processes {args.num_processes}"
    if (args.workers or args.scheduler) and importlib.util.find_spec("distributed") is None:
        return f"{'--workers' if args.workers else '--scheduler'}: needs Dask: pip install 'thermo-ode[dask]'"
    return ""


def _run(args) -> int:
    problem = _engine_problem(args)
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    loaded = _load(args.config, args.precision)
    if loaded is None:
        return EXIT_USAGE
    out_dir = pathlib.Path(args.out or pathlib.Path("results") / loaded.config.name)
    problem, _ = _needs(loaded, out_dir, args.netcdf)
    if not problem and args.chunks and args.chunks.stop > 0:
        from .sweeps import plan as planning

        total = planning.plan_sweep(loaded).chunks
        if args.chunks.stop > total:  # 0:0 (create the store only) is always allowed
            problem = (
                f"--chunks: {args.chunks.start}:{args.chunks.stop} goes beyond the sweep's {total} chunks (0:{total})"
            )
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    from .caching import enable_compilation_cache

    # Before jax and equinox are imported: it sets EQX_ON_ERROR, which equinox reads on import
    # (Dask workers started from here inherit it).
    cache_dir = enable_compilation_cache(args.cache_dir)
    if args.workers or args.scheduler:
        return _run_on_dask(args, loaded, out_dir)
    import jax

    from .cores import use_all_cores

    use_all_cores()  # one CPU device per core, before jax starts (no effect on a GPU's count)
    # The CLI, not the library, chooses precision (before any array exists).
    jax.config.update("jax_enable_x64", loaded.config.precision == "float64")
    if args.distributed:
        problem = _start_jax_distributed(args)
        if problem:
            print(problem, file=sys.stderr)
            return EXIT_USAGE
    available = jax.local_device_count()
    devices = args.devices or available
    if devices > available:
        print(f"--devices: {devices} requested, {available} local devices available", file=sys.stderr)
        return EXIT_USAGE
    cache = _CacheCounter()
    from . import sweeps
    from .sweeps import engines

    if args.distributed:

        def start(on_chunk):
            return engines.run_on_jax_processes(
                loaded, out_dir, resume=args.resume, devices=devices, netcdf=args.netcdf, on_chunk=on_chunk
            )

        label = f"{loaded.config.name} (process {jax.process_index()} of {jax.process_count()})"
    else:

        def start(on_chunk):
            return sweeps.run(
                loaded,
                out_dir,
                resume=args.resume,
                devices=devices,
                chunks=args.chunks,
                netcdf=args.netcdf,
                on_chunk=on_chunk,
            )

        label = loaded.config.name
    code = _drive(out_dir, label, start)
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


def _start_jax_distributed(args) -> str:
    """`jax.distributed.initialize` from the options, or from the cluster's environment."""
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


def _run_on_dask(args, loaded, out_dir) -> int:
    from distributed import Client

    from .sweeps import engines

    try:
        client = engines.local_cluster(args.workers) if args.workers else Client(args.scheduler, timeout="30s")
    except (OSError, TimeoutError, ValueError) as exc:
        print(
            f"--scheduler: cannot reach the Dask scheduler at {args.scheduler} ({type(exc).__name__}: {exc})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    with client:
        workers = len(client.scheduler_info(n_workers=-1)["workers"]) if args.scheduler else args.workers
        print(f"dask: {workers} workers; dashboard {client.dashboard_link}")

        def start(on_chunk):
            return engines.run_on_dask(
                loaded,
                out_dir,
                client,
                resume=args.resume,
                devices=args.devices,
                cache_dir=args.cache_dir,
                netcdf=args.netcdf,
                on_chunk=on_chunk,
            )

        code = _drive(out_dir, loaded.config.name, start)
        if args.workers:
            client.cluster.close()
    if code == EXIT_OK:
        print("compilation: on the workers, each with its persistent cache")
    return code  # type: ignore[return-value]  # run_on_dask always returns a summary: never None


def _drive(out_dir, label: str, start) -> int | None:
    """Run `start(on_chunk)` (which returns the run's summary, or None in a process that does
    not report) under a progress bar; print the summary and write the netCDF copy. Returns
    the exit code, or None for a process that does not report."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .sweeps import engines, store

    console, errors = Console(), Console(stderr=True)
    progress = Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeElapsedColumn(),
        console=console,
    )
    task = progress.add_task("run", total=None)
    already: list[tuple[int, int]] = []  # (done, total) before this process ran anything

    def on_chunk(done, total):
        if not already:
            already.append((done, total))
        progress.update(task, completed=done, total=total)

    try:
        with progress:
            summary = start(on_chunk)
        if summary is None:
            return None
        for line in summary.repaired:
            console.print(f"repaired: {line}; recomputed", soft_wrap=True)
    except (store.ConfigMismatch, store.StoreBusy, store.StoreDamaged, engines.EngineError) as exc:
        print(f"--out: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        errors.print(
            f"interrupted: finished chunks are kept in {out_dir}; rerun the same command to resume", soft_wrap=True
        )
        return EXIT_FAILED
    except OSError as exc:  # a full disk, a read-only folder: what was committed stays
        errors.print(
            f"[bold red]run failed:[/] {_os_error(exc, out_dir)}; committed chunks are kept in {out_dir}: "
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
    complete_before = already and already[0][0] == already[0][1] and not summary.repaired
    if complete_before:
        console.print(
            f"already complete: {already[0][0]}/{already[0][1]} chunks in {out_dir} (checksums verified); nothing to run "
            "(--no-resume starts afresh)",
            soft_wrap=True,
        )
    _print_summary(console, summary)
    _print_where(console, summary)
    return EXIT_OK


def _verify(args) -> int:
    run_dir, check, code = _intact_run(args.dir)
    if run_dir is None:
        return code
    from .sweeps import store

    print(f"{run_dir}: intact: {check.committed}/{check.total} chunks committed, every one matches its checksum")
    problem = store.netcdf_problem(run_dir)
    if problem:
        print(f"{run_dir}: {problem}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _show(args) -> int:
    run_dir = _run_dir(args.dir)
    if run_dir is None:
        return EXIT_USAGE
    import json

    import zarr
    from rich.console import Console

    from . import sweeps
    from .sweeps import store

    console = Console()
    try:
        group = zarr.open_group(store.store_path(run_dir), mode="r")
        attrs = group.attrs
        check = store.verify(group) if args.verify else None
        if check is not None and check.layout_problem:
            print(f"{run_dir}: damaged: {check.layout_problem}", file=sys.stderr)
            return EXIT_FAILED
        summary = sweeps.summarize(run_dir, exclude=check.damaged if check else ())
    except Exception as exc:
        print(
            f"{run_dir}: the store cannot be read ({type(exc).__name__}: {exc}); `thermo-ode run --no-resume` writes it anew",
            file=sys.stderr,
        )
        return EXIT_FAILED
    versions = json.loads(attrs["versions"])  # type: ignore[arg-type]  # a JSON string
    console.print(
        f"run '{attrs['name']}' (config digest {attrs['config_digest']}), {attrs['precision']}, "
        f"backend {attrs['backend']} x{attrs['device_count']}, thermo-ode {versions['thermo-ode']}, jax {versions['jax']}",
        soft_wrap=True,
    )
    if check is not None and not check.intact:
        console.print(
            f"[bold red]damaged[/]: {len(check.damaged)} of {check.committed} committed chunks fail their checksums "
            "(left out of the counts below); the same `thermo-ode run` recomputes them:",
            soft_wrap=True,
        )
        for line in check.describe():
            console.print(f"  {line}", soft_wrap=True)
    if check is not None and not check.intact:
        state, verified = "damaged", ""
    else:
        state = "finished" if summary.finished else "interrupted or in progress"
        verified = " (not verified)" if check is None else " (checksums verified)"
    console.print(f"{state}: {summary.chunks_done}/{summary.chunks_total} chunks{verified}")
    if check is not None and store.netcdf_problem(run_dir):
        console.print(f"[bold red]{store.netcdf_problem(run_dir)}[/]", soft_wrap=True)
    _print_summary(console, summary)
    _print_where(console, summary)
    return EXIT_OK


def _print_summary(console, summary) -> None:
    from rich.table import Table

    table = Table(title="sweep summary (a point is one query row of one grid point)", show_header=False)
    table.add_column("quantity")
    table.add_column("value", overflow="fold")
    table.add_row("points", str(summary.points))
    table.add_row("converged", f"{summary.converged}  (final distance to softmax < {summary.tolerance:g})")
    table.add_row("not converged", f"{summary.not_converged}  (solved, still above it at t1)")
    table.add_row("failed", f"{summary.failed}  (solver status != 0)")
    if summary.worst_at:
        table.add_row(
            "worst final distance", f"{summary.worst_final_distance:.2g} (Fisher-Rao, rad) at {summary.worst_at}"
        )
    if summary.slowest_at:
        table.add_row(
            "slowest relaxation",
            f"t = {summary.slowest_relaxation:.4g} (physical time to stay below the tolerance) at {summary.slowest_at}",
        )
    console.print(table)
    if summary.thermal:
        console.print(
            f"{summary.thermal} points in a heat bath (bath_temperature > 0) fluctuate about softmax and are "
            f"not counted as converging; mean kinetic energy / equipartition (N-1) T_b/2 = {summary.equipartition:.4f}",
            soft_wrap=True,
        )


def _print_where(console, summary) -> None:
    from .sweeps import store

    out = pathlib.Path(summary.out_dir)
    stored = [out / store.STORE_NAME] + ([out / store.NETCDF_NAME] if (out / store.NETCDF_NAME).exists() else [])
    console.print(
        f"results: {' and '.join(map(str, stored))} (read with thermo_ode.open_results({str(out)!r}))", soft_wrap=True
    )
    if summary.finished:
        console.print(f"figures: thermo-ode plot {out}   (writes {out / 'figures'})", soft_wrap=True)


class _CacheCounter:
    """Counts persistent-cache hits and misses reported by jax.monitoring."""

    def __init__(self):
        import jax

        self.hits = self.misses = 0
        jax.monitoring.register_event_listener(self._on_event)

    def _on_event(self, event: str, **kwargs) -> None:
        if event == "/jax/compilation_cache/cache_hits":
            self.hits += 1
        elif event == "/jax/compilation_cache/cache_misses":
            self.misses += 1

    def report(self, cache_dir) -> str:
        plural = lambda n, word: f"{n} {word}" + ("" if n == 1 else "s")
        if self.hits + self.misses == 0:
            return f"compilation cache ({cache_dir}): nothing compiled"
        return (
            f"compilation cache ({cache_dir}): {plural(self.hits, 'program')} loaded, "
            f"{plural(self.misses, 'program')} compiled and stored"
        )


if __name__ == "__main__":
    sys.exit(main())
