"""JAX's persistent compilation cache, for the CLI and for library users.

A new process compiles every program from scratch (seconds for a diffrax solve); with the
cache on, a program compiled once on this machine is loaded from disk instead.
"""

from __future__ import annotations

import os
import pathlib
import sys
import warnings

DEFAULT_CACHE_DIR = (
    pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "thermo-ode" / "jax"
)


def cache_folder(path: str | os.PathLike[str] | None = None) -> tuple[pathlib.Path, str]:
    """The cache folder `enable_compilation_cache(path)` uses, and what chose it: "--cache-dir"
    (a path given), "$THERMO_ODE_CACHE_DIR", or "" for the default."""
    if path is not None:
        return pathlib.Path(path), "--cache-dir"
    if "THERMO_ODE_CACHE_DIR" in os.environ:
        return pathlib.Path(os.environ["THERMO_ODE_CACHE_DIR"]), "$THERMO_ODE_CACHE_DIR"
    return DEFAULT_CACHE_DIR, ""


def enable_compilation_cache(path: str | os.PathLike[str] | None = None) -> pathlib.Path:
    """Turn on JAX's persistent compilation cache in `path` and return the folder.

    `path` defaults to `$THERMO_ODE_CACHE_DIR`, else `~/.cache/thermo-ode/jax` (the CLI's
    cache, so programs compiled by `thermo-ode run` are reused too). Call it once, before the
    first solve:

        import thermo_ode as to
        to.enable_compilation_cache()

    Equinox's runtime checks are host callbacks, and a program holding one cannot be stored.
    So, unless you have set it yourself, this sets `EQX_ON_ERROR=nan` (a failed check gives
    NaN instead of raising; `simulate` reports solver failures through `status` either way).
    That variable is read when equinox is imported: call this first thing, before anything has
    imported equinox or diffrax, or set `EQX_ON_ERROR=nan` in the environment; otherwise a
    warning says the diffrax programs will not be cached.

    Examples:
        >>> import tempfile
        >>> import jax
        >>> import thermo_ode as to
        >>> folder = to.enable_compilation_cache(tempfile.mkdtemp())
        >>> jax.config.jax_compilation_cache_dir == str(folder)
        True
    """
    folder = cache_folder(path)[0]
    os.environ.setdefault("EQX_ON_ERROR", "nan")
    if "equinox" in sys.modules and sys.modules["equinox"]._config.EQX_ON_ERROR != "nan":
        warnings.warn(
            "enable_compilation_cache: equinox was imported before EQX_ON_ERROR=nan was set, so "
            "programs with equinox runtime checks (every diffrax solve) will not be cached; "
            "call it before importing equinox/diffrax, or set EQX_ON_ERROR=nan in the environment",
            stacklevel=2,
        )
    import jax

    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder
