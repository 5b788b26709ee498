"""`thermo-ode plot DIR`: the figures of an intact run, PNG (and SVG with --svg)."""

from __future__ import annotations

import os
import sys

from .exit_codes import EXIT_FAILED, EXIT_OK
from .health import intact_run
from .reports import ChunkProgress, os_error


def command(args) -> int:
    run_dir, check, code = intact_run(args.dir)
    if run_dir is None or check is None:
        return code
    from ..sweeps import store

    holder = store.writer(run_dir)
    if holder:  # drawn all the same: what is committed is final, but not all of the run
        print(
            f"plot: the figures show an unfinished run: another thermo-ode run ({holder}) is writing {run_dir}, "
            f"{check.committed}/{check.total} chunks so far; plot again once it has finished",
            file=sys.stderr,
        )
    os.environ.setdefault("MPLBACKEND", "Agg")  # files only, no screen needed
    from rich.console import Console

    from ..plotting import NothingToPlot, plot_run

    progress = ChunkProgress("plot", Console(stderr=True), unit="figures")  # stdout: the files, for scripts
    try:
        with progress:
            paths = plot_run(run_dir, svg=args.svg, figures_dir=args.figures, on_figure=progress.on_item)
    except NothingToPlot as exc:
        print(f"plot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(
            f"plot failed: {os_error(exc)}"
            + (" (a read-only run folder? --figures writes elsewhere)" if exc.errno in (13, 30) else ""),
            file=sys.stderr,
        )
        return EXIT_FAILED
    for path in paths:
        print(path)
    return EXIT_OK
