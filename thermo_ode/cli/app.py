"""`main`: parse the command line, then hand the arguments to the command's module."""

from __future__ import annotations

from . import plot, run, show, validate, verify
from .exit_codes import EXIT_OK
from .parser import build_parser

COMMANDS = {
    "run": run.command,
    "validate": validate.command,
    "show": show.command,
    "verify": verify.command,
    "plot": plot.command,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help and --version
        return int(exc.code or 0)
    if args.command == "version":
        from .. import __version__

        print(__version__)
        return EXIT_OK
    return COMMANDS[args.command](args)
