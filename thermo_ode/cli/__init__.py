"""`thermo-ode` command line: run, validate and show sweeps.

    parser      the grammar: build_parser, one function per subcommand, the argument types
    app         main: parse, then hand the arguments to the command's module
    run         `run`: refuse what would fail, then start a launcher
    launchers   one process (one or several devices), Dask, one process of a jax.distributed job
    validate    `validate`: everything `run` would refuse, and the sizes a run needs
    health      a run folder named on the command line, and whether its store is intact
    show, verify, plot, report   the commands that read a run
    reports     the summary table, where the results are, the progress bar, the cache counter
    exit_codes  EXIT_OK, EXIT_FAILED, EXIT_USAGE

jax is imported only inside the commands that need it, so `--help` and `validate` are instant.
Exit codes: 0 success, 1 a run that could not finish, 2 bad config or arguments.
"""

from .app import main
from .exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .parser import PRECISIONS, build_parser

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "PRECISIONS", "build_parser", "main"]
