"""The store's record of its own metadata: a copy of every `zarr.json` the run wrote (the root's
attributes and each array's shape, chunks, type, fill value and dimension names), kept with its
SHA-256 in the group `record/`. Metadata that differs from the record, a record that fails its
checksum, and files the run did not write are found here; altered or lost metadata is written
back from the record, so intact chunk data is never recomputed for it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib
import typing

from .layout import PARTIAL

RECORD = "record"  # the group holding the record (zarr and xarray read it as an empty group)
META = "zarr.json"
ROOT = ""  # the root group's key in the record


class MetadataCheck(typing.NamedTuple):
    """What `check_metadata` found: the record's own problem ("" if intact), the entries whose
    metadata differs from the record (key -> why; "" is the root), and files or folders the
    run did not write (relative paths)."""

    record_problem: str
    altered: dict[str, str]
    foreign: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return not self.record_problem and not self.altered


def _digest(metadata: dict) -> str:
    return hashlib.sha256(json.dumps(metadata, sort_keys=True).encode()).hexdigest()


def _read_json(path: pathlib.Path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _write_json(path: pathlib.Path, value) -> None:
    """Write JSON aside and rename it into place: the file is whole or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}{PARTIAL}")
    try:
        partial.write_text(json.dumps(value, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise


def snapshot(root: pathlib.Path) -> dict[str, dict]:
    """Every node's metadata as it is on disk: the root's and each array's (key -> zarr.json)."""
    metadata = {ROOT: _read_json(root / META)}
    for child in sorted(root.iterdir()):
        if child.name != RECORD and (child / META).is_file():
            metadata[child.name] = _read_json(child / META)
    return metadata


def write_record(root: pathlib.Path, metadata: dict[str, dict] | None = None) -> None:
    """Record `metadata` (default: the store's as it is now) with its checksum."""
    metadata = snapshot(root) if metadata is None else metadata
    body = {"metadata": metadata, "checksum": _digest(metadata)}
    _write_json(root / RECORD / META, {"attributes": body, "zarr_format": 3, "node_type": "group"})


def update_attributes(group, **values) -> None:
    """Set root attributes of an open store and record them (the one way a run changes its
    store's metadata after creation; call with the writer lock held)."""
    group.attrs.update(values)
    root = pathlib.Path(group.store.root) / group.path
    recorded, problem = read_record(root)
    if recorded is None:
        raise ValueError(problem)
    recorded[ROOT] = _read_json(root / META)
    write_record(root, recorded)


def read_record(root: pathlib.Path) -> tuple[dict[str, dict] | None, str]:
    """The recorded metadata, or None and why it cannot be trusted."""
    path = root / RECORD / META
    try:
        body = _read_json(path)["attributes"]
        metadata, checksum = body["metadata"], body["checksum"]
    except FileNotFoundError:
        return None, f"the store's metadata record ({RECORD}/{META}) is missing"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"the store's metadata record ({RECORD}/{META}) cannot be read ({type(exc).__name__})"
    if not isinstance(metadata, dict) or _digest(metadata) != checksum:
        return None, f"the store's metadata record ({RECORD}/{META}) fails its checksum"
    return metadata, ""


def _label(key: str) -> str:
    return "the root attributes" if key == ROOT else key


def check_metadata(root: pathlib.Path) -> MetadataCheck:
    """Compare every node's metadata with the record, and list what the run did not write."""
    recorded, problem = read_record(root)
    if recorded is None:
        return MetadataCheck(problem, {}, ())
    altered = {}
    for key, made in recorded.items():
        try:
            found = _read_json(root / key / META)
        except FileNotFoundError:
            altered[key] = f"{_label(key)}: {key + '/' if key else ''}{META} is missing"
            continue
        except (OSError, ValueError) as exc:
            altered[key] = f"{_label(key)}: {META} cannot be read ({type(exc).__name__})"
            continue
        if found != made:
            altered[key] = f"{_label(key)}: {_differences(made, found)} altered"
    return MetadataCheck("", altered, _foreign(root, recorded))


def _differences(made: dict, found) -> str:
    """The fields (attributes by name) in which `found` differs from `made`."""
    if not isinstance(found, dict):
        return "everything"
    fields = sorted(k for k in set(made) | set(found) if k != "attributes" and made.get(k) != found.get(k))
    was, now = made.get("attributes", {}), found.get("attributes", {})
    if isinstance(now, dict):
        fields += sorted(f"attribute {k}" for k in set(was) | set(now) if was.get(k) != now.get(k))
    else:
        fields.append("attributes")
    return ", ".join(fields)


def restore(root: pathlib.Path, keys) -> None:
    """Write the recorded metadata of `keys` back (call with the writer lock held)."""
    recorded, problem = read_record(root)
    if recorded is None:
        raise ValueError(problem)
    for key in keys:
        _write_json(root / key / META, recorded[key])


def _foreign(root: pathlib.Path, recorded: dict[str, dict]) -> tuple[str, ...]:
    """Files and folders in the store that the run did not write: anything but the record,
    the recorded nodes' zarr.json and their arrays' chunk files (what an interrupted write
    left aside, named *.partial, is the next run's to remove)."""
    found = []
    for child in sorted(root.iterdir()):
        name = child.name
        if name == META or name.endswith(PARTIAL):
            continue
        if name == RECORD:
            found += [f"{RECORD}/{p.name}" for p in child.iterdir() if p.name != META and not p.name.endswith(PARTIAL)]
        elif name not in recorded or not child.is_dir() or child.is_symlink():
            found.append(name)
        else:
            found += [f"{name}/{path}" for path in _foreign_in_array(child, recorded[name])]
    return tuple(found)


def _foreign_in_array(folder: pathlib.Path, meta: dict) -> list[str]:
    """Paths in an array's folder that are not its zarr.json or one of its chunk files."""
    shape = meta.get("shape", [])
    chunks = meta.get("chunk_grid", {}).get("configuration", {}).get("chunk_shape", shape)
    grid = [-(-int(n) // max(int(c), 1)) for n, c in zip(shape, chunks)]
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        relative = pathlib.Path(dirpath).relative_to(folder)
        for name in filenames:
            path = relative / name
            if name.endswith(PARTIAL) or str(path) == META:
                continue
            parts = path.parts
            if not (
                parts[0] == "c"
                and len(parts) == len(grid) + 1
                and all(p.isdigit() and int(p) < g for p, g in zip(parts[1:], grid))
            ):
                found.append(str(path))
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    return found
