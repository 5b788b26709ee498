"""`thermo-ode verify DIR`: every committed chunk against its checksum, the arrays' layout,
and results.nc against the store; exit 1 if anything is damaged."""

from __future__ import annotations

import sys

from .exit_codes import EXIT_FAILED, EXIT_OK
from .health import intact_run


def command(args) -> int:
    run_dir, check, code = intact_run(args.dir)
    if run_dir is None or check is None:
        return code
    from ..sweeps import store

    print(f"{run_dir}: intact: {check.committed}/{check.total} chunks committed, every one matches its checksum")
    if check.foreign:
        print(f"{run_dir}: {check.describe_foreign()}")
    problem = store.netcdf_problem(run_dir)
    if problem:
        print(f"{run_dir}: {problem}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
