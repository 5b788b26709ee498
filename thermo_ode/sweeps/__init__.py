"""Sweeps from a YAML config to a results store, one way:

    config      YAML -> a checked LoadedConfig: the schema, loading with located problems,
                the rules over several keys, the sweep's sizes against its limits and this machine
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

from .config.loaded_config import LoadedConfig
from .config.loading import ConfigError, default_config_path, load, parse
from .config.schema import Config
from .demo import demo_run
from .plan import Plan, plan_sweep
from .run import run
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
