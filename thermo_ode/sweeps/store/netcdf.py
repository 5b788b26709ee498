"""The one-file copy `results.nc` of a run's grid view: written aside and renamed, its
SHA-256 recorded in the store, so a copy that was altered, or left by another run, is known."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import pathlib

import numpy as np

from .layout import NETCDF_NAME, PARTIAL, store_path


def netcdf_current(out_dir) -> bool:
    """Whether results.nc exists and is, byte for byte, the copy this store last wrote."""
    target = pathlib.Path(out_dir) / NETCDF_NAME
    if not target.is_file():
        return False
    try:
        import zarr

        recorded = zarr.open_group(store_path(out_dir), mode="r").attrs.get("netcdf_checksum")
        return recorded is not None and _file_digest(target) == recorded
    except Exception:  # unreadable: write it again
        return False


def netcdf_problem(out_dir) -> str:
    """What is wrong with results.nc ("" if it is absent or current)."""
    if not (pathlib.Path(out_dir) / NETCDF_NAME).exists() or netcdf_current(out_dir):
        return ""
    return (
        f"{NETCDF_NAME} is not the copy this store wrote (altered, or left by another run): "
        "`thermo-ode run` with the same config writes it again"
    )


def _file_digest(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            h.update(block)
    return h.hexdigest()


def remove_netcdf(out_dir) -> None:
    """Remove results.nc of `out_dir`, if there is one."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(pathlib.Path(out_dir) / NETCDF_NAME)


def export_netcdf(out_dir: str | os.PathLike[str]) -> pathlib.Path:
    """Write the one-file copy `results.nc` of the grid view of a run and return its path.

    Written aside and renamed, so it is whole or absent. Refuses (OSError ENOSPC, naming the
    path) when the disk cannot hold it; a failed write leaves nothing behind.

    Examples:
        >>> from thermo_ode import sweeps
        >>> path = sweeps.export_netcdf(sweeps.demo_run())
        >>> path.name
        'results.nc'
        >>> import xarray
        >>> with xarray.open_dataset(path, engine="h5netcdf") as ds:
        ...     print(ds["rho"].shape)
        (5, 2, 1, 3)
    """
    import shutil

    from .read import open_results

    target = pathlib.Path(out_dir) / NETCDF_NAME
    ds = open_results(out_dir)  # lazy: its size is known before anything is read
    need, free = int(ds.nbytes), shutil.disk_usage(target.parent).free
    if need > free:  # results.nc needs about its data's size on disk (and twice that in memory)
        raise OSError(
            errno.ENOSPC,
            f"No space left on device: results.nc needs {need / 2**20:.1f} MiB, {free / 2**20:.1f} MiB free",
            str(target),
        )
    ds = ds.load()
    ds.attrs.pop("netcdf_checksum", None)  # the copy's own record, kept by the store
    for variable in ds.variables.values():  # CF: flag values of the variable's own type (JSON kept none)
        if "flag_values" in variable.attrs:
            variable.attrs["flag_values"] = np.asarray(variable.attrs["flag_values"], variable.dtype)
    partial = target.with_name(f"{target.name}.{os.getpid()}{PARTIAL}")
    try:
        ds.to_netcdf(partial, engine="h5netcdf")
        digest = _file_digest(partial)
        os.replace(partial, target)
        import zarr

        from .record import update_attributes

        update_attributes(zarr.open_group(store_path(out_dir), mode="r+"), netcdf_checksum=digest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
    return target
