# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Quick start: relax one attention head to softmax
#
# A random head (`q, k ~ N(0, 1)`, `d_k = 64`) defines energies `E = -q.k` and the temperature
# `T = sqrt(d_k)`. Each query row is a particle on the Fisher–Rao hypersphere; with damping it
# relaxes to `softmax(q.k / sqrt(d_k))`.

# %% [markdown]
# In a notebook the figures show inline. Run as a script,
# `python notebooks/quickstart.py [--out DIR]` saves them as PNGs instead (default
# `notebooks/figures/quickstart/`) and prints their paths.

# %%
from thermo_ode.plotting import notebook_show

show = notebook_show(globals())  # show(fig, name): inline here, saved as a PNG when run as a script

# %%
import jax

jax.config.update("jax_enable_x64", True)  # accuracy work is float64

import numpy as np

import thermo_ode as to
from thermo_ode import plotting

rng = np.random.default_rng(0)
q, k = rng.normal(size=(8, 64)), rng.normal(size=(8, 64))
system = to.AttentionSystem.from_qk(q, k, mask=to.causal_mask(8), mass=1.0, damping=4.0)

# %% [markdown]
# The linear theory says how fast: every mode obeys `m eps'' + gamma eps' + T eps = 0`.

# %%
theory = to.linear_theory(system)
print("regime:", theory.regime_name(0), " damping ratio:", float(theory.damping_ratio[0]))
print("predicted relaxation time:", float(theory.relaxation_time[0]))

# %%
mask = np.asarray(system.mask)
rho0 = mask / mask.sum(-1, keepdims=True)  # uniform over the visible tokens
traj = to.simulate(system, rho0, t1=30 * float(theory.relaxation_time[0]), saves=301)
print("final Fisher-Rao distance to softmax, per query row:")
print(np.asarray(traj.final_distance))
assert np.all(traj.final_distance < 1e-6)

# %% [markdown]
# The last row sees all eight keys: its weights settle on the softmax values (dashed), and its
# distance to softmax falls at the rate the linear theory predicts (dotted).

# %%
last = plotting.series_from_trajectory(traj, 7)
show(plotting.plot_trajectory(last), "trajectory")
show(plotting.plot_relaxation([plotting.series_from_trajectory(traj, i) for i in (3, 5, 7)]), "relaxation")
