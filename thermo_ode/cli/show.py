"""`thermo-ode show DIR`: a run's identity, its state (finished, interrupted, damaged) and its
summary, after verifying its checksums (unless --no-verify)."""

from __future__ import annotations

import sys

from . import reports
from .exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .health import run_dir as named_run
from .health import unreadable


def command(args) -> int:
    run_dir = named_run(args.dir)
    if run_dir is None:
        return EXIT_USAGE
    from rich.console import Console

    from .. import sweeps
    from ..sweeps import store

    console = Console()
    holder = store.writer(run_dir)  # a live run: what follows is a moment of it
    try:
        check = store.check(run_dir) if args.verify else None
        if check is not None and check.metadata_problem:  # the identity below would be untrusted
            print(f"{run_dir}: damaged: {check.metadata_problem}", file=sys.stderr)
            return EXIT_FAILED
        info = store.run_info(run_dir)
        summary = sweeps.summarize(run_dir, exclude=check.damaged if check else ())
    except Exception as exc:
        print(unreadable(run_dir, exc), file=sys.stderr)
        return EXIT_FAILED
    console.print(
        f"run '{info.name}' (config digest {info.config_digest}), {info.precision}, "
        f"backend {info.backend} x{info.device_count}, thermo-ode {info.versions['thermo-ode']}, jax {info.versions['jax']}",
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
        state, verified = "damaged", ""
    else:
        state = "finished" if summary.finished else "interrupted or in progress"
        verified = " (not verified)" if check is None else " (checksums verified)"
    if holder:
        console.print(
            f"running: another thermo-ode run ({holder}) is writing this store; "
            f"{summary.chunks_done}/{summary.chunks_total} chunks so far{verified}",
            soft_wrap=True,
        )
    else:
        console.print(f"{state}: {summary.chunks_done}/{summary.chunks_total} chunks{verified}")
    if check is not None and check.foreign:
        console.print(check.describe_foreign(), soft_wrap=True)
    netcdf_problem = store.netcdf_problem(run_dir) if check is not None else ""
    if netcdf_problem:
        console.print(f"[bold red]{netcdf_problem}[/]", soft_wrap=True)
    reports.print_summary(console, summary)
    reports.print_where(console, summary)
    return EXIT_OK
