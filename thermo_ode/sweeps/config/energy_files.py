"""Fixed energies: a `file` (`.npz` with `energies`, or `q` and `k`) or a `list` in the config.

A file is read once, when the config is loaded: its bytes are hashed into the run's identity
and the arrays are parsed from those same bytes, so editing the file later cannot mix two
energy sets in one store. The path is checked before it is opened (a regular file: a FIFO would
wait for a writer forever, a device never ends), each array's header against the bytes the
archive holds and against the size limit before anything is inflated or allocated (a compressed
file can hold a thousand times its size), and only real numbers are accepted."""

from __future__ import annotations

import hashlib
import io
import math
import os
import pathlib
import stat
import zipfile

import numpy as np

from ...formulas import energies_from_qk
from .limits import MAX_ENERGY_FILE_BYTES, human
from .path_checks import input_file_problem, shown
from .schema import ListEnergies

ACCEPTED = ({"energies"}, {"q", "k"})


class EnergiesError(ValueError):
    """What is wrong with the energies (a file's name and the problem)."""


def fixed_energies(config, base_dir: pathlib.Path) -> tuple[np.ndarray, dict[str, str]]:
    """Energies of the `file`/`list` kinds as `(N,)` or `(Q, N)`, and the SHA-256 of each input
    file read (by its path as written in the config)."""
    e = config.system.energies
    if isinstance(e, ListEnergies):
        if e.values and isinstance(e.values[0], list) and len({len(r) for r in e.values}) != 1:
            raise EnergiesError("rows must all have the same length")
        arr, files = np.asarray(e.values, float), {}
    else:
        data = _read_file(base_dir, e.path)
        arr, files = _from_npz(data, shown(pathlib.PurePath(e.path).name)), {e.path: hashlib.sha256(data).hexdigest()}
    if arr.ndim not in (1, 2) or arr.shape[-1] == 0 or (arr.ndim == 2 and arr.shape[0] == 0):
        raise EnergiesError(f"energies must have shape (N,) or (Q, N) with N, Q >= 1, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise EnergiesError("energies must be finite")
    return arr, files


def _read_file(base_dir: pathlib.Path, written: str) -> bytes:
    """The bytes of the energies file `written` (relative to `base_dir`), after checking that it
    is a regular file of at most MAX_ENERGY_FILE_BYTES."""
    where = "" if os.path.isabs(written) else f" (in {base_dir.resolve()})"
    problem = input_file_problem(written, base_dir)
    if problem:
        raise EnergiesError(problem + where)
    try:
        # O_NONBLOCK: a file swapped for a FIFO since the check opens without waiting for a writer
        fd = os.open(base_dir / written, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            found = os.fstat(f.fileno())
            if not stat.S_ISREG(found.st_mode):
                raise EnergiesError(f"{shown(written)} changed while it was opened: give a regular file{where}")
            if found.st_size > MAX_ENERGY_FILE_BYTES:
                raise EnergiesError(
                    f"{shown(written)}: {human(found.st_size)}, more than the {human(MAX_ENERGY_FILE_BYTES)} "
                    "an energies file may hold"
                )
            return f.read(found.st_size)  # the size checked (read(n) sets n bytes aside at once)
    except OSError as exc:  # removed or made unreadable since the check
        raise EnergiesError(f"{shown(written)}: cannot read it: {exc.strerror or exc}{where}") from None


def _from_npz(data: bytes, name: str) -> np.ndarray:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        hint = (
            "; a .npy file holds one unnamed array: save it with np.savez(path, energies=array)"
            if data[:6] == b"\x93NUMPY"
            else ""
        )
        raise EnergiesError(f"{name}: not an .npz archive (write one with np.savez){hint}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = {m.filename[:-4]: m for m in archive.infolist() if m.filename.endswith(".npy")}
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise EnergiesError(f"{name}: damaged .npz archive ({exc})") from None
    found = set(members)
    if not found:
        raise EnergiesError(f"{name}: holds no arrays; expected 'energies', or both 'q' and 'k'")
    if found not in ACCEPTED:
        both = (
            "both 'energies' and 'q'/'k' (give one or the other)"
            if "energies" in found and found & {"q", "k"}
            else f"{sorted(found)}"
        )
        raise EnergiesError(f"{name}: holds {both}; expected exactly 'energies', or both 'q' and 'k'")
    arrays = {key: _read_member(archive, member, name) for key, member in members.items()}
    if "energies" in arrays:
        return arrays["energies"]
    q, k = arrays["q"], arrays["k"]
    q = q[None] if q.ndim == 1 else q
    if q.ndim != 2 or k.ndim != 2 or q.shape[1] != k.shape[1] or 0 in q.shape or 0 in k.shape:
        raise EnergiesError(f"{name}: q and k must be (Q, d) and (N, d) with Q, N, d >= 1, got {q.shape} and {k.shape}")
    problem = _too_big((q.shape[0], k.shape[0]), "the energies of q and k")
    if problem:
        raise EnergiesError(f"{name}: {problem}")
    return energies_from_qk(q, k)


def _too_big(shape: tuple[int, ...], what: str) -> str:
    """Why an array of `shape`, read as float64, is more than an energies file may hold ("" if
    it is not): checked on the header, before the array is inflated or allocated."""
    count = math.prod(shape)
    if 8 * count <= MAX_ENERGY_FILE_BYTES:
        return ""
    return (
        f"{what} have shape {tuple(shape)}: {count:,} values, {human(8 * count)} as float64, more than the "
        f"{human(MAX_ENERGY_FILE_BYTES)} an energies file may hold"
    )


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> np.ndarray:
    """One array of the archive, after checking its header: real numbers, and exactly as many
    bytes as its shape needs."""
    label = f"{name}: array '{member.filename[:-4]}'"
    try:
        with archive.open(member) as f:
            version = np.lib.format.read_magic(f)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(f)
            header = f.tell()
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise EnergiesError(f"{label}: not a readable .npy array ({exc})") from None
    if dtype.kind == "c":
        raise EnergiesError(f"{label}: complex values ({dtype}); energies are real: give the real part")
    if dtype.kind == "b":
        raise EnergiesError(f"{label}: boolean values; energies are real numbers")
    if dtype.kind not in "fiu" or dtype.hasobject:
        raise EnergiesError(f"{label}: dtype {dtype} is not a real number type")
    count = math.prod(shape)
    if count * dtype.itemsize != member.file_size - header:
        raise EnergiesError(
            f"{label}: header claims shape {shape} ({count} values, {human(count * dtype.itemsize)}) "
            f"but the file holds {human(member.file_size - header)} of data"
        )
    problem = _too_big(shape, "its values")
    if problem:
        raise EnergiesError(f"{label}: {problem}")
    try:
        with archive.open(member) as f:
            return np.asarray(np.lib.format.read_array(f, allow_pickle=False), float)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:  # a bad CRC or truncated stream
        raise EnergiesError(f"{label}: cannot be read ({exc})") from None
