"""The table of points of a report: one row per point and query row of the committed chunks,
read through the store's functions, the failed first, then those that did not converge, then
the rest; at most `LIMIT` rows, with the count of those left out."""

from __future__ import annotations

import pathlib
import typing
from collections.abc import Iterable

import numpy as np

from ..rules import STATUS_NAMES

LIMIT = 10_000  # rows on the page at most: about 1.7 MB of HTML (170 bytes a row)
_READ = (
    "status",
    "converged",
    "final_distance",
    "relaxation_time",
    "predicted_relaxation_time",
    "time_to_tolerance",
    "num_steps",
    "parameters",
)


class Column(typing.NamedTuple):
    """A column of the table: its key, its heading, what it holds (for the heading's title),
    and whether it sorts as numbers."""

    key: str
    heading: str
    title: str
    numeric: bool = True


# The columns after the swept keys (which come first, one each, then `query`).
COLUMNS = (
    Column("query", "query", "query row index"),
    Column("status", "status", "solver status, by name", numeric=False),
    Column("converged", "converged", "final distance below the tolerance (thermal: a heat-bath point)", numeric=False),
    Column("final_distance", "final distance", "Fisher-Rao distance to softmax at the last save (rad)"),
    Column(
        "relaxation_time",
        "relaxation time",
        "1/rate, measured from the distance's decay (empty: the saves cannot tell)",
    ),
    Column("predicted_relaxation_time", "predicted", "relaxation time 1/rate of the linear theory"),
    Column("time_to_tolerance", "time to tolerance", "first save after which the distance stays below the tolerance"),
    Column("num_steps", "steps", "integration steps taken"),
)


class Table(typing.NamedTuple):
    """The rows of the page (`cells`, formatted, failed first) of `total` rows in all."""

    columns: tuple[Column, ...]
    cells: list[list[str]]
    kinds: list[str]  # each row's: "failed", "not-converged" or ""
    total: int
    measured: np.ndarray  # measured over predicted relaxation time, of every row where both exist

    @property
    def left_out(self) -> int:
        """Rows not on the page (beyond `LIMIT`)."""
        return self.total - len(self.cells)


def point_table(run_dir: pathlib.Path, exclude: Iterable[int] = (), limit: int = LIMIT) -> Table:
    """The table of the committed chunks of the run in `run_dir`, less those in `exclude`
    (chunks that fail their checksums), at most `limit` rows."""
    from ..sweeps import store

    rows = store.read_committed(run_dir, _READ, exclude)
    a = rows.arrays
    status = a["status"]
    queries = status.shape[1]
    point = np.repeat(rows.points, queries)
    query = np.tile(np.arange(queries), rows.points.size)
    bath = a["parameters"][:, store.PARAMETERS.index("bath_temperature")]
    thermal = np.repeat(bath > 0, queries)
    flat = {name: a[name].reshape(-1) for name in _READ if a[name].ndim == 2 and name != "parameters"}
    flat["predicted_relaxation_time"] = np.repeat(a["predicted_relaxation_time"], queries)  # one per point
    failed = flat["status"] != 0
    not_converged = ~failed & ~thermal & ~flat["converged"]
    group = np.where(failed, 0, np.where(not_converged, 1, 2))
    order = np.lexsort((query, point, group))[:limit]
    swept = _swept_values(run_dir, rows.info.sweep_keys, point[order])
    columns = tuple(Column(key, key, f"swept: {key}") for key in rows.info.sweep_keys) + COLUMNS
    cells = []
    kinds = [("failed", "not-converged", "")[g] for g in group[order]]
    for row, i in enumerate(order):
        converged = "thermal" if thermal[i] else "yes" if flat["converged"][i] else "no"
        cells.append(
            [*(_number(values[row]) for values in swept), str(query[i]), _status(int(flat["status"][i])), converged]
            + [_number(flat[c.key][i]) for c in COLUMNS[3:-1]]
            + [str(int(flat["num_steps"][i]))]
        )
    measured, predicted = flat["relaxation_time"], flat["predicted_relaxation_time"]
    both = np.isfinite(measured) & np.isfinite(predicted) & (predicted > 0) & ~failed
    return Table(columns, cells, kinds, int(status.size), measured[both] / predicted[both])


def _swept_values(run_dir: pathlib.Path, keys: Iterable[str], points: np.ndarray) -> list[np.ndarray]:
    """Each swept key's value at each of `points` (one read of each key)."""
    keys = list(keys)
    if not keys:
        return []
    from ..sweeps import store

    ds = store.open_results(run_dir, grid=False)
    return [np.asarray(ds[key].values)[points] for key in keys]


def _status(code: int) -> str:
    return STATUS_NAMES[code] if 0 <= code < len(STATUS_NAMES) else f"status {code}"


def _number(value) -> str:
    """A value as the table shows it: 4 significant digits, empty for NaN."""
    value = float(value)
    return "" if np.isnan(value) else f"{value:.4g}"
