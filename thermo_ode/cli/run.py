"""`thermo-ode run [CONFIG]`: refuse at once what would fail (the engine options, the config,
this machine's memory and disk, the chunk range), then start the run's launcher."""

from __future__ import annotations

import importlib.util
import sys

from . import launchers
from .exit_codes import EXIT_USAGE
from .paths import path_problem
from .validate import load_config, output_folder


def engine_problem(args) -> str:
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


def _chunks_problem(chunks: range | None, loaded) -> str:
    """`--chunks` beyond the sweep's chunks ("" if within them)."""
    if not chunks or chunks.stop == 0:  # 0:0 (create the store only) is always allowed
        return ""
    from ..sweeps import plan as planning

    total = planning.plan_sweep(loaded).chunks
    if chunks.stop > total:
        return f"--chunks: {chunks.start}:{chunks.stop} goes beyond the sweep's {total} chunks (0:{total})"
    return ""


def command(args) -> int:
    problem = engine_problem(args)
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    loaded = load_config(args.config, args.precision)
    if loaded is None:
        return EXIT_USAGE
    from ..sweeps.config.machine import machine_fit

    out_dir = output_folder(args, loaded)
    problem = (
        path_problem(args, out_dir)
        or machine_fit(loaded, out_dir, args.netcdf).problem
        or _chunks_problem(args.chunks, loaded)
    )
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    from .. import enable_compilation_cache

    # Before jax and equinox are imported: it sets EQX_ON_ERROR, which equinox reads on import
    # (Dask workers started from here inherit it).
    cache_dir = enable_compilation_cache(args.cache_dir)
    if args.workers or args.scheduler:
        return launchers.on_dask(args, loaded, out_dir)
    return launchers.in_this_process(args, loaded, out_dir, cache_dir)
