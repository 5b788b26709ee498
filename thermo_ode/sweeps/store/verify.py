"""Verifying a store: the arrays' metadata against the layout recorded at creation, every
committed chunk against its checksum, and the coordinates against theirs. A resumed run
recomputes exactly the chunks found damaged."""

from __future__ import annotations

import json
import pathlib
import typing

import numpy as np

from .info import sweep_keys
from .layout import VARIABLES, array_layout, store_path
from .read import committed
from .write import digest, static_checksum


class Verification(typing.NamedTuple):
    """What `verify` found: chunks committed of the total, the damaged ones and why, and the
    problems of the coordinates and of the arrays' metadata ("" when none)."""

    committed: int  # chunks committed (checksum written)
    total: int
    damaged: dict[int, str]  # committed chunk -> what is wrong with it
    static_problem: str  # "" when the coordinates and swept values are intact
    layout_problem: str  # "" when every array is there with the shape, type and chunks it was made with

    @property
    def intact(self) -> bool:
        """Whether nothing is wrong."""
        return not self.damaged and not self.static_problem and not self.layout_problem

    def describe(self, limit: int = 5) -> list[str]:
        """What is wrong, a line each, naming at most `limit` damaged chunks."""
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
    names = [n for n in VARIABLES if n in group]
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
        if digest(int(c), rows) != checksums[int(c)]:
            damaged[int(c)] = (
                "checksum mismatch (a file of it is missing, truncated, swapped or altered)" + _missing_hint(group, c)
            )
    return Verification(int(done.sum()), int(done.size), damaged, _static_problem(group), "")


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


def _missing_hint(group, chunk: int | np.integer) -> str:
    """Name a variable whose file for this chunk is absent (zarr leaves out chunks that hold
    only the fill value, so an absent file is a hint, not proof)."""
    root = getattr(group.store, "root", None)
    if root is None:
        return ""
    missing = [name for name in VARIABLES if not (pathlib.Path(root) / group.path / name / "c" / str(chunk)).exists()]
    return f"; no file for {', '.join(missing)}" if missing else ""


def _layout_problem(group) -> str:
    """Arrays missing, unreadable, or not as they were made ("" if none)."""
    expected = json.loads(group.attrs.get("layout", "{}"))
    altered = []
    for name, made in expected.items():
        try:
            if array_layout(group[name]) != made:
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
    names = ["save", "token", "query", "parameter", *sweep_keys(group.attrs)]
    try:
        found = static_checksum({name: np.asarray(group[name][:]) for name in names})
    except Exception as exc:
        return f"coordinates cannot be read ({type(exc).__name__}: {exc})"
    return "" if found == expected else "coordinates or swept values altered (checksum mismatch)"
