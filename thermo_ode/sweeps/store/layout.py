"""What a results store holds: its file names and format number, the per-point variables
(written chunk by chunk) and the arrays written once (coordinates and swept values)."""

from __future__ import annotations

import contextlib
import os
import pathlib
import typing

import numpy as np

from ...rules import STATUS_NAMES

if typing.TYPE_CHECKING:
    from ..plan import Plan

STORE_NAME = "results.zarr"
NETCDF_NAME = "results.nc"
LOCK_NAME = ".thermo-ode.lock"
STORE_FORMAT = 5
# What a store of each older format lacks, for the message that refuses it.
FORMAT_CHANGES = {
    4: "its relaxation_time was the time to tolerance, now time_to_tolerance, and it has no CF units",
    3: "its metadata is not under checksum",
    2: "its arrays' layout is not recorded",
    1: "its chunks are not committed by checksum",
}


def format_problem(fmt: object) -> str:
    """Why a store of format `fmt` cannot be read, with its remedy ("" for this format; a value
    that is not an int is unknown, left to the other checks)."""
    if not isinstance(fmt, int) or fmt == STORE_FORMAT:
        return ""
    if fmt > STORE_FORMAT:
        return f"written by a newer thermo-ode (store format {fmt}, now {STORE_FORMAT}): read it with that version"
    lacks = "; ".join(FORMAT_CHANGES[f] for f in sorted(FORMAT_CHANGES, reverse=True) if f >= fmt)
    return (
        f"written by an older thermo-ode (store format {fmt}, now {STORE_FORMAT}: {lacks}): "
        "`thermo-ode run --no-resume` with its config writes it anew"
    )


PARTIAL = ".partial"  # suffix of files and folders written aside before a rename
REPLACED = ".replaced"  # suffix of a store being replaced by --no-resume
PARAMETERS = ("temperature", "mass", "damping", "t1", "bath_temperature", "dt", "burn_in")  # dt NaN: adaptive

_PQ, _PQS, _PQN = ("point", "query"), ("point", "query", "save"), ("point", "query", "token")
VARIABLES: dict[str, tuple[tuple[str, ...], str, object]] = {
    "rho": (_PQS + ("token",), "float64", np.nan),
    # With rho, the exact derivative at each save: figures interpolate between saves with it.
    "rho_dot": (_PQS + ("token",), "float64", np.nan),
    "distance": (_PQS, "float64", np.nan),
    "hamiltonian": (_PQS, "float64", np.nan),
    "free_energy": (_PQS, "float64", np.nan),
    "equilibrium": (_PQN, "float64", np.nan),
    "energies": (_PQN, "float64", np.nan),
    "mask": (_PQN, "bool", False),
    "status": (_PQ, "int32", -1),
    "num_steps": (_PQ, "int64", -1),
    "final_distance": (_PQ, "float64", np.nan),
    "converged": (_PQ, "bool", False),
    "time_to_tolerance": (_PQ, "float64", np.nan),
    "relaxation_time": (_PQ, "float64", np.nan),
    # Time averages over saves at t >= burn_in (Langevin observables; any run has them).
    "mean_kinetic_energy": (_PQ, "float64", np.nan),
    "mean_distance": (_PQ, "float64", np.nan),
    "mean_rho": (_PQN, "float64", np.nan),
    "rho_fluctuation": (_PQN, "float64", np.nan),
    "predicted_relaxation_time": (("point",), "float64", np.nan),
    "t": (("point", "save"), "float64", np.nan),
    "parameters": (("point", "parameter"), "float64", np.nan),
}
"""The per-point variables, each written chunk by chunk: name -> (dims, dtype, fill value)."""


# Each variable's and coordinate's CF `long_name` and `units`. The model fixes no scale: energies
# are in the unit of the config's energies and temperature, times in the unit of its times
# (physics page, section 1); "energy unit" and "time unit" name those units. A Fisher-Rao
# distance is an angle on the sphere of square roots (section 8), in radians.
ENERGY, TIME = "energy unit", "time unit"
MASS, FRICTION = "energy unit × time unit²", "energy unit × time unit"  # read by people: no udunits
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "rho": ("attention weights rho (a distribution over tokens)", "1"),
    "rho_dot": ("rate of change of the attention weights", f"1 / {TIME}"),
    "distance": ("Fisher-Rao distance to softmax", "rad"),
    "hamiltonian": ("Hamiltonian H (kinetic energy plus free energy)", ENERGY),
    "free_energy": ("free energy F = <E> - T S", ENERGY),
    "equilibrium": ("softmax equilibrium rho*", "1"),
    "energies": ("token energies E", ENERGY),
    "mask": ("token is seen (1) or masked (0)", "1"),
    "status": ("solver status", "1"),
    "num_steps": ("integration steps taken", "1"),
    "final_distance": ("Fisher-Rao distance to softmax at the last save", "rad"),
    "converged": ("finished within the verify tolerance", "1"),
    "time_to_tolerance": ("time to tolerance: first save after which the distance stays below it", TIME),
    "relaxation_time": ("relaxation time 1/rate, measured from the distance's decay", TIME),
    "mean_kinetic_energy": ("mean kinetic energy after burn-in", ENERGY),
    "mean_distance": ("mean Fisher-Rao distance to softmax after burn-in", "rad"),
    "mean_rho": ("mean attention weights after burn-in", "1"),
    "rho_fluctuation": ("standard deviation of the attention weights after burn-in", "1"),
    "predicted_relaxation_time": ("relaxation time 1/rate, predicted by the linear theory", TIME),
    "t": ("time t", TIME),
    "parameters": ("the point's physical parameters", "see parameter_units"),
    "save": ("save index", "1"),
    "token": ("token index", "1"),
    "query": ("query row index", "1"),
    "parameter": ("parameter name", "1"),
    "chunk_checksum": ("SHA-256 of the chunk's arrays and config", "1"),
}
PARAMETER_UNITS = dict(
    temperature=ENERGY, mass=MASS, damping=FRICTION, t1=TIME, bath_temperature=ENERGY, dt=TIME, burn_in=TIME
)
SWEPT_ATTRIBUTES: dict[str, tuple[str, str]] = {
    "temperature": ("temperature T", ENERGY),
    "mass": ("mass m", MASS),
    "damping": ("friction gamma", FRICTION),
    "damping_ratio": ("damping ratio zeta = gamma / (2 sqrt(m T))", "1"),
    "tokens": ("tokens N", "1"),
    "bath_temperature": ("heat bath temperature", ENERGY),
    "seed": ("energies' seed", "1"),
    "d_k": ("feature size d_k of q and k", "1"),
    "scale": ("standard deviation of the energies", ENERGY),
    "layer": ("MiniLM layer", "1"),
    "head": ("MiniLM head", "1"),
    "alpha": ("Dirichlet concentration of the start", "1"),
    "initial_seed": ("start's seed", "1"),
    "noise_seed": ("Langevin noise seed", "1"),
}
"""A swept key's `long_name` and `units`, for its values along `point`."""


def attributes(name: str) -> dict[str, typing.Any]:
    """The CF attributes of the array `name` (a variable, a coordinate or a swept key)."""
    long_name, units = ATTRIBUTES.get(name) or SWEPT_ATTRIBUTES[name]
    attrs: dict[str, typing.Any] = dict(long_name=long_name, units=units)
    if name == "status":
        attrs.update(
            flag_values=list(range(-1, len(STATUS_NAMES))), flag_meanings=" ".join(("not_computed", *STATUS_NAMES))
        )
    if name == "parameters":
        attrs["parameter_units"] = [PARAMETER_UNITS[p] for p in PARAMETERS]
    return attrs


STATIC = ("save", "token", "query", "parameter")
"""The coordinates written once at creation (the swept values along `point` follow them)."""


def sizes(plan: Plan) -> dict[str, int]:
    """Each dimension's size for the store of `plan`."""
    return dict(point=plan.points, query=plan.queries, save=plan.saves, token=plan.tokens, parameter=len(PARAMETERS))


def static_arrays(plan: Plan) -> dict[str, tuple[str, np.ndarray]]:
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
    """The results store of the run folder `out_dir`."""
    return pathlib.Path(out_dir) / STORE_NAME


def written_times(out_dir) -> tuple[float, float]:
    """When the files of the run's store were written, the oldest and the newest (POSIX times;
    0.0 without files): figures older than the newest may show less than the store holds."""
    times = []
    for folder, _, names in os.walk(store_path(out_dir)):
        for name in names:
            with contextlib.suppress(OSError):  # a file renamed meanwhile
                times.append(os.stat(os.path.join(folder, name)).st_mtime)
    return (min(times), max(times)) if times else (0.0, 0.0)


def find_runs(folder, depth: int = 2) -> list[pathlib.Path]:
    """Run folders (holding a results store) at or below `folder`, at most `depth` levels down."""
    folder = pathlib.Path(folder)
    found = []
    for level in range(depth + 1):
        pattern = "/".join(["*"] * level + [STORE_NAME])
        found += [store.parent for store in folder.glob(pattern) if store.is_dir()]
    return sorted(set(found))


class ConfigMismatch(Exception):
    """The store in the run folder holds results of another config, or of an older format."""


class StoreBusy(Exception):
    """Another process holds the store's writer lock."""


class StoreDamaged(Exception):
    """The store cannot be read as a thermo-ode store (its metadata is lost or altered)."""
