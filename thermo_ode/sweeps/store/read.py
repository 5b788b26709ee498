"""Reading a run: the results as an xarray Dataset (the grid view, or flat along `point`), one
point and row as numpy arrays, the per-point parameters, and the committed rows a summary
counts. Time series run along `save`, the index of the saved state; their physical times are
the coordinate `t` (per point: each point has its own t1), so `plot.line(x="t")` plots against
time."""

from __future__ import annotations

import contextlib
import os
import typing
from collections.abc import Iterable

import numpy as np

from .info import RunInfo, group_info, sweep_keys
from .layout import PARAMETERS, STATIC, VARIABLES, ConfigMismatch, format_problem, store_path

if typing.TYPE_CHECKING:
    import xarray as xr


def open_results(out_dir: str | os.PathLike[str], grid: bool = True) -> xr.Dataset:
    """The results of the run in `out_dir` as an xarray Dataset, read lazily from its store.

    The physical times `t` are a coordinate. With `grid` (default) the points have one
    dimension per swept key; with `grid=False` they are one flat `point` dimension.

    Examples:
        >>> from thermo_ode import sweeps
        >>> out = sweeps.demo_run()
        >>> ds = sweeps.open_results(out)
        >>> ds["rho"].dims, ds["rho"].shape
        (('save', 'damping_ratio', 'query', 'token'), (5, 2, 1, 3))
        >>> ds["damping_ratio"].values.tolist(), ds["converged"].values.all().item()
        ([0.5, 2.0], True)
        >>> sweeps.open_results(out, grid=False)["rho"].dims
        ('point', 'query', 'save', 'token')
    """
    import xarray as xr
    import zarr

    if not isinstance(out_dir, str | os.PathLike):
        raise TypeError(f"out_dir: a run folder's path (str or os.PathLike), not {type(out_dir).__name__}")
    path = store_path(out_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"{out_dir}: no run here (no {path.name})")
    attrs = zarr.open_group(path, mode="r").attrs
    fmt = attrs.get("store_format", 1)
    problem = format_problem(fmt)
    if problem:
        raise ConfigMismatch(f"{path}: {problem}")
    keys = sweep_keys(attrs)
    ours = {*VARIABLES, *STATIC, "chunk_checksum", *keys}
    foreign = [child.name for child in path.iterdir() if (child / "zarr.json").is_file() and child.name not in ours]
    ds = xr.open_zarr(path, consolidated=False, chunks=None, drop_variables=foreign)
    ds = ds.set_coords(keys + ["t"])
    return grid_view(ds) if grid else ds


def grid_view(raw: xr.Dataset) -> xr.Dataset:
    """The flat-`point` Dataset with one dimension per swept key (`store.grid.grid_view`;
    xarray is imported on the first call, not with the store)."""
    from .grid import grid_view as view

    return view(raw)


class PointRecord(typing.NamedTuple):
    """One point and query row of a stored run, as numpy arrays (`read_point`): `S` saves of
    `N` tokens."""

    t: np.ndarray  # (S,)
    rho: np.ndarray  # (S, N)
    rho_dot: np.ndarray  # (S, N)
    distance: np.ndarray  # (S,)
    hamiltonian: np.ndarray  # (S,)
    free_energy: np.ndarray  # (S,)
    equilibrium: np.ndarray  # (N,)
    energies: np.ndarray  # (N,)
    mask: np.ndarray  # (N,)
    temperature: float
    mass: float
    damping: float


_SERIES = ("t", "rho", "rho_dot", "distance", "hamiltonian", "free_energy", "equilibrium", "energies", "mask")


def read_point(ds: xr.Dataset, point: int, query: int = 0) -> PointRecord:
    """The `PointRecord` of `point` (flat index) and `query` row, from
    `open_results(DIR, grid=False)`."""
    row = ds.isel(point=point, query=query)
    parameters = ds["parameters"].isel(point=point)
    temperature, mass, damping = (float(parameters.sel(parameter=k)) for k in ("temperature", "mass", "damping"))
    arrays = {name: np.asarray(row[name].values) for name in _SERIES}
    return PointRecord(**arrays, temperature=temperature, mass=mass, damping=damping)


def point_parameters(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """Each of `PARAMETERS` per point, shape `(points,)`, from `open_results(DIR)` in either
    view (the grid's points flattened in C order over its sweep axes)."""
    variable = ds["parameters"]
    values = np.asarray(variable.transpose(..., "parameter").values).reshape(-1, variable.sizes["parameter"])
    names = [str(name) for name in ds["parameter"].values]
    return {name: values[:, names.index(name)] for name in PARAMETERS}


def written_points(ds: xr.Dataset) -> np.ndarray:
    """The flat indices of the points whose chunk has been written (status of query row 0 at
    least 0), from `open_results(DIR, grid=False)`."""
    return np.flatnonzero(np.asarray(ds["status"].isel(query=0).values) >= 0)


def committed(group) -> np.ndarray:
    """Which chunks are committed (their checksum written); a checksum file that cannot be
    read counts as not committed."""
    checksums = group["chunk_checksum"]
    try:
        return np.asarray(checksums[:]) != ""
    except Exception:
        ok = np.zeros(checksums.shape[0], bool)
        for c in range(ok.size):
            with contextlib.suppress(Exception):
                ok[c] = checksums[c] != ""
        return ok


class CommittedRows(typing.NamedTuple):
    """The rows of the committed chunks of a run (`read_committed`)."""

    info: RunInfo
    done: np.ndarray  # (chunks,) bool: committed and not excluded
    points: np.ndarray  # flat indices of the points read, ascending
    arrays: dict[str, np.ndarray]  # variable -> its rows at `points`
    swept: typing.Callable[[int], dict[str, float]]  # a point's swept values, read one value each


def read_committed(out_dir, names: Iterable[str], exclude: Iterable[int] = ()) -> CommittedRows:
    """The variables `names` at the points of the committed chunks of the run in `out_dir`,
    leaving out the chunks in `exclude` (those that failed verification: they may not even
    decode). Neighbouring chunks are read as one span (a finished store: one read each)."""
    import zarr

    group = zarr.open_group(store_path(out_dir), mode="r")
    info = group_info(group)
    done = committed(group)
    done[list(exclude)] = False
    points = group["status"].shape[0]  # type: ignore[union-attr]  # an array, not a group
    spans: list[tuple[int, int]] = []
    for c in np.flatnonzero(done):
        start, stop = int(c) * info.chunk_size, min((int(c) + 1) * info.chunk_size, points)
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], stop)
        else:
            spans.append((start, stop))

    def read(name):
        array = group[name]
        parts = [np.asarray(array[a:b]) for a, b in spans]
        return np.concatenate(parts) if parts else np.zeros((0,) + array.shape[1:], array.dtype)

    def swept(point: int) -> dict[str, float]:
        return {key: float(group[key][point]) for key in info.sweep_keys}  # type: ignore[arg-type,index]  # 1-D arrays

    rows = np.concatenate([np.arange(a, b) for a, b in spans]) if spans else np.zeros(0, int)
    return CommittedRows(info, done, rows, {name: read(name) for name in names}, swept)
