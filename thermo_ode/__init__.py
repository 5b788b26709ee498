"""thermo-ode: attention as a Lagrangian system on the Fisher–Rao hypersphere.

Importing this package never changes JAX's global configuration: enable float64 yourself
(`jax.config.update("jax_enable_x64", True)`) for accuracy work; the CLI does it by default.
Names load lazily, so `thermo-ode --help` does not import jax.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "AttentionSystem": "system",
    "causal_mask": "system",
    "equilibrium": "physics",
    "equilibrium_free_energy": "physics",
    "entropy": "physics",
    "free_energy": "physics",
    "hamiltonian": "physics",
    "heat_capacity": "physics",
    "internal_energy": "physics",
    "kinetic_energy": "physics",
    "log_partition": "physics",
    "partition_function": "physics",
    "fisher_rao_distance": "geometry",
    "kl_divergence": "geometry",
    "LinearTheory": "linear",
    "REGIME_NAMES": "linear",
    "linear_theory": "linear",
    "Trajectory": "trajectory",
    "solve": "integration",
    "simulate": "simulation",
    "Until": "stopping",
    "ProjectedSolver": "solvers",
    "enable_compilation_cache": "caching",
    "use_all_cores": "devices",
    "use_exact_cpu_code": "devices",
    "LagrangianAttention": "attention",
    "fit": "fitting",
    "FitResult": "fitting",
    "open_results": "sweeps.store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'thermo_ode' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
