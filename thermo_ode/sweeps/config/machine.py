"""Whether a run fits this machine: the memory it needs against what is available here, and
the disk its output needs against what is free where it goes (and whether it can go there).

The config's own limits (thermo_ode.sweeps.config.limits, checked when it loads) hold on any machine;
these depend on this one, so `thermo-ode validate` and `run` ask them just before running.
The problems name the options that change them (`--out`, `--no-netcdf`).
"""

from __future__ import annotations

import pathlib
import typing

from .. import store
from . import limits

if typing.TYPE_CHECKING:
    from .loaded_config import LoadedConfig


class MachineFit(typing.NamedTuple):
    problem: str  # why the run does not fit ("" when it does)
    lines: list[str]  # what the run needs and what this machine has, for people


def machine_fit(loaded: LoadedConfig, out_dir, netcdf: bool) -> MachineFit:
    """What a run of `loaded` into `out_dir` needs, and the problem when this machine's memory
    or the output's free disk cannot hold it. Whether `out_dir` can be a folder at all is
    asked first (thermo_ode.cli.paths)."""
    out_dir = pathlib.Path(out_dir)
    try:
        return _fit(loaded, out_dir, netcdf)
    except OSError as exc:  # a name too long for the file system, a path through a file, ...
        return MachineFit(f"--out: {out_dir}: {exc.strerror or exc}", [])


def _needs(sizes: limits.Sizes, memory: int, free: int, available: int, out_dir, netcdf: bool) -> list[str]:
    largest = (
        "the netCDF copy"
        if memory == limits.EXPORT_COPIES * sizes.netcdf and netcdf
        else "one chunk"
        if memory == sizes.chunk_memory
        else "the per-point arrays"
    )
    return [
        f"store {limits.human(sizes.store)} at most (uncompressed)"
        + (f", results.nc {limits.human(sizes.netcdf)}" if netcdf else ""),
        f"memory {limits.human(memory)} at most (largest: {largest}); "
        f"{limits.human(available)} available, {limits.human(free)} free at {out_dir}",
    ]


def _fit(loaded: LoadedConfig, out_dir: pathlib.Path, netcdf: bool) -> MachineFit:
    sizes = limits.sweep_sizes(loaded)
    # A resumed run writes only the chunks not yet committed.
    disk = int(sizes.store * (1 - store.committed_fraction(out_dir))) + (sizes.netcdf if netcdf else 0)
    memory = sizes.run_memory(netcdf)
    free, available = limits.free_disk(out_dir), limits.available_memory()
    lines = _needs(sizes, memory, free, available, out_dir, netcdf)
    skip_copy = " (--no-netcdf skips the one-file copy)" if netcdf else ""
    problem = ""
    if memory > available:
        problem = (
            f"the run needs about {limits.human(memory)} of memory, {limits.human(memory - available)} more than the "
            f"{limits.human(available)} available" + skip_copy
        )
    if not problem and disk > free:
        problem = (
            f"--out: {out_dir} has {limits.human(free)} free, the run needs up to {limits.human(disk)} "
            f"({limits.human(disk - free)} more)" + skip_copy
        )
    return MachineFit(problem, lines)
