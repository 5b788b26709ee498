"""The command line's grammar: `build_parser`, one function per subcommand's arguments, and
the argument types that check a value as it is parsed."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..caching import DEFAULT_CACHE_DIR

PRECISIONS = ("float64", "float32")


def _chunk_range(text: str) -> range:
    try:
        start, stop = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:STOP chunk indices, got {text!r}") from None
    if not 0 <= start <= stop:
        raise argparse.ArgumentTypeError(f"need 0 <= START <= STOP, got {text!r}")
    return range(start, stop)


def _int_at_least(minimum: int, name: str) -> Callable[[str], int]:
    """An argument type: an integer, at least `minimum`."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    # argparse names the type in its message for a value that is no integer
    # ("invalid _positive_int value: 'x'"): each keeps the name it has always had.
    parse.__name__ = name
    return parse


_positive_int = _int_at_least(1, "_positive_int")
_non_negative_int = _int_at_least(0, "_non_negative_int")


def _on_by_default(parser, flag: str, help: str) -> None:
    """`--FLAG` / `--no-FLAG`, on unless `--no-FLAG` is given."""
    parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=True, help=help)


def _run_folder(parser) -> None:
    parser.add_argument("dir", help="a run's output folder (the --out of `run`), or its results.zarr")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="thermo-ode",
        description="Attention as a Lagrangian system on the Fisher-Rao hypersphere: sweep it and check it relaxes to softmax.",
    )
    parser.add_argument("--version", action="version", version=f"thermo-ode {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run(sub)
    _add_validate(sub)
    _add_show(sub)
    _add_verify(sub)
    _add_plot(sub)
    _add_report(sub)
    sub.add_parser("version", help="print the version")
    return parser


def _add_run(sub) -> None:
    run = sub.add_parser(
        "run", help="run (or resume) a sweep", description="Run a sweep config; with no CONFIG, the embedded default."
    )
    run.add_argument("config", nargs="?", help="YAML sweep config (default: the embedded configs/default.yaml)")
    run.add_argument("--out", help="output folder (default: results/<name>)")
    _on_by_default(run, "--resume", "continue from the chunks already in --out (default); --no-resume overwrites them")
    run.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="override the config's precision (recorded in the store; a run's identity includes it)",
    )
    run.add_argument(
        "--devices", type=_positive_int, help="split each chunk over this many local devices (default: all)"
    )
    _on_by_default(
        run,
        "--netcdf",
        "also write results.nc, a one-file copy of the finished store (default); --no-netcdf for sweeps too big to copy",
    )
    run.add_argument(
        "--cache-dir",
        help=f"persistent compilation cache (default: $THERMO_ODE_CACHE_DIR, else {DEFAULT_CACHE_DIR}; "
        "with Dask, each worker's own default)",
    )
    _add_engines(run)


def _add_engines(run) -> None:
    """The options of a run over more than one process: one engine at most, and the settings
    of a jax.distributed job."""
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


def _add_validate(sub) -> None:
    validate = sub.add_parser("validate", help="check a config without running it: everything `run` would refuse")
    validate.add_argument("config", help="YAML sweep config to check")
    validate.add_argument(
        "--out", help="the output folder a run would use, for the free-disk check (default: results/<name>)"
    )
    validate.add_argument(
        "--precision", choices=PRECISIONS, help="check with this precision, as `run --precision` would"
    )
    _on_by_default(validate, "--netcdf", "as for `run`")
    validate.add_argument("--cache-dir", help="the compilation cache a run would use, checked as `run` checks it")


def _add_show(sub) -> None:
    show = sub.add_parser("show", help="summarise a finished or interrupted run, after verifying its checksums")
    _run_folder(show)
    _on_by_default(
        show, "--verify", "check every committed chunk against its checksum (default; reads the whole store)"
    )


def _add_verify(sub) -> None:
    verify = sub.add_parser(
        "verify",
        help="check every committed chunk, the arrays' layout and results.nc against what was written (exit 1 if anything is damaged)",
    )
    _run_folder(verify)


def _add_plot(sub) -> None:
    plot = sub.add_parser("plot", help="write the figures of a run (PNG, and SVG with --svg)")
    _run_folder(plot)
    plot.add_argument("--svg", action="store_true", help="also write SVG")
    plot.add_argument("--figures", help="folder for the figures (default: DIR/figures)")


def _add_report(sub) -> None:
    report = sub.add_parser(
        "report",
        help="write a run's report: one self-contained HTML page (identity, verdict, figures, a table of its points)",
    )
    _run_folder(report)
    report.add_argument("--out", metavar="FILE", help="the page to write (default: DIR/report.html)")
