"""What the commands print about a run: the summary table, where the results are and how to
plot them, the progress bar of committed chunks, the compilation-cache counter, and an
OSError said as a failed write."""

from __future__ import annotations

import pathlib


def os_error(exc: OSError, folder=None) -> str:
    """`cannot write PATH: No space left on device (ENOSPC)` (the folder being written when the
    error does not name its file)."""
    import errno as errnos

    name = errnos.errorcode.get(exc.errno, "") if exc.errno else ""
    where = f"cannot write {exc.filename}: " if exc.filename else f"cannot write into {folder}: " if folder else ""
    return f"{where}{exc.strerror or exc}" + (f" ({name})" if name else "")


def print_summary(console, summary) -> None:
    """The run summary's table (a `RunSummary`), then the heat-bath points apart."""
    from rich.table import Table

    table = Table(title="sweep summary (a point is one query row of one grid point)", show_header=False)
    table.add_column("quantity")
    table.add_column("value", overflow="fold")
    table.add_row("points", str(summary.points))
    table.add_row("converged", f"{summary.converged}  (final distance to softmax < {summary.tolerance:g})")
    table.add_row("not converged", f"{summary.not_converged}  (solved, still above it at t1)")
    table.add_row("failed", f"{summary.failed}  (solver status != 0)")
    if summary.worst_at:
        table.add_row(
            "worst final distance", f"{summary.worst_final_distance:.2g} (Fisher-Rao, rad) at {summary.worst_at}"
        )
    if summary.slowest_at:
        table.add_row(
            "slowest to tolerance",
            f"t = {summary.slowest_to_tolerance:.4g} (physical time to stay below the tolerance) at {summary.slowest_at}",
        )
    console.print(table)
    if summary.thermal:
        console.print(
            f"{summary.thermal} points in a heat bath (bath_temperature > 0) fluctuate about softmax and are "
            f"not counted as converging; mean kinetic energy / equipartition (N-1) T_b/2 = {summary.equipartition:.4f}",
            soft_wrap=True,
        )


def print_where(console, summary) -> None:
    """The `results:` line (the store, and results.nc if written) and, for a finished run,
    the `figures:` and `report:` lines with the commands that write them."""
    from ..sweeps import store

    out = pathlib.Path(summary.out_dir)
    stored = [out / store.STORE_NAME] + ([out / store.NETCDF_NAME] if (out / store.NETCDF_NAME).exists() else [])
    console.print(
        f"results: {' and '.join(map(str, stored))} (read with thermo_ode.open_results({str(out)!r}))", soft_wrap=True
    )
    if summary.finished:
        console.print(f"figures: thermo-ode plot {out}   (writes {out / 'figures'})", soft_wrap=True)
        console.print(f"report: thermo-ode report {out}   (writes {out / 'report.html'})", soft_wrap=True)


class ChunkProgress:
    """A progress bar of the committed chunks (a context manager; `on_chunk` is the run's
    callback), which keeps the count seen first: what was done before this process ran. With
    another `unit`, of other steps (`plot`'s figures: `on_item` names the one being made)."""

    def __init__(self, label: str, console, unit: str = "chunks"):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn(f"[bold]{label}[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            TimeElapsedColumn(),
            TextColumn("{task.fields[item]}"),
            console=console,
        )
        self.task = self.bar.add_task("run", total=None, item="")
        self.before: tuple[int, int] | None = None  # (done, total) before this process ran anything

    def on_chunk(self, done: int, total: int) -> None:
        if self.before is None:
            self.before = (done, total)
        self.bar.update(self.task, completed=done, total=total)

    def on_item(self, done: int, total: int, name: str) -> None:
        """`done` of `total`, `name` being made now; drawn at once, so that every name shows."""
        self.bar.update(self.task, completed=done, total=total, item=name, refresh=True)

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self.bar.__exit__(*exc_info)


class CacheCounter:
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

    def report(self, cache_dir) -> str:
        plural = lambda n, word: f"{n} {word}" + ("" if n == 1 else "s")
        if self.hits + self.misses == 0:
            return f"compilation cache ({cache_dir}): nothing compiled"
        return (
            f"compilation cache ({cache_dir}): {plural(self.hits, 'program')} loaded, "
            f"{plural(self.misses, 'program')} compiled and stored"
        )
