"""`main`: parse the command line, then hand the arguments to the command's module; and stop
it, at any moment, on SIGINT or SIGTERM.

A signal stops a command in order where it can (a `KeyboardInterrupt` the run catches,
printing one line) and at once where it cannot: within `GRACE` seconds of the signal the
process ends with the same line, whatever it is doing (inside a compiler, a wait that no
signal breaks, a callback where Python drops what the handler raised). Ending at once is safe:
the store is built to survive a kill at any moment (a chunk is committed by its checksum,
files are written aside and renamed), and a rerun resumes it. Either way an interrupted
program ends with `os._exit`, its output flushed: the interpreter's teardown after a
compilation cut short can take seconds (and crash); and the end waits for a write of JAX's
compilation cache, which is not atomic, to finish. The exit code is the shell's for a process
a signal ended, 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM.
"""

from __future__ import annotations

import sys

from . import plot, report, run, show, validate, verify
from .exit_codes import EXIT_OK
from .interrupts import Interruption, running
from .parser import build_parser

COMMANDS = {
    "run": run.command,
    "validate": validate.command,
    "show": show.command,
    "verify": verify.command,
    "plot": plot.command,
    "report": report.command,
}


def main(argv: list[str] | None = None) -> int:
    """The `thermo-ode` command; `argv` None: this process's arguments, and the process is
    the command (its handlers of SIGINT and SIGTERM stay until it exits)."""
    words = sys.argv[1:] if argv is None else argv
    stop = Interruption(program=argv is None)
    stop.command = next((word for word in words if word in COMMANDS), "")  # for a signal before parsing
    with running(stop):
        try:
            with stop.installed():  # before anything imports jax: imports take seconds
                code = _command(argv, stop)
            # A signal whose KeyboardInterrupt Python dropped, the command having finished.
            code = stop.report() if stop.signum else code
        except KeyboardInterrupt:  # Python's own handler, too, while ours were being set
            code = stop.report()
        return stop.leave(code)  # an interrupted program ends here, without the interpreter's teardown


def _command(argv: list[str] | None, stop: Interruption) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help and --version
        return int(exc.code or 0)
    stop.command = args.command
    if args.command == "run" and args.out:
        stop.folder = args.out
    if args.command == "version":
        from .. import __version__

        print(__version__)
        return EXIT_OK
    return COMMANDS[args.command](args)
