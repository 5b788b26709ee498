"""Figures (matplotlib). Each takes `Series` (one trajectory, from a `Trajectory` or from a stored
run) or a results dataset, and returns the figure. Ordered quantities use a sequential colour
map, never a rainbow; every axis says what it shows and in which units: energies in the units of
`E`, physical time `t` in the time unit the inputs imply (the data are not rescaled), natural
time `tau = t sqrt(T/m)` dimensionless.

One job per module:

    series                `Series` and its makers, from a `Trajectory` or a stored run's point
    analysis              what draws nothing: the slowest mode, the cubic Hermite interpolant,
                          the points of a mass collapse, heat capacity, the N = 2 stationary density
    trajectory_figures    figures of one or a few `Series`
    sweep_figures         figures of a sweep: convergence map, mass collapse, heat bath
    equilibrium_figures   heat capacity, stationary density
    output                colours, time labels, new figures, `save`
    notebook              `notebook_show`, for notebooks run as scripts
    run_figures           `plot_run`: every figure that applies to a stored run

A stored run is read only through `thermo_ode.sweeps.store`'s functions, imported when a
figure needs them (so importing this package does not import zarr).
"""

from .analysis import collapse_points as collapse_points
from .analysis import cubic_hermite as cubic_hermite
from .analysis import heat_capacity_curve as heat_capacity_curve
from .analysis import slowest_mode as slowest_mode
from .analysis import stationary_density_n2 as stationary_density_n2
from .equilibrium_figures import plot_heat_capacity as plot_heat_capacity
from .equilibrium_figures import plot_stationary_density as plot_stationary_density
from .notebook import notebook_show as notebook_show
from .output import save as save
from .run_figures import NothingToPlot as NothingToPlot
from .run_figures import plot_run as plot_run
from .series import Series as Series
from .series import series_from_results as series_from_results
from .series import series_from_trajectory as series_from_trajectory
from .sweep_figures import plot_collapse as plot_collapse
from .sweep_figures import plot_convergence_map as plot_convergence_map
from .sweep_figures import plot_thermal as plot_thermal
from .trajectory_figures import plot_energy as plot_energy
from .trajectory_figures import plot_energy_error as plot_energy_error
from .trajectory_figures import plot_phase_portrait as plot_phase_portrait
from .trajectory_figures import plot_relaxation as plot_relaxation
from .trajectory_figures import plot_simplex as plot_simplex
from .trajectory_figures import plot_trajectory as plot_trajectory

__all__ = [
    "NothingToPlot",
    "Series",
    "collapse_points",
    "cubic_hermite",
    "heat_capacity_curve",
    "notebook_show",
    "plot_collapse",
    "plot_convergence_map",
    "plot_energy",
    "plot_energy_error",
    "plot_heat_capacity",
    "plot_phase_portrait",
    "plot_relaxation",
    "plot_run",
    "plot_simplex",
    "plot_stationary_density",
    "plot_thermal",
    "plot_trajectory",
    "save",
    "series_from_results",
    "series_from_trajectory",
    "slowest_mode",
    "stationary_density_n2",
]
