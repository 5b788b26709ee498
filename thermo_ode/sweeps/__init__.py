"""Sweeps from a YAML config to a results store, one way:

    schema      the config's keys and their values (pydantic)
    loading     YAML -> a validated config, problems located as FILE:LINE:COL (load, parse)
    checks      the rules that involve several keys (called by loading)
    energy_files  fixed energies from a file or a list in the config
    plan        the grid of the sweep axes, its chunks, and each chunk's systems
    run         simulate chunk by chunk into the store, resumable; summarize a run
    store       the zarr store written chunk by chunk, read back with xarray (open_results)

Nothing in the core (thermo_ode.integration, simulation, physics, ...) imports this package; it
drives the core from the host. Importing it does not import jax.
"""

from .loading import ConfigError, LoadedConfig, default_config_path, load, parse
from .plan import Plan, plan_sweep
from .run import RunSummary, run, summarize
from .schema import Config
from .store import export_netcdf, open_results

__all__ = [
    "Config",
    "ConfigError",
    "LoadedConfig",
    "Plan",
    "RunSummary",
    "default_config_path",
    "export_netcdf",
    "load",
    "open_results",
    "parse",
    "plan_sweep",
    "run",
    "summarize",
]
