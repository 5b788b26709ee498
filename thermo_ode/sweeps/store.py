"""Results on disk: a zarr store written chunk by chunk, read back through xarray.

Layout: points are kept flat along `point` (C order over the sweep axes) so that every work
chunk owns whole zarr chunks. A chunk is committed by writing the SHA-256 of its data into
`chunk_checksum` after the data (zarr writes every file aside and renames it into place, so
each file is whole or absent). A killed run therefore loses at most the chunks in flight, and
`verify` finds any committed chunk whose files were later lost, swapped or altered: a resumed
run recomputes exactly those. `open_results` gives the grid view, one dimension per swept key,
and `export_netcdf` writes it as one file.

One writer at a time: `writer_lock` holds an advisory lock (flock) on a file beside the store,
which names its holder and which the operating system releases when the holder dies.
Processes that fill disjoint `--chunks` ranges of one store share it.

Time series run along `save`, the index of the saved state; their physical times are the
coordinate `t` (per point: each point has its own t1), so `plot.line(x="t")` plots against time.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import pathlib
import shutil
import socket
import time
import typing

import numpy as np

from .plan import Plan

if typing.TYPE_CHECKING:
    import xarray as xr

STORE_NAME = "results.zarr"
NETCDF_NAME = "results.nc"
LOCK_NAME = ".thermo-ode.lock"
STORE_FORMAT = 3  # 3: arrays' layout recorded; 2: chunks committed by checksum; 1: a bare `chunk_done` flag
PARTIAL = ".partial"  # suffix of files and folders written aside before a rename
REPLACED = ".replaced"  # suffix of a store being replaced by --no-resume
PARAMETERS = ("temperature", "mass", "damping", "t1", "bath_temperature", "dt", "burn_in")  # dt NaN: adaptive


def _variables(plan: Plan) -> dict[str, tuple[tuple[str, ...], str, object]]:
    """The per-point variables, each written chunk by chunk: name -> (dims, dtype, fill value)."""
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


def _static_arrays(plan: Plan) -> dict[str, tuple[str, np.ndarray]]:
    """The arrays written once at creation (coordinates and swept values along `point`, named
    as in the config): name -> (dimension, values). All follow from the plan."""
    arrays = {
        "save": ("save", np.arange(plan.saves)),
        "token": ("token", np.arange(plan.tokens)),
        "query": ("query", np.arange(plan.queries)),
        "parameter": ("parameter", np.array(PARAMETERS)),
    }
    grid = np.meshgrid(*plan.axes.values(), indexing="ij") if plan.axes else []
    for key, values in zip(plan.axes, grid):
        arrays[key] = ("point", values.reshape(-1))
    return arrays


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


class StoreBusy(Exception):
    """Another process holds the store's writer lock."""


class StoreDamaged(Exception):
    """The store cannot be read as a thermo-ode store (its metadata is lost or altered)."""


# --- one writer at a time ----------------------------------------------------------------------


@contextlib.contextmanager
def writer_lock(out_dir, *, shared: bool = False):
    """Hold the writer lock of `out_dir` (created if needed) for the block; `shared` for
    processes that fill disjoint chunk ranges together. `StoreBusy` names the holder."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip()
            raise StoreBusy(
                f"{out_dir} is being written by another process ({_describe_holder(holder)}); "
                "wait for it to finish, or use another --out"
            ) from None
        record = json.dumps(
            dict(host=socket.gethostname(), pid=os.getpid(), since=time.strftime("%Y-%m-%dT%H:%M:%S%z"), shared=shared)
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, record.encode(), 0)
        if not shared:  # no other writer can be mid-write: what is aside is a killed run's
            _clean_strays(out_dir)
        yield
    finally:
        os.close(fd)  # releases the lock


def _describe_holder(text: str) -> str:
    try:
        h = json.loads(text)
        return f"pid {h['pid']} on {h['host']}, since {h['since']}" + (" with --chunks" if h.get("shared") else "")
    except (ValueError, KeyError, TypeError):
        return "holder unknown"


def _clean_strays(out_dir: pathlib.Path) -> None:
    """Remove what killed runs left aside (files and stores written aside, zarr's own files
    written aside inside the store); bring back a store whose replacement never arrived."""
    store = store_path(out_dir)
    replaced = sorted(out_dir.glob(f"{STORE_NAME}.*{REPLACED}"))
    if replaced and not store.exists():
        os.replace(replaced.pop(), store)  # a --no-resume killed between its two renames
    for path in replaced + list(out_dir.glob(f"*{PARTIAL}")):
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    if store.is_dir():
        for folder, _, files in os.walk(store):
            for name in files:
                if name.endswith(PARTIAL):
                    os.unlink(os.path.join(folder, name))


# --- creating and committing ---------------------------------------------------------------------


def open_for_run(out_dir, plan: Plan, attrs: dict, resume: bool):
    """The store's zarr group, created if needed (call under `writer_lock`). An existing store
    made from another config is refused (`ConfigMismatch`) unless `resume` is False, which
    replaces it whole: the old store stays until the new one is in place."""
    import zarr

    path = store_path(out_dir)
    if path.exists() and resume:
        try:
            group = zarr.open_group(path, mode="r+")
            found, fmt = group.attrs.get("config_digest"), group.attrs.get("store_format", 1)
        except Exception as exc:
            raise StoreDamaged(
                f"{path}: cannot read the store's metadata ({type(exc).__name__}: {exc}); --no-resume replaces it"
            ) from None
        if found != attrs["config_digest"]:
            raise ConfigMismatch(_mismatch(path, found, attrs["config_digest"]))
        if fmt != STORE_FORMAT:
            raise ConfigMismatch(
                f"{path} was written by an older thermo-ode (store format {fmt}, now {STORE_FORMAT}); "
                "--no-resume replaces it"
            )
        return group
    group = _create(path, plan, attrs)
    if not resume:
        remove_netcdf(out_dir)  # a copy of the results just replaced (until then, theirs)
    return group


def _mismatch(path, found: object, digest: str) -> str:
    return (
        f"{path} holds results of a different config or input files (digest {found}, this run "
        f"{digest}); use another --out, or --no-resume to replace them"
    )


def other_run(out_dir, digest: str) -> str:
    """What `open_for_run` would refuse for a run of `digest`: results of another config or
    inputs in `out_dir` ("" if none, or none readable: a damaged store is the run's to report)."""
    import zarr

    try:
        found = zarr.open_group(store_path(out_dir), mode="r").attrs.get("config_digest")
    except Exception:
        return ""
    return "" if found == digest else _mismatch(store_path(out_dir), found, digest)


def _create(path: pathlib.Path, plan: Plan, attrs: dict):
    """Build the empty store beside its final name and rename it into place, so a store that
    exists is always complete; an existing store (--no-resume) is renamed away first and
    removed after."""
    import zarr

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}{PARTIAL}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        group = zarr.open_group(partial, mode="w")
        sizes = _sizes(plan)
        for name, (dims, dtype, fill) in _variables(plan).items():
            shape = tuple(sizes[d] for d in dims)
            chunks = tuple(plan.chunk_size if d == "point" else (1 if d == "query" else sizes[d]) for d in dims)
            group.create_array(name, shape=shape, chunks=chunks, dtype=dtype, fill_value=fill, dimension_names=dims)
        static = _write_static(group, plan)
        group.create_array(
            "chunk_checksum", shape=(plan.chunks,), chunks=(1,), dtype=str, fill_value="", dimension_names=("chunk",)
        )
        group.attrs.update(
            dict(
                attrs,
                sweep_keys=json.dumps(list(plan.axes)),
                grid_shape=json.dumps(list(plan.shape)),
                chunk_size=plan.chunk_size,
                store_format=STORE_FORMAT,
                layout=json.dumps(_layout(group)),
                static_checksum=_static_checksum({k: v for k, (_, v) in static.items()}),
            )
        )
        if path.exists():
            aside = path.with_name(f"{path.name}.{os.getpid()}{REPLACED}")
            os.replace(path, aside)
            os.replace(partial, path)
            shutil.rmtree(aside)
        else:
            try:
                os.replace(partial, path)
            except OSError as exc:  # another process of the same sweep (--chunks) got there first
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                shutil.rmtree(partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return zarr.open_group(path, mode="r+")


def _digest(chunk: int, data: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(f"chunk {chunk}".encode())
    for name in sorted(data):
        values = np.ascontiguousarray(data[name])
        h.update(f"{name} {values.dtype.str} {values.shape}".encode())
        h.update(values.tobytes())
    return h.hexdigest()


def _static_checksum(arrays: dict[str, np.ndarray]) -> str:
    def canonical(values):  # text arrays by their UTF-8 (numpy's and zarr's string types differ)
        values = np.asarray(values)
        if values.dtype.kind in "OUT":
            return np.frombuffer("\0".join(map(str, values.tolist())).encode(), np.uint8)
        return values

    return _digest(-1, {name: canonical(values) for name, values in arrays.items()})


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


def write_chunk(group, plan: Plan, chunk: int, data: dict[str, np.ndarray]) -> None:
    """Write one chunk's rows of every variable, then its checksum (the commit point)."""
    start, stop = plan.chunk_range(chunk)
    rows = {
        name: _canonical(np.asarray(values[: stop - start]).astype(group[name].dtype)) for name, values in data.items()
    }
    if set(rows) != set(_variables(plan)):
        raise ValueError(f"a chunk needs exactly the variables {sorted(_variables(plan))}")
    for name, values in rows.items():
        group[name][start:stop] = values
    group["chunk_checksum"][chunk] = _digest(chunk, rows)


def _canonical(values: np.ndarray) -> np.ndarray:
    """Every NaN as the fill value's NaN: zarr does not write a chunk equal to its fill value
    (NaN counts as equal to any NaN), so a chunk of failed points reads back as the fill's bits,
    and its checksum must be of those."""
    if values.dtype.kind == "f":
        return np.where(np.isnan(values), np.array(np.nan, values.dtype), values)
    return values


def uncommit(group, chunks) -> None:
    for c in chunks:
        group["chunk_checksum"][int(c)] = ""


# --- verifying -----------------------------------------------------------------------------------


class Verification(typing.NamedTuple):
    committed: int  # chunks committed (checksum written)
    total: int
    damaged: dict[int, str]  # committed chunk -> what is wrong with it
    static_problem: str  # "" when the coordinates and swept values are intact
    layout_problem: str  # "" when every array is there with the shape, type and chunks it was made with

    @property
    def intact(self) -> bool:
        return not self.damaged and not self.static_problem and not self.layout_problem

    def describe(self, limit: int = 5) -> list[str]:
        lines = [f"chunk {c}: {why}" for c, why in list(self.damaged.items())[:limit]]
        if len(self.damaged) > limit:
            lines.append(f"... and {len(self.damaged) - limit} more damaged chunks")
        if self.static_problem:
            lines.append(self.static_problem)
        if self.layout_problem:
            lines.append(self.layout_problem)
        return lines


def verify(group, chunks=None) -> Verification:
    """Check the arrays' metadata, then every committed chunk (or those in `chunks`) against
    its checksum, and the coordinates against theirs. Reads the whole store."""
    problem = _layout_problem(group)
    if problem:  # no chunk can be trusted, nor even read, through altered metadata
        try:
            done = committed(group)
        except Exception:
            done = np.zeros(0, bool)
        return Verification(int(done.sum()), int(done.size), {}, "", problem)
    done = committed(group)
    checksums = group["chunk_checksum"]
    chunk_size, points = int(group.attrs["chunk_size"]), group["status"].shape[0]
    names = [n for n in _VARIABLE_NAMES if n in group]
    damaged = {}
    for c in np.flatnonzero(done):
        if chunks is not None and c not in chunks:
            continue
        start, stop = c * chunk_size, min((c + 1) * chunk_size, points)
        try:
            rows = {name: np.asarray(group[name][start:stop]) for name in names}
        except Exception as exc:  # a file that does not decode
            damaged[int(c)] = f"cannot be read ({type(exc).__name__}: {exc})"
            continue
        if _digest(int(c), rows) != checksums[int(c)]:
            damaged[int(c)] = (
                "checksum mismatch (a file of it is missing, truncated, swapped or altered)" + _missing_hint(group, c)
            )
    return Verification(int(done.sum()), int(done.size), damaged, _static_problem(group), "")


_VARIABLE_NAMES = tuple(_variables(Plan({}, (), 1, 1, 1, 2, 1)))


def _missing_hint(group, chunk: int | np.integer) -> str:
    """Name a variable whose file for this chunk is absent (zarr leaves out chunks that hold
    only the fill value, so an absent file is a hint, not proof)."""
    root = getattr(group.store, "root", None)
    if root is None:
        return ""
    missing = [
        name for name in _VARIABLE_NAMES if not (pathlib.Path(root) / group.path / name / "c" / str(chunk)).exists()
    ]
    return f"; no file for {', '.join(missing)}" if missing else ""


def _layout(group) -> dict[str, str]:
    """Each array's shape, chunks, data type and fill value, as made."""
    names = [*_VARIABLE_NAMES, "chunk_checksum"]
    return {name: _array_layout(group[name]) for name in names}


def _array_layout(array) -> str:
    """The array's layout in the store's own JSON terms (not numpy's reprs, which change
    between versions), as text: a NaN fill value compares equal to itself."""
    meta = array.metadata.to_dict()
    return json.dumps(
        {key: meta.get(key) for key in ("shape", "chunk_grid", "data_type", "fill_value")}, sort_keys=True, default=str
    )


def _layout_problem(group) -> str:
    """Arrays missing, unreadable, or not as they were made ("" if none)."""
    expected = json.loads(group.attrs.get("layout", "{}"))
    altered = []
    for name, made in expected.items():
        try:
            if _array_layout(group[name]) != made:
                altered.append(name)
        except Exception as exc:
            altered.append(f"{name} ({'missing' if isinstance(exc, KeyError) else type(exc).__name__})")
    if not altered:
        return ""
    return (
        f"array metadata altered or missing: {', '.join(altered)}; this cannot be repaired in place: "
        "`thermo-ode run --no-resume` writes the store anew"
    )


def _static_problem(group) -> str:
    expected = group.attrs.get("static_checksum")
    names = ["save", "token", "query", "parameter", *json.loads(group.attrs["sweep_keys"])]
    try:
        found = _static_checksum({name: np.asarray(group[name][:]) for name in names})
    except Exception as exc:
        return f"coordinates cannot be read ({type(exc).__name__}: {exc})"
    return "" if found == expected else "coordinates or swept values altered (checksum mismatch)"


def _write_static(group, plan: Plan) -> dict:
    static = _static_arrays(plan)
    for name, (dim, values) in static.items():
        group.create_array(
            name,
            shape=values.shape,
            dtype=str if values.dtype.kind == "U" else values.dtype,
            dimension_names=(dim,),
            overwrite=True,
        )[:] = values
    return static


def repair_static(group, plan: Plan) -> None:
    """Write the coordinates and swept values again from the plan (they hold no results)."""
    _write_static(group, plan)


# --- reading -------------------------------------------------------------------------------------


def open_results(out_dir: str | os.PathLike[str], grid: bool = True) -> xr.Dataset:
    """The results of the run in `out_dir` as an xarray Dataset, read lazily from its store.

    The physical times `t` are a coordinate. With `grid` (default) the points have one
    dimension per swept key; with `grid=False` they are one flat `point` dimension.

    Examples:
        >>> import tempfile
        >>> from thermo_ode import sweeps
        >>> loaded = sweeps.parse('''
        ... name: demo
        ... precision: float32
        ... system: {tokens: 3, energies: {kind: list, values: [0.0, 1.0, 2.0]}, temperature: 1.0}
        ... sweep: {damping_ratio: [0.5, 2.0]}
        ... integrate: {t1: {relaxation_times: 20}, saves: 5}
        ... verify: {tolerance: 1.0e-4}
        ... ''')
        >>> out = tempfile.mkdtemp()
        >>> _ = sweeps.run(loaded, out)
        >>> ds = sweeps.open_results(out)
        >>> ds["rho"].dims, ds["rho"].shape
        (('save', 'damping_ratio', 'query', 'token'), (5, 2, 1, 3))
        >>> ds["damping_ratio"].values.tolist(), ds["converged"].values.all().item()
        ([0.5, 2.0], True)
        >>> sweeps.open_results(out, grid=False)["rho"].dims
        ('point', 'query', 'save', 'token')
    """
    import xarray as xr

    ds = xr.open_zarr(store_path(out_dir), consolidated=False, chunks=None)
    ds = ds.set_coords(json.loads(ds.attrs["sweep_keys"]) + ["t"])
    return grid_view(ds) if grid else ds


def grid_view(raw):
    """The flat-`point` dataset with one dimension per swept key (`grid.grid_view`)."""
    from .grid import grid_view as view

    return view(raw)


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


def _json(value):
    """A JSON-text attribute decoded (the store keeps lists and mappings as JSON text)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _run_info(attrs, strict: bool) -> RunInfo:
    """The `RunInfo` of a store's attributes; with `strict`, a missing one raises KeyError,
    else it reads as unknown ("?", NaN, 0, empty)."""

    def get(key, default, decode=lambda value: value):
        if strict:
            return decode(attrs[key])
        try:
            return decode(attrs[key]) if key in attrs else default
        except (KeyError, TypeError, ValueError, AttributeError):  # a user's own, or altered
            return default

    return RunInfo(
        name=get("name", "?", str),
        config_digest=get("config_digest", "?", str),
        precision=get("precision", "?", str),
        backend=get("backend", "?", str),
        device_count=get("device_count", 0, int),
        versions=get("versions", {}, lambda v: {str(k): str(x) for k, x in _json(v).items()}),
        sweep_keys=get("sweep_keys", (), lambda v: tuple(str(k) for k in _json(v))),
        grid_shape=get("grid_shape", (), lambda v: tuple(int(n) for n in _json(v))),
        chunk_size=get("chunk_size", 0, int),
        tolerance=get("config_resolved", float("nan"), lambda v: float(_json(v)["verify"]["tolerance"])),
    )


def run_info(out_dir) -> RunInfo:
    """The `RunInfo` of the run in `out_dir`; raises if its store cannot be read."""
    import zarr

    return _run_info(zarr.open_group(store_path(out_dir), mode="r").attrs, strict=True)


def dataset_info(ds: xr.Dataset) -> RunInfo:
    """The `RunInfo` from the attributes of a Dataset `open_results` returned (grid or flat, or
    its netCDF copy); a Dataset without them reads as unknown (name "?", tolerance NaN, no
    sweep keys) rather than failing."""
    return _run_info(ds.attrs, strict=False)


def check(out_dir, chunks=None) -> Verification:
    """Open the store of `out_dir` read-only and `verify` it (every committed chunk, or those
    in `chunks`); raises if the store cannot be opened."""
    import zarr

    return verify(zarr.open_group(store_path(out_dir), mode="r"), chunks)


def committed_fraction(out_dir) -> float:
    """The fraction of the store's chunks committed; 0.0 without a store, or one that cannot
    be read."""
    try:
        import zarr

        done = committed(zarr.open_group(store_path(out_dir), mode="r"))
    except Exception:
        return 0.0
    return float(done.mean()) if done.size else 0.0


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


def read_point(ds: xr.Dataset, point: int, query: int = 0) -> PointRecord:
    """The `PointRecord` of `point` (flat index) and `query` row, from
    `open_results(DIR, grid=False)`."""
    row = ds.isel(point=point, query=query)
    parameters = ds["parameters"].isel(point=point)
    temperature, mass, damping = (float(parameters.sel(parameter=k)) for k in ("temperature", "mass", "damping"))
    series = ("t", "rho", "rho_dot", "distance", "hamiltonian", "free_energy", "equilibrium", "energies", "mask")
    return PointRecord(*(np.asarray(row[name].values) for name in series), temperature, mass, damping)


def point_parameters(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """Each of `PARAMETERS` per point, shape `(points,)`, from `open_results(DIR, grid=False)`."""
    values = np.asarray(ds["parameters"].values)
    names = [str(name) for name in ds["parameter"].values]
    return {name: values[:, names.index(name)] for name in PARAMETERS}


def written_points(ds: xr.Dataset) -> np.ndarray:
    """The flat indices of the points whose chunk has been written (status of query row 0 at
    least 0), from `open_results(DIR, grid=False)`."""
    return np.flatnonzero(np.asarray(ds["status"].isel(query=0).values) >= 0)


# --- the one-file copy ---------------------------------------------------------------------------


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
    with contextlib.suppress(FileNotFoundError):
        os.unlink(pathlib.Path(out_dir) / NETCDF_NAME)


def export_netcdf(out_dir: str | os.PathLike[str]) -> pathlib.Path:
    """Write the one-file copy `results.nc` of the grid view of a run and return its path.

    Written aside and renamed, so it is whole or absent. Refuses (OSError ENOSPC, naming the
    path) when the disk cannot hold it; a failed write leaves nothing behind.

    Examples:
        >>> import tempfile
        >>> from thermo_ode import sweeps
        >>> loaded = sweeps.parse('''
        ... name: demo
        ... precision: float32
        ... system: {tokens: 3, energies: {kind: list, values: [0.0, 1.0, 2.0]}, temperature: 1.0}
        ... sweep: {damping_ratio: [0.5, 2.0]}
        ... integrate: {t1: {relaxation_times: 20}, saves: 5}
        ... verify: {tolerance: 1.0e-4}
        ... ''')
        >>> out = tempfile.mkdtemp()
        >>> _ = sweeps.run(loaded, out)
        >>> path = sweeps.export_netcdf(out)
        >>> path.name
        'results.nc'
        >>> import xarray
        >>> with xarray.open_dataset(path, engine="h5netcdf") as ds:
        ...     print(ds["rho"].shape)
        (5, 2, 1, 3)
    """
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
    partial = target.with_name(f"{target.name}.{os.getpid()}{PARTIAL}")
    try:
        ds.to_netcdf(partial, engine="h5netcdf")
        digest = _file_digest(partial)
        os.replace(partial, target)
        import zarr

        zarr.open_group(store_path(out_dir), mode="r+").attrs["netcdf_checksum"] = digest
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
    return target
