# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Equilibrium across temperatures and masses
#
# A small sweep, run exactly as `thermo-ode run` runs a config: a temperature x mass grid of
# random heads, each integrated for 25 predicted relaxation times. Then its convergence map and
# the mass-time collapse.

# %% [markdown]
# In a notebook the figures show inline. Run as a script,
# `python notebooks/equilibrium_sweep.py [--out DIR]` saves them as PNGs instead (default
# `notebooks/figures/equilibrium_sweep/`) and prints their paths.

# %%
from thermo_ode.plotting import notebook_show

show = notebook_show(globals())  # show(fig, name): inline here, saved as a PNG when run as a script

# %%
import jax

jax.config.update("jax_enable_x64", True)

import pathlib
import tempfile

import numpy as np

from thermo_ode import plotting, sweeps
from thermo_ode.sweeps import open_results

config = sweeps.parse("""
name: notebook-grid
system:
  tokens: 8
  energies: {kind: random_qk, d_k: 16, seed: 0}
  damping_ratio: 0.5
sweep:
  temperature: {logspace: [0, 1, 4]}
  mass: {logspace: [-1, 1, 4]}
integrate: {t1: {relaxation_times: 25}, saves: 101}
""")
out = pathlib.Path(tempfile.mkdtemp()) / "run"
summary = sweeps.run(config, out)
print(summary)
assert summary.converged == summary.points

# %% [markdown]
# The measured relaxation time (1/rate of the distance's decay) scales as `1/(zeta sqrt(T/m))`;
# divided by the linear theory's prediction it is about 1 everywhere on the grid.

# %%
grid = open_results(out)
show(plotting.plot_convergence_map(grid), "convergence_map")

# %% [markdown]
# Same temperature, same damping ratio, four masses: four clocks, one curve in natural time.

# %%
raw = open_results(out, grid=False)
same_temperature = np.flatnonzero(raw["temperature"].values == raw["temperature"].values[0])
show(plotting.plot_collapse([plotting.series_from_results(raw, int(i)) for i in same_temperature]), "collapse")
