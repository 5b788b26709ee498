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

# %%
import jax

jax.config.update("jax_enable_x64", True)

import pathlib
import tempfile

import numpy as np

from thermo_ode import config, plotting, runner
from thermo_ode.store import open_results

sweep = config.parse("""
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
summary = runner.run(sweep, out)
print(summary)
assert summary.converged == summary.points

# %% [markdown]
# The measured relaxation time scales as `1/(zeta sqrt(T/m))`; divided by the prediction it is
# the same number everywhere (about `ln(d0 / tolerance)`), which is the linear theory at work.

# %%
grid = open_results(out)
plotting.plot_convergence_map(grid);

# %% [markdown]
# Same temperature, same damping ratio, four masses: four clocks, one curve in natural time.

# %%
raw = open_results(out, grid=False)
same_temperature = np.flatnonzero(raw["temperature"].values == raw["temperature"].values[0])
plotting.plot_collapse([plotting.series_from_results(raw, int(i)) for i in same_temperature]);
