"""The summary of a run: counts over the committed chunks of its store (converged, failed, not
converged, thermal), where the longest time to tolerance and the worst final distance are, and how far
the run has come. Read through the store's functions, of a finished or an interrupted run."""

from __future__ import annotations

import os
import typing
from collections.abc import Callable, Iterable

import numpy as np

from ..formulas import equipartition
from . import store


class RunSummary(typing.NamedTuple):
    """Counts over the committed chunks of a run, as `run` returns and `summarize` reads them.

    Rows are counted point by point and query row by query row: `points` rows, of which
    `converged` ended within the config's tolerance of softmax, `failed` had a solver failure
    and `not_converged` solved but ended above the tolerance. `slowest_to_tolerance` and
    `worst_final_distance` say where (`slowest_at`, `worst_at`); `thermal` counts heat-bath
    points and `equipartition` their mean `<K> / ((N - 1) T_b / 2)`. `finished` is True once
    every chunk is in.

    Examples:
        >>> from thermo_ode import sweeps
        >>> summary = sweeps.summarize(sweeps.demo_run())
        >>> summary.points, summary.converged, summary.failed, summary.finished
        (2, 2, 0, True)
        >>> summary.slowest_at
        'damping_ratio=2, query row 0'
    """

    points: int  # points x query rows
    converged: int
    failed: int  # solver status != 0
    not_converged: int  # solved but still above the tolerance at t1
    slowest_to_tolerance: float  # the longest time to tolerance (physical time); NaN if nothing converged
    slowest_at: str  # the point and row that took it ("" if none)
    worst_final_distance: float  # over deterministic rows that solved; NaN if none
    worst_at: str
    tolerance: float
    thermal: int  # points with bath_temperature > 0 (they fluctuate: not counted as converging)
    equipartition: float  # mean over thermal points of <K> / ((N - 1) T_b / 2); NaN if none
    chunks_done: int
    chunks_total: int
    out_dir: str
    repaired: tuple[str, ...] = ()  # committed chunks that failed verification and were recomputed

    @property
    def finished(self) -> bool:
        """Whether every chunk of the run is in the store."""
        return self.chunks_done == self.chunks_total


_READ = ("status", "converged", "time_to_tolerance", "final_distance", "parameters", "mask", "mean_kinetic_energy")


def summarize(out_dir: str | os.PathLike[str], exclude: Iterable[int] = ()) -> RunSummary:
    """The `RunSummary` of the chunks committed so far, of a finished or an interrupted run.

    The chunks in `exclude` (those that failed verification) are left out.

    Examples:
        >>> from thermo_ode import sweeps
        >>> out = sweeps.demo_run()
        >>> sweeps.summarize(out).converged
        2
        >>> summary = sweeps.summarize(out, exclude=[0])
        >>> summary.points, summary.chunks_done, summary.chunks_total
        (0, 0, 1)
    """
    rows = store.read_committed(out_dir, _READ, exclude)
    status, converged, to_tolerance, final = (rows.arrays[k] for k in _READ[:4])
    bath_index = store.PARAMETERS.index("bath_temperature")
    bath = np.broadcast_to(rows.arrays["parameters"][:, bath_index][:, None], status.shape)
    thermal = bath > 0
    solved_thermal = thermal & (status == 0)
    live = rows.arrays["mask"].sum(-1)
    ratio = rows.arrays["mean_kinetic_energy"][solved_thermal] / equipartition(live, bath)[solved_thermal]
    where = _Where(rows.swept, rows.points)
    deterministic = (status == 0) & ~thermal
    worst = np.where(deterministic, final, -np.inf)
    worst_index = np.unravel_index(np.argmax(worst), worst.shape) if deterministic.any() else None
    slow_index = (
        np.unravel_index(np.nanargmax(to_tolerance), to_tolerance.shape) if np.isfinite(to_tolerance).any() else None
    )
    return RunSummary(
        points=int(status.size),
        converged=int(converged.sum()),
        failed=int((status != 0).sum()),
        not_converged=int((deterministic & ~converged).sum()),
        slowest_to_tolerance=float(to_tolerance[slow_index]) if slow_index else float("nan"),
        slowest_at=where(slow_index),
        worst_final_distance=float(final[worst_index]) if worst_index else float("nan"),
        worst_at=where(worst_index),
        tolerance=rows.info.tolerance,
        thermal=int(thermal.sum()),
        equipartition=float(ratio.mean()) if ratio.size else float("nan"),
        chunks_done=int(rows.done.sum()),
        chunks_total=int(rows.done.size),
        out_dir=str(out_dir),
    )


class _Where:
    """Names a (point, query row) of the rows read by its swept values."""

    def __init__(self, swept: Callable[[int], dict[str, float]], point_indices: np.ndarray):
        self.swept, self.point_indices = swept, point_indices

    def __call__(self, index) -> str:
        if index is None:
            return ""
        values = self.swept(int(self.point_indices[index[0]]))  # one value each, not the axis
        named = [f"{key}={value:.4g}" for key, value in values.items()]
        return ", ".join(named + [f"query row {index[1]}"])
