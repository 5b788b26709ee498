"""Whether a run fits this machine: the memory it needs against what is available here, and
the disk its output needs against what is free where it goes (and whether it can go there).

The config's own limits (thermo_ode.sweeps.config.limits, checked when it loads) hold on any machine;
these depend on this one, so `thermo-ode validate` and `run` ask them just before running.
The problems name the options that change them (`--out`, `--no-netcdf`).
"""

from __future__ import annotations

import os
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
    or the output's free disk cannot hold it, or `out_dir` cannot be written."""
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


def _folder_problem(out_dir: pathlib.Path) -> str:
    """Why `out_dir` cannot be created and written ("" if it can)."""
    existing = limits.nearest_existing(out_dir)
    name_max = os.pathconf(existing, "PC_NAME_MAX") if existing.is_dir() else 255
    parts = out_dir.absolute().relative_to(existing).parts
    long = [part for part in parts if len(os.fsencode(part)) > name_max]
    if long:
        return f"--out: the folder name {long[0][:40]}... is longer than the {name_max} bytes this file system allows"
    if not existing.is_dir():
        return f"--out: {existing} is a file, not a folder"
    if not limits.writable(out_dir):
        return f"--out: {existing} is not writable (a read-only folder or mount?)"
    return ""


def _fit(loaded: LoadedConfig, out_dir: pathlib.Path, netcdf: bool) -> MachineFit:
    sizes = limits.sweep_sizes(loaded)
    # A resumed run writes only the chunks not yet committed.
    disk = int(sizes.store * (1 - store.committed_fraction(out_dir))) + (sizes.netcdf if netcdf else 0)
    memory = sizes.run_memory(netcdf)
    free, available = limits.free_disk(out_dir), limits.available_memory()
    lines = _needs(sizes, memory, free, available, out_dir, netcdf)
    skip_copy = " (--no-netcdf skips the one-file copy)" if netcdf else ""
    problem = _folder_problem(out_dir)
    if not problem and memory > available:
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
