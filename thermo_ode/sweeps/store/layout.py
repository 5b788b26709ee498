"""What a results store holds: its file names and format number, the per-point variables
(written chunk by chunk) and the arrays written once (coordinates and swept values)."""

from __future__ import annotations

import pathlib
import typing

import numpy as np

if typing.TYPE_CHECKING:
    from ..plan import Plan

STORE_NAME = "results.zarr"
NETCDF_NAME = "results.nc"
LOCK_NAME = ".thermo-ode.lock"
STORE_FORMAT = 4  # 4: all metadata recorded under checksum, chunk checksums of the config; 3: arrays' layout recorded; 2: chunks committed by checksum; 1: a bare `chunk_done` flag
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
