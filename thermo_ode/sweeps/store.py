"""Results on disk: a zarr store written chunk by chunk, read back through xarray.

Layout: points are kept flat along `point` (C order over the sweep axes) so that every work
chunk owns whole zarr chunks: a chunk is written by exactly one process, atomically file by
file, and marked in `chunk_done` only after its data. A killed run therefore loses at most the
chunks in flight, and several processes can fill disjoint chunk ranges of one store.
`open_results` gives the grid view, one dimension per swept key, and `export_netcdf` writes it
as one file.

Time series run along `save`, the index of the saved state; their physical times are the
coordinate `t` (per point: each point has its own t1), so `plot.line(x="t")` plots against time.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil

import numpy as np

from .plan import Plan

STORE_NAME = "results.zarr"
NETCDF_NAME = "results.nc"
PARAMETERS = ("temperature", "mass", "damping", "t1", "bath_temperature", "dt", "burn_in")  # dt NaN: adaptive


def _variables(plan: Plan) -> dict[str, tuple[tuple[str, ...], str, object]]:
    """name -> (dims, dtype, fill value)."""
    pq, pqs, pqn = ("point", "query"), ("point", "query", "save"), ("point", "query", "token")
    return {
        "rho": (pqs + ("token",), "float64", np.nan),
        # With rho, the exact derivative at each save: figures interpolate between saves with it.
        "rho_dot": (pqs + ("token",), "float64", np.nan),
        "distance": (pqs, "float64", np.nan),
        "hamiltonian": (pqs, "float64", np.nan),
        "free_energy": (pqs, "float64", np.nan),
        "equilibrium": (pqn, "float64", np.nan),
        "energies": (pqn, "float64", np.nan),
        "mask": (pqn, "bool", False),
        "status": (pq, "int32", -1),
        "num_steps": (pq, "int64", -1),
        "final_distance": (pq, "float64", np.nan),
        "converged": (pq, "bool", False),
        "relaxation_time": (pq, "float64", np.nan),
        # Time averages over saves at t >= burn_in (Langevin observables; any run has them).
        "mean_kinetic_energy": (pq, "float64", np.nan),
        "mean_distance": (pq, "float64", np.nan),
        "mean_rho": (pqn, "float64", np.nan),
        "rho_fluctuation": (pqn, "float64", np.nan),
        "predicted_relaxation_time": (("point",), "float64", np.nan),
        "t": (("point", "save"), "float64", np.nan),
        "parameters": (("point", "parameter"), "float64", np.nan),
    }


def _sizes(plan: Plan) -> dict[str, int]:
    return dict(point=plan.points, query=plan.queries, save=plan.saves, token=plan.tokens, parameter=len(PARAMETERS))


def store_path(out_dir) -> pathlib.Path:
    return pathlib.Path(out_dir) / STORE_NAME


def find_runs(folder, depth: int = 2) -> list[pathlib.Path]:
    """Run folders (holding a results store) at or below `folder`, at most `depth` levels down."""
    folder = pathlib.Path(folder)
    found = []
    for level in range(depth + 1):
        pattern = "/".join(["*"] * level + [STORE_NAME])
        found += [store.parent for store in folder.glob(pattern) if store.is_dir()]
    return sorted(set(found))


class ConfigMismatch(Exception):
    pass


def open_for_run(out_dir, plan: Plan, attrs: dict, resume: bool):
    """The store's zarr group, created if needed. An existing store made from another config is
    refused (`ConfigMismatch`) unless `resume` is False, which starts it afresh."""
    import zarr

    path = store_path(out_dir)
    if path.exists():
        if resume:
            group = zarr.open_group(path, mode="r+")
            found = group.attrs.get("config_digest")
            if found != attrs["config_digest"]:
                raise ConfigMismatch(
                    f"{path} holds results of a different config (digest {found}, this config "
                    f"{attrs['config_digest']}); use another --out or --no-resume to overwrite"
                )
            return group
        shutil.rmtree(path)
    return _create(path, plan, attrs)


def _create(path: pathlib.Path, plan: Plan, attrs: dict):
    """Build the empty store beside its final name and rename it into place, so a store that
    exists is always complete."""
    import zarr

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    group = zarr.open_group(partial, mode="w")
    sizes = _sizes(plan)
    for name, (dims, dtype, fill) in _variables(plan).items():
        shape = tuple(sizes[d] for d in dims)
        chunks = tuple(plan.chunk_size if d == "point" else (1 if d == "query" else sizes[d]) for d in dims)
        group.create_array(name, shape=shape, chunks=chunks, dtype=dtype, fill_value=fill, dimension_names=dims)
    coords = {"save": np.arange(plan.saves), "token": np.arange(plan.tokens), "query": np.arange(plan.queries)}
    for name, values in coords.items():
        group.create_array(name, shape=values.shape, dtype="int64", dimension_names=(name,))[:] = values
    group.create_array("parameter", shape=(len(PARAMETERS),), dtype=str, dimension_names=("parameter",))[:] = np.array(PARAMETERS, dtype=object)
    # Swept values along `point`, named as in the config.
    grid = np.meshgrid(*plan.axes.values(), indexing="ij") if plan.axes else []
    for key, values in zip(plan.axes, grid):
        array = group.create_array(key, shape=(plan.points,), dtype=values.dtype, dimension_names=("point",))
        array[:] = values.reshape(-1)
    group.create_array("chunk_done", shape=(plan.chunks,), chunks=(1,), dtype="bool", fill_value=False, dimension_names=("chunk",))
    group.attrs.update(dict(attrs, sweep_keys=json.dumps(list(plan.axes)), grid_shape=json.dumps(list(plan.shape)), chunk_size=plan.chunk_size))
    if path.exists():  # another process of the same sweep got there first
        shutil.rmtree(partial)
    else:
        os.replace(partial, path)
    return zarr.open_group(path, mode="r+")


def done_chunks(group) -> np.ndarray:
    return np.asarray(group["chunk_done"][:], bool)


def write_chunk(group, plan: Plan, chunk: int, data: dict[str, np.ndarray]) -> None:
    """Write one chunk's rows of every variable, then mark it done (the commit point)."""
    start, stop = plan.chunk_range(chunk)
    for name, values in data.items():
        group[name][start:stop] = values[: stop - start]
    group["chunk_done"][chunk] = True


def open_results(out_dir, grid: bool = True):
    """The results as an xarray Dataset, with the physical times `t` as a coordinate; with
    `grid`, one dimension per swept key."""
    import xarray as xr

    ds = xr.open_zarr(store_path(out_dir), consolidated=False, chunks=None)
    ds = ds.set_coords(json.loads(ds.attrs["sweep_keys"]) + ["t"])
    return grid_view(ds) if grid else ds


def grid_view(raw):
    """The flat-`point` dataset reshaped to one dimension per swept key, in config order, after
    `save`. `save` comes first because xarray's `plot.line(x="t")` draws one line per value of
    the second dimension: after selecting all but one axis, that is the remaining axis."""
    keys = json.loads(raw.attrs["sweep_keys"])
    ds = raw.drop_vars("chunk_done")
    if len(keys) == 1:
        ds = ds.swap_dims(point=keys[0])
    elif keys:
        ds = ds.set_index(point=keys).unstack("point")
    return ds.transpose("save", *keys, ...)


def export_netcdf(out_dir) -> pathlib.Path:
    """One-file copy of the grid view (written aside and renamed, so it is whole or absent)."""
    ds = open_results(out_dir).load()
    target = pathlib.Path(out_dir) / NETCDF_NAME
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    ds.to_netcdf(partial, engine="h5netcdf")
    os.replace(partial, target)
    return target
