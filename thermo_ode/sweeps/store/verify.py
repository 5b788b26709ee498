"""Verifying a store: every node's metadata against the store's record of it (`record`), every
committed chunk against its checksum, and the coordinates against theirs; what the run did not
write is listed. A resumed run writes altered metadata back from the record and recomputes
exactly the chunks found damaged."""

from __future__ import annotations

import json
import pathlib
import typing

import numpy as np

from .info import sweep_keys
from .layout import STATIC, VARIABLES, format_problem, store_path
from .read import committed
from .record import check_metadata
from .write import digest, static_checksum


class Verification(typing.NamedTuple):
    """What `verify` found: chunks committed of the total, the damaged ones and why, the
    problems of the coordinates and of the metadata ("" when none), and what the run did not
    write (readers ignore it; it does not make a store damaged)."""

    committed: int  # chunks committed (checksum written)
    total: int
    damaged: dict[int, str]  # committed chunk -> what is wrong with it
    static_problem: str  # "" when the coordinates and swept values are intact
    metadata_problem: str  # "" when every node's metadata is as recorded (chunks unchecked otherwise)
    foreign: tuple[str, ...] = ()  # paths in the store the run did not write

    @property
    def intact(self) -> bool:
        """Whether nothing is wrong."""
        return not self.damaged and not self.static_problem and not self.metadata_problem

    def describe(self, limit: int = 5) -> list[str]:
        """What is wrong, a line each, naming at most `limit` damaged chunks."""
        lines = [f"chunk {c}: {why}" for c, why in list(self.damaged.items())[:limit]]
        if len(self.damaged) > limit:
            lines.append(f"... and {len(self.damaged) - limit} more damaged chunks")
        if self.static_problem:
            lines.append(self.static_problem)
        if self.metadata_problem:
            lines.append(self.metadata_problem)
        return lines

    def describe_foreign(self, limit: int = 5) -> str:
        """The line naming what the run did not write ("" if nothing)."""
        if not self.foreign:
            return ""
        more = f" and {len(self.foreign) - limit} more" if len(self.foreign) > limit else ""
        return f"not written by this run (readers ignore it): {', '.join(self.foreign[:limit])}{more}"


def verify(group, chunks=None) -> Verification:
    """Check every node's metadata against the store's record, then every committed chunk (or
    those in `chunks`) against its checksum, and the coordinates against theirs. Reads the
    whole store."""
    root = store_root(group)
    metadata = check_metadata(root)
    problem = metadata_problem(root, metadata)
    if problem:  # no chunk can be trusted, nor even read, through altered metadata
        return _metadata_damaged(group, problem, metadata.foreign)
    done = committed(group)
    checksums = group["chunk_checksum"]
    chunk_size, points = int(group.attrs["chunk_size"]), group["status"].shape[0]
    identity = str(group.attrs["config_digest"])
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
        if digest(int(c), rows, identity) != checksums[int(c)]:
            damaged[int(c)] = (
                "checksum mismatch (a file of it is missing, truncated, swapped or altered)" + _missing_hint(group, c)
            )
    return Verification(int(done.sum()), int(done.size), damaged, _static_problem(group), "", metadata.foreign)


def _metadata_damaged(group, problem: str, foreign: tuple[str, ...]) -> Verification:
    try:
        done = committed(group)
    except Exception:  # the checksums' own metadata may be what is damaged
        done = np.zeros(0, bool)
    return Verification(int(done.sum()), int(done.size), {}, "", problem, foreign)


def check(out_dir, chunks=None) -> Verification:
    """Verify the store of `out_dir`, read-only (every committed chunk, or those in `chunks`).
    Its metadata is checked first, from the files: a store whose root metadata is lost cannot
    be opened, but is still reported as damaged. Raises if the store cannot be read at all."""
    import zarr

    root = store_path(out_dir)
    metadata = check_metadata(root)
    problem = metadata_problem(root, metadata)
    if problem:
        try:
            group = zarr.open_group(root, mode="r")
        except Exception:
            return Verification(0, 0, {}, "", problem, metadata.foreign)
        return _metadata_damaged(group, problem, metadata.foreign)
    return verify(zarr.open_group(root, mode="r"), chunks)


def metadata_check(out_dir) -> str:
    """What is wrong with the metadata of the store in `out_dir` ("" if it is as recorded):
    the cheap part of `check`, which reads no chunk."""
    root = store_path(out_dir)
    return metadata_problem(root, check_metadata(root))


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


def store_root(group) -> pathlib.Path:
    """The folder of an open store's group (stores are folders on a file system)."""
    return pathlib.Path(group.store.root) / group.path


def metadata_problem(root: pathlib.Path, metadata) -> str:
    """What is wrong with the metadata of the store at `root`, as one line with its remedy
    ("" if nothing)."""
    problem = format_problem(_recorded_format(root))
    if problem:
        return problem
    if metadata.record_problem:
        return (
            f"{metadata.record_problem}, so the metadata cannot be verified: `thermo-ode run` with the same config "
            "rebuilds it from the config and keeps every chunk that verifies"
        )
    if metadata.altered:
        return (
            f"metadata altered or missing: {'; '.join(metadata.altered.values())}; `thermo-ode run` with the same "
            "config writes it back from the store's record (no chunk is recomputed for it)"
        )
    return ""


def _recorded_format(root: pathlib.Path) -> int | None:
    """The store format its root metadata states (None if it cannot be read)."""
    try:
        return int(json.loads((root / "zarr.json").read_text(encoding="utf-8"))["attributes"].get("store_format", 1))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _static_problem(group) -> str:
    expected = group.attrs.get("static_checksum")
    names = [*STATIC, *sweep_keys(group.attrs)]
    try:
        found = static_checksum({name: np.asarray(group[name][:]) for name in names})
    except Exception as exc:
        return f"coordinates cannot be read ({type(exc).__name__}: {exc})"
    return "" if found == expected else "coordinates or swept values altered (checksum mismatch)"
