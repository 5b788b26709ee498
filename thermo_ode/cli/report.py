"""`thermo-ode report DIR [--out FILE]`: the run's report, one self-contained HTML page
(thermo_ode.report), written after verifying its store; an unfinished or damaged run is
reported all the same, and the page and one line here say so."""

from __future__ import annotations

import sys

from .exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .health import run_dir as named_run
from .health import unreadable
from .reports import os_error


def command(args) -> int:
    run_dir = named_run(args.dir)
    if run_dir is None:
        return EXIT_USAGE
    from ..report.contents import read_contents
    from ..report.page import write_page
    from ..sweeps import store

    try:
        contents = read_contents(run_dir)
    except store.StoreDamaged as exc:  # its metadata: nothing the page would say could be trusted
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # moved or removed meanwhile, or a file that does not decode
        print(unreadable(run_dir, exc), file=sys.stderr)
        return EXIT_FAILED
    try:
        path = write_page(contents, args.out)
    except OSError as exc:
        hint = " (a read-only run folder? --out writes elsewhere)" if exc.errno in (13, 30) and not args.out else ""
        print(f"report failed: {os_error(exc)}{hint}", file=sys.stderr)
        return EXIT_FAILED
    if not contents.state.complete:
        print(f"report of {run_dir}: {contents.state.lines[0]}", file=sys.stderr)
    print(path)
    return EXIT_OK
