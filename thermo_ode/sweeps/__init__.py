"""Sweeps from a YAML config to a results store, one way:

    schema      the config's keys and their values (pydantic)
    loading     YAML -> a validated config, problems located as FILE:LINE:COL (load, parse)
    checks      the rules that involve several keys (called by loading)
    energy_files  fixed energies from a file or a list in the config
    plan        the grid of the sweep axes, its chunks, and each chunk's systems
    chunk       one chunk simulated, and the per-point observables measured on it
    run         the chunks still to do computed into the store, resumable
    clusters    the same on Dask workers or jax.distributed processes
    store       the only code that knows the results store's format: written chunk by
                chunk, verified, read back with xarray (open_results)
    summary     a run's counts, read from its store (summarize)
    demo        a small demo run for examples (demo_run)

Nothing in the core (thermo_ode.integration, simulation, physics, ...) imports this package; it
drives the core from the host. Importing it does not import jax.
"""

from .demo import demo_run
from .loaded_config import LoadedConfig
from .loading import ConfigError, default_config_path, load, parse
from .plan import Plan, plan_sweep
from .run import run
from .schema import Config
from .store import export_netcdf, open_results
from .summary import RunSummary, summarize

__all__ = [
    "Config",
    "ConfigError",
    "LoadedConfig",
    "Plan",
    "RunSummary",
    "default_config_path",
    "demo_run",
    "export_netcdf",
    "load",
    "open_results",
    "parse",
    "plan_sweep",
    "run",
    "summarize",
]
