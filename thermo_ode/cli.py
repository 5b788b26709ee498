"""`thermo-ode` command line: run, validate and show sweeps.

jax is imported only inside the commands that need it, so `--help` and `validate` are instant.
Exit codes: 0 success, 1 a run that could not finish, 2 bad config or arguments.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "thermo-ode" / "jax"


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thermo-ode",
        description="Attention as a Lagrangian system on the Fisher-Rao hypersphere: sweep it and check it relaxes to softmax.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run (or resume) a sweep", description="Run a sweep config; with no CONFIG, the embedded default.")
    run.add_argument("config", nargs="?", help="YAML sweep config (default: the embedded configs/default.yaml)")
    run.add_argument("--out", help="output folder (default: results/<name>)")
    run.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                     help="continue from the chunks already in --out (default); --no-resume overwrites them")
    run.add_argument("--devices", type=_positive_int, help="split each chunk over this many local devices (default: all)")
    run.add_argument("--chunks", type=_chunk_range, metavar="START:STOP",
                     help="only these chunk indices, for several hosts sharing one --out (see README)")
    run.add_argument("--cache-dir", default=os.environ.get("THERMO_ODE_CACHE_DIR", str(DEFAULT_CACHE)),
                     help="persistent compilation cache (default: %(default)s; env THERMO_ODE_CACHE_DIR)")
    validate = sub.add_parser("validate", help="check a config without running it")
    validate.add_argument("config")
    show = sub.add_parser("show", help="summarise a finished or interrupted run")
    show.add_argument("dir")
    plot = sub.add_parser("plot", help="write the figures of a run (PNG, and SVG with --svg)")
    plot.add_argument("dir")
    plot.add_argument("--svg", action="store_true", help="also write SVG")
    plot.add_argument("--figures", help="folder for the figures (default: DIR/figures)")
    sub.add_parser("version", help="print the version")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    if args.command == "version":
        from . import __version__

        print(__version__)
        return EXIT_OK
    return {"run": _run, "validate": _validate, "show": _show, "plot": _plot}[args.command](args)


def _plot(args) -> int:
    from . import store

    if not store.store_path(args.dir).exists():
        print(f"{args.dir}: no {store.STORE_NAME} here", file=sys.stderr)
        return EXIT_USAGE
    os.environ.setdefault("MPLBACKEND", "Agg")  # files only, no screen needed
    from .plotting import plot_run

    for path in plot_run(args.dir, svg=args.svg, figures_dir=args.figures):
        print(path)
    return EXIT_OK


def _load(path):
    from . import config

    try:
        return config.load(path if path is not None else config.default_config_path())
    except config.ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return None


def _validate(args) -> int:
    loaded = _load(args.config)
    if loaded is None:
        return EXIT_USAGE
    from . import sweep

    plan = sweep.plan(loaded)
    axes = ", ".join(f"{k}[{len(v)}]" for k, v in plan.axes.items()) or "no sweep"
    print(f"{args.config}: ok: '{loaded.config.name}', {plan.points} points ({axes}) x {plan.queries} rows x {plan.tokens} tokens, {plan.chunks} chunks")
    return EXIT_OK


def _run(args) -> int:
    loaded = _load(args.config)
    if loaded is None:
        return EXIT_USAGE
    # Equinox's runtime checks are host callbacks, which the persistent cache cannot store;
    # with them off (NaN instead of raising) diffrax programs are cached. Must precede import.
    os.environ.setdefault("EQX_ON_ERROR", "nan")
    import jax

    # The CLI, not the library, chooses precision and caching (before any array exists).
    jax.config.update("jax_enable_x64", loaded.config.precision == "float64")
    jax.config.update("jax_compilation_cache_dir", args.cache_dir)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    cache = _CacheCounter()

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from . import runner, store

    console = Console()
    available = jax.local_device_count()
    devices = args.devices or available
    if devices > available:
        print(f"--devices: {devices} requested, {available} local devices available", file=sys.stderr)
        return EXIT_USAGE
    out_dir = pathlib.Path(args.out or pathlib.Path("results") / loaded.config.name)
    progress = Progress(TextColumn(f"[bold]{loaded.config.name}[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("chunks"), TimeElapsedColumn(), console=console)
    task = progress.add_task("run", total=None)
    try:
        with progress:
            summary = runner.run(
                loaded, out_dir, resume=args.resume, devices=devices, chunks=args.chunks,
                on_chunk=lambda done, total: progress.update(task, completed=done, total=total),
            )
        if summary.chunks_done == summary.chunks_total:
            store.export_netcdf(out_dir)
    except store.ConfigMismatch as exc:
        print(f"--out: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.print(f"interrupted: finished chunks are kept in {out_dir}; rerun the same command to resume")
        return EXIT_FAILED
    except Exception as exc:  # the run could not finish; what was written stays
        console.print(f"[bold red]run failed:[/] {type(exc).__name__}: {exc}")
        return EXIT_FAILED
    _print_summary(console, summary, f"compile cache: {cache.hits} hits, {cache.misses} misses ({args.cache_dir})")
    return EXIT_OK


def _show(args) -> int:
    from . import store

    if not store.store_path(args.dir).exists():
        print(f"{args.dir}: no {store.STORE_NAME} here", file=sys.stderr)
        return EXIT_USAGE
    import json

    import zarr
    from rich.console import Console

    from . import runner

    console = Console()
    attrs = zarr.open_group(store.store_path(args.dir), mode="r").attrs
    summary = runner.summarize(args.dir)
    versions = json.loads(attrs["versions"])
    console.print(f"run '{attrs['name']}' (config digest {attrs['config_digest']}), {attrs['precision']}, "
                  f"backend {attrs['backend']} x{attrs['device_count']}, thermo-ode {versions['thermo-ode']}, jax {versions['jax']}")
    state = "finished" if summary.chunks_done == summary.chunks_total else "interrupted or in progress"
    _print_summary(console, summary, f"{state}: {summary.chunks_done}/{summary.chunks_total} chunks")
    return EXIT_OK


def _print_summary(console, summary, footer: str) -> None:
    from rich.table import Table

    table = Table(title="sweep summary (a point is one query row of one grid point)")
    for column in ("points", "converged", "not converged", "failed", "slowest relaxation", "results"):
        table.add_column(column, justify="right")
    table.add_row(
        str(summary.points), str(summary.converged), str(summary.not_converged), str(summary.failed),
        f"{summary.slowest_relaxation:.4g}", summary.out_dir,
    )
    console.print(table)
    if summary.thermal:
        console.print(
            f"{summary.thermal} points in a heat bath (bath_temperature > 0) fluctuate about softmax and are "
            f"not counted as converging; mean kinetic energy / equipartition (N-1) T_b/2 = {summary.equipartition:.4f}"
        )
    console.print(footer)


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


if __name__ == "__main__":
    sys.exit(main())
