# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # The paper's claims, small
#
# Compact versions of the experiments in `experiments/` (each there in full, with its figure
# and result file). Kim (2026): softmax attention is the equilibrium of a Lagrangian system on
# the Fisher–Rao hypersphere.

# %%
import jax

jax.config.update("jax_enable_x64", True)

import numpy as np

import thermo_ode as to

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Softmax is the equilibrium (eq. 22)
# Random heads, random starts, three damping ratios: every trajectory ends at softmax.

# %%
q, k = rng.normal(size=(9, 1, 16)), rng.normal(size=(9, 12, 16))
zeta = np.repeat([0.2, 1.0, 5.0], 3)
system = to.AttentionSystem.from_qk(q, k, mass=1.0, damping=(2 * zeta * np.sqrt(4.0))[:, None])
rho0 = rng.dirichlet(np.ones(12), size=(9, 1))
traj = to.simulate(system, rho0, 30 * np.asarray(to.linear_theory(system).relaxation_time), rtol=1e-10, atol=1e-12)
print("worst final distance to softmax:", float(traj.final_distance.max()))

# %% [markdown]
# ## 2. `sqrt(d_k)` keeps attention liquid (section VI.B)
# Normalised entropy of softmax for random `q, k` with and without the scaling.

# %%
for d_k in (4, 64, 1024):
    q, k = rng.normal(size=(100, 1, d_k)), rng.normal(size=(100, 64, d_k))
    scaled = to.entropy(to.equilibrium(to.AttentionSystem.from_qk(q, k))).mean() / np.log(64)
    raw = to.entropy(to.equilibrium(to.AttentionSystem.from_qk(q, k, temperature=1.0))).mean() / np.log(64)
    print(f"d_k = {d_k:5d}: S/ln N = {float(scaled):.3f} with T = sqrt(d_k), {float(raw):.3f} with T = 1")

# %% [markdown]
# ## 3. The multiplier of eq. 18 must depend on time
# thermo-ode's logit chart uses `Lambda(t)`; it reproduces the sphere chart (an independent
# implementation) to rounding. With a constant `Lambda` as eq. 18 writes it, `sum rho` drifts
# away from 1: the full comparison is `experiments/constant_multiplier.py`.

# %%
system = to.AttentionSystem(rng.normal(size=6), 1.0, 1.0, 0.0)
start = rng.dirichlet(np.full(6, 5.0))
logit = to.simulate(system, start, 20.0, chart="logit", rtol=1e-12, atol=1e-14)
sphere = to.simulate(system, start, 20.0, chart="sphere", rtol=1e-12, atol=1e-14)
print("logit chart with Lambda(t) vs sphere chart: max |delta rho| =", float(np.abs(logit.rho - sphere.rho).max()))

# %% [markdown]
# ## 4. Specific heat has a smooth peak, no transition at finite N

# %%
from thermo_ode.plotting import heat_capacity_curve

T = np.geomspace(0.5, 50, 300)
for n in (16, 256, 4096):
    energies = -(rng.normal(size=(n, 64)) @ rng.normal(size=64))
    C = heat_capacity_curve(energies, T)
    print(f"N = {n:5d}: peak C = {C.max():.2f} at T = {T[C.argmax()]:.2f}")

# %% [markdown]
# ## 5. No massless modes
# Every small oscillation about softmax has frequency `sqrt(T/m)`: the period of a tiny
# displacement equals `2 pi sqrt(m/T)` whatever the energies.

# %%
system = to.AttentionSystem(rng.normal(size=8) * 2, 2.0, 0.5, 0.0)
star = np.asarray(to.equilibrium(system))
eps = rng.normal(size=8)
eps -= star @ eps
start = star * (1 + 1e-4 * eps / np.abs(eps).max())
period = 2 * np.pi * np.sqrt(0.5 / 2.0)
traj = to.simulate(system, start / start.sum(), 10 * period, saves=2001, rtol=1e-11, atol=1e-13)
signal = np.asarray(traj.rho[:, 0]) - star[0]
t = np.asarray(traj.ts)
crossings = t[1:][np.sign(signal[1:]) != np.sign(signal[:-1])]
print("measured period / 2 pi sqrt(m/T):", 2 * np.diff(crossings).mean() / period)
