"""What is wrong with a path the user gave, from what `os.stat` says of each name along it,
before anything is opened: an input must be a regular file (a FIFO opened for reading waits for
a writer forever, a device never ends), an output folder a folder that exists or can be made.

Each problem is a phrase naming the part of the path at fault as it was written (a long one
shortened); the caller puts the option or the config key in front of it."""

from __future__ import annotations

import errno
import os
import pathlib
import stat
import typing

SHOWN = 48  # characters of a long path or name shown in a message
DEFAULT_NAME_MAX = 255  # bytes of one name, where the file system does not say


def shown(path) -> str:
    """`path` for a message: at most about SHOWN characters, escaped if not printable."""
    text = os.fspath(path)
    if len(text) > SHOWN:
        text = f"{text[: SHOWN // 2]}...{text[-SHOWN // 2 :]} ({len(text):,} characters)"
    return text if text.isprintable() else repr(text)


def input_file_problem(path, base=None) -> str:
    """Why `path` (relative to the folder `base`, if given) cannot be read as an input file
    ("" if it can): it must be a regular file, or a symbolic link to one."""
    found = _walk(path, base)
    if found.problem:
        return found.problem
    if found.mode is None:
        return f"no such file: {shown(path)}"
    if not stat.S_ISREG(found.mode):
        return f"{shown(path)} is {kind(found.mode)}, not a file"
    return ""


def folder_problem(path) -> str:
    """Why `path` cannot be a folder to write in ("" if it can): an existing folder that can be
    written, or a path whose nearest existing folder can be (it is made there)."""
    found = _walk(path, None)
    if found.problem:
        return found.problem
    if found.mode is not None and not stat.S_ISDIR(found.mode):
        return f"{shown(path)} is {kind(found.mode)}, not a folder"
    if not os.access(found.existing, os.W_OK):  # a read-only mount answers no, even to root
        return f"{shown(found.existing)} is not writable (a read-only folder or mount?)"
    return ""


def kind(mode: int) -> str:
    """What a file of this `st_mode` is, for people."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "no regular file"


class _Found(typing.NamedTuple):
    problem: str  # met on the way ("" if none)
    mode: int | None  # st_mode of the whole path; None where it does not exist (yet)
    existing: pathlib.Path  # the deepest part of it that exists


def _walk(path, base) -> _Found:
    """Follow `path` one name at a time, from `base` (the current folder if None): the first
    problem on the way, a name or the whole path too long, a NUL byte, a symbolic link loop or
    one to nothing, a file where a folder is needed."""
    root = pathlib.Path(base) if base is not None else pathlib.Path()
    written = pathlib.PurePath(path)
    full = os.fspath(root / written)
    if "\0" in full:
        return _Found(f"{shown(path)} holds a NUL byte, which no file name can", None, root)
    path_max = _limit(root, "PC_PATH_MAX", 4096)  # counting the NUL that ends it
    if len(os.fsencode(full)) >= path_max:
        return _Found(
            f"{shown(path)}: the path is too long ({len(os.fsencode(full)):,} bytes; "
            f"this system allows {path_max - 1:,})",
            None,
            root,
        )
    parts = written.parts or (".",)
    existing, mode, prefix = root, None, pathlib.PurePath()
    for i, part in enumerate(parts):
        prefix /= part
        here = root / prefix
        name_max = _limit(existing, "PC_NAME_MAX", DEFAULT_NAME_MAX)
        if len(os.fsencode(part)) > name_max:
            return _Found(
                f"the name {shown(part)} is longer than the {name_max} bytes this file system allows "
                f"({len(os.fsencode(part)):,} bytes)",
                None,
                existing,
            )
        try:
            mode = os.stat(here).st_mode
        except FileNotFoundError:
            if os.path.islink(here):
                return _Found(
                    f"{shown(prefix)} is a symbolic link to {shown(os.readlink(here))}, which does not exist",
                    None,
                    existing,
                )
            return _Found("", None, existing)  # the rest is to be made (or is missing)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return _Found(f"{shown(prefix)} is a symbolic link loop (it leads back to itself)", None, existing)
            return _Found(f"{shown(prefix)}: {exc.strerror or exc}", None, existing)
        if i < len(parts) - 1 and not stat.S_ISDIR(mode):
            return _Found(f"{shown(prefix)} is {kind(mode)}, not a folder", None, existing)
        existing = here
    return _Found("", mode, existing)


def _limit(folder: pathlib.Path, name: str, default: int) -> int:
    """A file system limit (`os.pathconf`) at `folder`, `default` where it does not say."""
    try:
        return os.pathconf(folder, name)
    except (OSError, ValueError):
        return default
