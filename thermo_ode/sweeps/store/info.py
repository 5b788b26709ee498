"""A run's identity and shape, decoded from the store's attributes: its name and config digest,
precision, machine and package versions, and the sweep's keys, grid shape and chunk size (the
lists and mappings are kept as JSON text)."""

from __future__ import annotations

import json
import typing

from .layout import store_path

if typing.TYPE_CHECKING:
    import xarray as xr


class RunInfo(typing.NamedTuple):
    """A run's identity and shape, decoded from the store's attributes (`run_info`,
    `dataset_info`)."""

    name: str
    config_digest: str
    precision: str  # "float64" | "float32"
    backend: str
    device_count: int
    versions: dict[str, str]  # package -> version ("thermo-ode", "jax", ...)
    sweep_keys: tuple[str, ...]  # swept keys, config order
    grid_shape: tuple[int, ...]
    chunk_size: int
    tolerance: float  # verify.tolerance of the resolved config
    # How it was made (read as unknown where the store lacks them, even by `run_info`):
    config_text: str = ""  # the config file as written
    python: str = "?"
    engine: str = "?"  # "one process", Dask, processes sharing --chunks, ...
    store_format: int = 0
    history: str = ""  # the CF history: by which thermo-ode, from which config file


def decoded(value):
    """A JSON-text attribute decoded (a value already decoded is returned as it is)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def sweep_keys(attrs) -> list[str]:
    """The swept keys, in config order, from the store's attributes."""
    return [str(key) for key in decoded(attrs["sweep_keys"])]


def _run_info(attrs, strict: bool) -> RunInfo:
    """The `RunInfo` of a store's attributes; with `strict`, a missing one raises KeyError,
    else it (or one that does not decode) reads as unknown ("?", NaN, 0, empty)."""

    def get(key, default, decode: typing.Callable = str, required: bool = True):
        if strict and required:
            return decode(attrs[key])
        try:
            return decode(attrs[key]) if key in attrs else default
        except (KeyError, TypeError, ValueError, AttributeError):  # a user's own, or altered
            return default

    return RunInfo(
        name=get("name", "?"),
        config_digest=get("config_digest", "?"),
        precision=get("precision", "?"),
        backend=get("backend", "?"),
        device_count=get("device_count", 0, int),
        versions=get("versions", {}, lambda v: {str(k): str(x) for k, x in decoded(v).items()}),
        sweep_keys=get("sweep_keys", (), lambda v: tuple(str(k) for k in decoded(v))),
        grid_shape=get("grid_shape", (), lambda v: tuple(int(n) for n in decoded(v))),
        chunk_size=get("chunk_size", 0, int),
        tolerance=get("config_resolved", float("nan"), lambda v: float(decoded(v)["verify"]["tolerance"])),
        config_text=get("config_text", "", required=False),
        python=get("python", "?", required=False),
        engine=get("engine", "?", required=False),
        store_format=get("store_format", 0, int, required=False),
        history=get("history", "", required=False),
    )


def group_info(group) -> RunInfo:
    """The `RunInfo` of an open store (its zarr group); raises if an attribute is missing."""
    return _run_info(group.attrs, strict=True)


def run_info(out_dir) -> RunInfo:
    """The `RunInfo` of the run in `out_dir`; raises if its store cannot be read."""
    import zarr

    return group_info(zarr.open_group(store_path(out_dir), mode="r"))


def dataset_info(ds: xr.Dataset) -> RunInfo:
    """The `RunInfo` from the attributes of a Dataset `open_results` returned (grid or flat, or
    its netCDF copy); a Dataset without them reads as unknown (name "?", tolerance NaN, no
    sweep keys) rather than failing."""
    return _run_info(ds.attrs, strict=False)
