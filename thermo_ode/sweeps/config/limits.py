"""What a sweep needs, worked out from its config before anything is allocated: the size of the
store and of its netCDF copy, the memory a chunk and the per-point summaries take, and what this
machine has (memory available, free disk at the output). Imports no jax."""

from __future__ import annotations

import math
import os
import pathlib
import shutil
import typing

if typing.TYPE_CHECKING:
    from .loaded_config import LoadedConfig

# A config is a small text file; a bigger one is almost always a mistake (big inputs belong in
# an energies file), and a bounded size bounds the time to read it.
MAX_CONFIG_BYTES = 2**20  # a config is a few kB; long lists of values belong in an energies file or a logspace
MAX_YAML_DEPTH = 32  # the schema nests 4 deep
MAX_YAML_NODES = 2_000_000  # values after expanding aliases (a billion-laughs file has 10^9)
# The bytes of an energies file, and of its arrays once read as float64 (a compressed one can
# inflate to a thousand times its size): checked on the file's size and on each array's header.
MAX_ENERGY_FILE_BYTES = 2**31
# Copies of a chunk's trajectories alive at once: solver state and saves on the devices, the
# gathered host copy, float64 conversions and the observables (an upper estimate).
CHUNK_COPIES = 8
# Point-level arrays the runner holds for the whole grid: the swept values and their grid, and
# the summary's reads of status, convergence, times and distances per row.
POINT_ARRAYS = 10
EXPORT_COPIES = 2  # the netCDF copy loads the whole grid view, and reshaping it copies it once


class Sizes(typing.NamedTuple):
    """Bytes a run needs: on disk (the store, its netCDF copy) and in memory."""

    points: int
    store: int  # bytes, uncompressed (an upper bound: zarr compresses)
    netcdf: int  # bytes of results.nc
    chunk_memory: int  # bytes while one chunk is computed
    point_memory: int  # bytes of the per-point arrays of the whole grid

    def run_memory(self, netcdf: bool) -> int:
        """The most memory held at once: a chunk, the per-point arrays, or the netCDF copy's."""
        return max(self.chunk_memory, self.point_memory, EXPORT_COPIES * self.netcdf if netcdf else 0)


def sizes(points: int, queries: int, saves: int, tokens: int, keys: int, chunk_size: int) -> Sizes:
    """From the store's layout (thermo_ode.sweeps.store): rho and rho_dot per save and token,
    three series per save, five arrays and the mask per token, seven numbers per row, and the
    per-point times and parameters."""
    row = 8 * (2 * saves * tokens + 3 * saves + 5 * tokens + 6) + tokens + 5
    point = queries * row + 8 * (saves + 8 + keys)
    chunk = min(chunk_size, points)
    return Sizes(
        points,
        points * point,
        points * point,
        CHUNK_COPIES * chunk * point,
        POINT_ARRAYS * 8 * points * (queries + keys),
    )


def sweep_sizes(loaded: LoadedConfig) -> Sizes:
    """The store's size and the memory a run of this (checked) config needs, from the config
    alone (no axis is built)."""
    cfg = loaded.config
    lengths = cfg.sweep.lengths()
    points = math.prod(lengths.values())
    return sizes(
        points, loaded.rows_per_point, cfg.integrate.saves, cfg.max_tokens, len(lengths), cfg.integrate.chunk_size
    )


def available_memory() -> int:
    """Bytes this process can still allocate: MemAvailable, capped by a cgroup limit."""
    found = []
    try:
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        limit = pathlib.Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(pathlib.Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max":
            found.append(int(limit) - used)
    except (OSError, ValueError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return 2**63
    return max(min(found), 0)


def nearest_existing(path) -> pathlib.Path:
    """`path`, or its nearest existing parent folder (where it would be made)."""
    path = pathlib.Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def free_disk(path) -> int:
    """Free bytes on the file system that holds `path` (or would: its nearest existing folder)."""
    return shutil.disk_usage(nearest_existing(path)).free


def human(n: float) -> str:
    """Bytes for people: 1.5 GiB."""
    if n < 1024:
        return f"{int(n)} B"
    exponent = min(int(math.log(n, 1024)), 6)
    return f"{n / 1024**exponent:.3g} {'BKMGTPE'[exponent]}iB"
