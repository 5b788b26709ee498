"""Creating a store and committing its chunks. A chunk is committed by writing the SHA-256 of
its data into `chunk_checksum` after the data (zarr writes every file aside and renames it
into place, so each file is whole or absent): a killed run loses at most the chunks in flight.
A new store is built aside and renamed into place, so a store that exists is complete."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pathlib
import shutil
import typing

import numpy as np

from .layout import (
    PARTIAL,
    REPLACED,
    STORE_FORMAT,
    VARIABLES,
    ConfigMismatch,
    attributes,
    format_problem,
    sizes,
    static_arrays,
    store_path,
)
from .netcdf import remove_netcdf
from .record import ROOT, check_metadata, read_record, restore, snapshot, update_attributes, write_record

if typing.TYPE_CHECKING:
    from ..plan import Plan
    from .verify import Verification


def open_for_run(out_dir, plan: Plan, attrs: dict, resume: bool) -> tuple[typing.Any, tuple[str, ...]]:
    """The store's zarr group, created if needed (call under `writer_lock`), and what was
    written back of its metadata. An existing store made from another config is refused
    (`ConfigMismatch`) unless `resume` is False, which replaces it whole: the old store stays
    until the new one is in place. Altered or lost metadata is written back from the store's
    record, or, with the record lost too, rebuilt from the plan (chunk checksums include the
    config's digest, so only this config's chunks verify afterwards)."""
    import zarr

    path = store_path(out_dir)
    if path.exists() and resume:
        found = _identity(path)
        if found is not None:
            digest, fmt = found
            if digest != attrs["config_digest"]:
                raise ConfigMismatch(_mismatch(path, digest, attrs["config_digest"]))
            if fmt != STORE_FORMAT:
                why = format_problem(fmt) or f"store format {fmt!r} is not one thermo-ode wrote (now {STORE_FORMAT})"
                raise ConfigMismatch(f"{path}: {why}; --no-resume replaces it")
        restored = _restore_metadata(path, plan, attrs)  # before zarr reads it
        return zarr.open_group(path, mode="r+"), restored
    group = _create(path, plan, attrs)
    if not resume:
        remove_netcdf(out_dir)  # a copy of the results just replaced (until then, theirs)
    return group, ()


def _identity(path: pathlib.Path) -> tuple[object, object] | None:
    """The config digest and format of the store at `path`: from its record, else from its
    root metadata; None if neither can be read."""
    recorded, _ = read_record(path)
    if recorded is not None:
        attributes = recorded[ROOT].get("attributes", {})
    else:
        try:
            attributes = json.loads((path / "zarr.json").read_text(encoding="utf-8"))["attributes"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
    if not isinstance(attributes, dict) or "config_digest" not in attributes:
        return None
    return attributes["config_digest"], attributes.get("store_format", 1)


def _restore_metadata(path: pathlib.Path, plan: Plan, attrs: dict) -> tuple[str, ...]:
    """Write back the metadata that differs from the record (or rebuild it all from the plan,
    the record being lost); returns a line for each thing written back."""
    check = check_metadata(path)
    if check.record_problem:
        _rebuild_metadata(path, plan, attrs)
        return (f"{check.record_problem}: the metadata rebuilt from the config",)
    restore(path, check.altered)
    return tuple(f"{why}: written back from the store's record" for why in check.altered.values())


def _rebuild_metadata(path: pathlib.Path, plan: Plan, attrs: dict) -> None:
    """Give the store at `path` the metadata a new store of `plan` would have (built aside,
    then its zarr.json files copied over), keeping the chunk data, and record it."""
    fresh = path.with_name(f"{path.name}.{os.getpid()}.rebuild{PARTIAL}")
    shutil.rmtree(fresh, ignore_errors=True)
    try:
        _build(fresh, plan, attrs)
        metadata = snapshot(fresh)
        for key in metadata:
            (path / key).mkdir(exist_ok=True)
            shutil.copyfile(fresh / key / "zarr.json", path / key / "zarr.json")
        import zarr

        write_static(zarr.open_group(path, mode="r+"), plan)
        write_record(path, metadata)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


def open_writable(out_dir):
    """The existing store of `out_dir` opened for writing chunks (`write_chunk`), by a process
    that did not create it (a Dask worker, a jax.distributed process)."""
    import zarr

    return zarr.open_group(store_path(out_dir), mode="r+")


def _mismatch(path, found: object, digest: str) -> str:
    return (
        f"{path} holds results of a different config or input files (digest {found}, this run "
        f"{digest}); use another --out, or --no-resume to replace them"
    )


def other_run(out_dir, digest: str) -> str:
    """What `open_for_run` would refuse for a run of `digest`: results of another config or
    inputs in `out_dir` ("" if none, or none readable: a damaged store is the run's to report)."""

    found = _identity(store_path(out_dir)) if store_path(out_dir).is_dir() else None
    if found is None:
        return ""
    return "" if found[0] == digest else _mismatch(store_path(out_dir), found[0], digest)


def _create(path: pathlib.Path, plan: Plan, attrs: dict):
    """Build the empty store beside its final name and rename it into place, so a store that
    exists is always complete; an existing store (--no-resume) is renamed away first and
    removed after."""
    import zarr

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}{PARTIAL}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        _build(partial, plan, attrs)
        _move_into_place(partial, path)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return zarr.open_group(path, mode="r+")


def _build(path: pathlib.Path, plan: Plan, attrs: dict) -> None:
    """Write the empty store of `plan` at `path`: its arrays, coordinates, attributes and the
    record of its metadata."""
    import zarr

    group = zarr.open_group(path, mode="w")
    dims_sizes = sizes(plan)
    for name, (dims, dtype, fill) in VARIABLES.items():
        shape = tuple(dims_sizes[d] for d in dims)
        chunks = tuple(plan.chunk_size if d == "point" else (1 if d == "query" else dims_sizes[d]) for d in dims)
        group.create_array(
            name,
            shape=shape,
            chunks=chunks,
            dtype=dtype,
            fill_value=fill,
            dimension_names=dims,
            attributes=attributes(name),
        )
    static = write_static(group, plan)
    group.create_array(
        "chunk_checksum",
        shape=(plan.chunks,),
        chunks=(1,),
        dtype=str,
        fill_value="",
        dimension_names=("chunk",),
        attributes=attributes("chunk_checksum"),
    )
    group.attrs.update(
        dict(
            **cf_attributes(attrs),
            **{key: json.dumps(value) if isinstance(value, dict) else value for key, value in attrs.items()},
            sweep_keys=json.dumps(list(plan.axes)),
            grid_shape=json.dumps(list(plan.shape)),
            chunk_size=plan.chunk_size,
            store_format=STORE_FORMAT,
            static_checksum=static_checksum({k: v for k, (_, v) in static.items()}),
        )
    )
    write_record(path)


def cf_attributes(attrs: dict) -> dict[str, str]:
    """The dataset's CF attributes (`Conventions`, `title`, `source`, `history`, `comment`), from
    the run's provenance `attrs`."""
    # No clock time in `history`: a store's metadata follows from its config and provenance
    # alone, so a lost record is rebuilt to the same bytes.
    version = dict(attrs.get("versions") or {}).get("thermo-ode", "unknown")
    return dict(
        Conventions="CF-1.11",
        title=f"thermo-ode sweep {attrs.get('name', '')}: attention relaxing on the Fisher-Rao sphere",
        source=f"thermo-ode {version}",
        history=f"created by thermo-ode {version} from {attrs.get('config_path') or 'a config text'}",
        comment=(
            "The model fixes no physical scale: 'energy unit' is the unit of the config's energies and "
            "temperature, 'time unit' that of its times (thermo-ode's physics page, section 1)."
        ),
    )


def _move_into_place(partial: pathlib.Path, path: pathlib.Path) -> None:
    """Rename the store built aside to its name; one there already (--no-resume) is renamed
    away first and removed after."""
    if path.exists():
        aside = path.with_name(f"{path.name}.{os.getpid()}{REPLACED}")
        os.replace(path, aside)
        os.replace(partial, path)
        shutil.rmtree(aside)
        return
    try:
        os.replace(partial, path)
    except OSError as exc:  # another process of the same sweep (--chunks) got there first
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
        shutil.rmtree(partial)


def write_static(group, plan: Plan) -> dict[str, tuple[str, np.ndarray]]:
    """Write (or write again) the coordinates and swept values of `plan`; returns them."""
    static = static_arrays(plan)
    for name, (dim, values) in static.items():
        group.create_array(
            name,
            shape=values.shape,
            dtype=str if values.dtype.kind == "U" else values.dtype,
            dimension_names=(dim,),
            attributes=attributes(name),
            overwrite=True,
        )[:] = values
    return static


def digest(chunk: int, data: dict[str, np.ndarray], identity: str = "") -> str:
    """The checksum of one chunk's arrays (names, types, shapes and bytes), of the run whose
    config digest is `identity`: another config's chunk does not verify."""
    h = hashlib.sha256(f"{identity} chunk {chunk}".encode())
    for name in sorted(data):
        values = np.ascontiguousarray(data[name])
        h.update(f"{name} {values.dtype.str} {values.shape}".encode())
        h.update(values.tobytes())
    return h.hexdigest()


def static_checksum(arrays: dict[str, np.ndarray]) -> str:
    """The checksum of the coordinates and swept values."""

    def canonical(values):  # text arrays by their UTF-8 (numpy's and zarr's string types differ)
        values = np.asarray(values)
        if values.dtype.kind in "OUT":
            return np.frombuffer("\0".join(map(str, values.tolist())).encode(), np.uint8)
        return values

    return digest(-1, {name: canonical(values) for name, values in arrays.items()})


def write_chunk(group, plan: Plan, chunk: int, data: dict[str, np.ndarray]) -> None:
    """Write one chunk's rows of every variable, then its checksum (the commit point)."""
    start, stop = plan.chunk_range(chunk)
    rows = {
        name: _canonical(np.asarray(values[: stop - start]).astype(group[name].dtype)) for name, values in data.items()
    }
    if set(rows) != set(VARIABLES):
        raise ValueError(f"a chunk needs exactly the variables {sorted(VARIABLES)}")
    for name, values in rows.items():
        group[name][start:stop] = values
    group["chunk_checksum"][chunk] = digest(chunk, rows, str(group.attrs["config_digest"]))


def _canonical(values: np.ndarray) -> np.ndarray:
    """Every NaN as the fill value's NaN: zarr does not write a chunk equal to its fill value
    (NaN counts as equal to any NaN), so a chunk of failed points reads back as the fill's bits,
    and its checksum must be of those."""
    if values.dtype.kind == "f":
        return np.where(np.isnan(values), np.array(np.nan, values.dtype), values)
    return values


def uncommit(group, chunks) -> None:
    """Mark `chunks` as not committed, so a run computes them again."""
    for c in chunks:
        group["chunk_checksum"][int(c)] = ""


def repair(group, plan: Plan, check: Verification, out_dir) -> None:
    """Undo what `check` found wrong, short of recomputing: the coordinates and swept values
    written again from the plan (they hold no results), the damaged chunks uncommitted, and a
    netCDF copy made from damaged data removed."""
    if check.static_problem:
        write_static(group, plan)
    if check.damaged:
        uncommit(group, check.damaged)
    if not check.intact:
        remove_netcdf(out_dir)


def record_machine(group, backend: str, device_count: int) -> None:
    """Record what the chunks were computed on, once known (a Dask run learns it from its workers)."""
    update_attributes(group, backend=backend, device_count=device_count)
