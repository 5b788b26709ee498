"""thermo-ode: attention as a Lagrangian system on the Fisher–Rao hypersphere.

Importing this package never changes JAX's global configuration: enable float64 yourself
(`jax.config.update("jax_enable_x64", True)`) for accuracy work; the CLI does it by default.
"""

from .geometry import fisher_rao_distance, kl_divergence
from .linear_theory import REGIME_NAMES, LinearTheory, linear_theory
from .physics import (
    entropy,
    equilibrium,
    equilibrium_free_energy,
    free_energy,
    hamiltonian,
    heat_capacity,
    internal_energy,
    kinetic_energy,
    log_partition,
    partition_function,
)
from .simulation import Trajectory, simulate
from .solvers import ProjectedSolver
from .system import AttentionSystem, causal_mask

__version__ = "0.1.0"

__all__ = [
    "AttentionSystem",
    "LinearTheory",
    "ProjectedSolver",
    "REGIME_NAMES",
    "Trajectory",
    "causal_mask",
    "entropy",
    "equilibrium",
    "equilibrium_free_energy",
    "fisher_rao_distance",
    "free_energy",
    "hamiltonian",
    "heat_capacity",
    "internal_energy",
    "kinetic_energy",
    "kl_divergence",
    "linear_theory",
    "log_partition",
    "partition_function",
    "simulate",
]
