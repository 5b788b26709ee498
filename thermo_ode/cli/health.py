"""The run folder a command names, and whether its store is intact, said as the commands
that read a run (`show`, `verify`, `plot`) report it. The store itself answers: this module
only words its answers."""

from __future__ import annotations

import difflib
import pathlib
import sys
import typing

from .exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

if typing.TYPE_CHECKING:
    from ..sweeps.store import Verification


def run_dir(text: str) -> pathlib.Path | None:
    """The run folder named by `text` (the folder, or its results.zarr); None, after saying
    which runs exist nearby, when there is no run there."""
    from ..sweeps import store

    path = pathlib.Path(text)
    if path.name == store.STORE_NAME and path.is_dir():
        path = path.parent
    if store.store_path(path).is_dir():
        return path
    message = f"{text}: no run here (no {store.STORE_NAME})"
    runs = store.find_runs(path if path.is_dir() else path.parent)
    close = difflib.get_close_matches(str(path), [str(r) for r in runs], n=1, cutoff=0.6)
    if close:
        message += f"; did you mean {close[0]}?"
    if runs:
        message += "\nruns found: " + ", ".join(str(r) for r in runs)
    print(message, file=sys.stderr)
    return None


def unreadable(run_dir, exc: Exception) -> str:
    # No advice to replace it: a store moved or removed while being read is not damaged.
    return (
        f"{run_dir}: the store cannot be read ({type(exc).__name__}: {exc}); nothing was changed. If it was moved "
        "or removed meanwhile, name its new place; `thermo-ode verify` says what is damaged"
    )


def damage(run_dir) -> tuple[Verification | None, str]:
    """The store's verification, and what is wrong with it ("" if nothing): unreadable, or
    chunks that fail their checksums."""
    from ..sweeps import store

    try:
        check = store.check(run_dir)
    except Exception as exc:
        return None, unreadable(run_dir, exc)
    if check.intact:
        return check, ""
    remedy = "" if check.metadata_problem else "; `thermo-ode run` with the same config recomputes what is damaged"
    return check, "\n".join([f"{run_dir}: damaged{remedy}:"] + ["  " + line for line in check.describe()])


def intact_run(text: str) -> tuple[pathlib.Path, Verification, int] | tuple[None, None, int]:
    """`(run folder, its verification, EXIT_OK)`, or `(None, None, exit code)` after saying
    what is wrong: no run there, or a damaged store."""
    folder = run_dir(text)
    if folder is None:
        return None, None, EXIT_USAGE
    check, problem = damage(folder)
    if problem or check is None:
        print(problem, file=sys.stderr)
        return None, None, EXIT_FAILED
    return folder, check, EXIT_OK
