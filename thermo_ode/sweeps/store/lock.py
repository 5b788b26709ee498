"""One writer at a time: an advisory lock (flock) on a file beside the store, which names its
holder and which the operating system releases when the holder dies. Processes that fill
disjoint `--chunks` ranges of one store share it. The exclusive holder also clears what killed
runs left aside."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pathlib
import shutil
import socket
import time

from .layout import LOCK_NAME, PARTIAL, REPLACED, STORE_NAME, StoreBusy, store_path


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


def writer(out_dir) -> str:
    """Who is writing the store of `out_dir` now ("" if nobody: no lock file, or no holder),
    for readers to say that what they read is a run in progress. Takes no lock itself
    beyond an instant's probe, and never creates the lock file."""
    try:
        fd = os.open(pathlib.Path(out_dir) / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return ""
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _describe_holder(os.pread(fd, 4096, 0).decode(errors="replace").strip())
        fcntl.flock(fd, fcntl.LOCK_UN)
        return ""
    finally:
        os.close(fd)


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
