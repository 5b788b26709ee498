"""The command line's path options, checked before anything is read or written: `--out` (the
run's folder) and the compilation cache (`--cache-dir`, else `$THERMO_ODE_CACHE_DIR`). `validate`
and `run` ask the same question here; the checks themselves are
thermo_ode.sweeps.config.path_checks (the energies file is checked there too)."""

from __future__ import annotations

from ..caching import cache_folder
from ..sweeps.config.path_checks import folder_problem


def path_problem(args, out_dir) -> str:
    """The first problem of the output or cache folder, naming its option ("" if none)."""
    problem = folder_problem(out_dir)
    if problem:
        return f"--out: {problem}"
    cache, option = cache_folder(getattr(args, "cache_dir", None))
    # The default cache (under ~/.cache) is not checked: a home that cannot be written leaves
    # the run uncached, not refused. One the user named is, or it would be silently unused.
    problem = folder_problem(cache) if option else ""
    return f"{option}: {problem}" if problem else ""
