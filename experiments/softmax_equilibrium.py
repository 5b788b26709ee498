"""Experiment 1: softmax is the equilibrium of the dynamics (eq. 22).

Relax random heads from random (Dirichlet) starts across temperature, mass, damping ratio and
token count, all in one batched call, and report the worst final Fisher–Rao distance.
Run: python experiments/softmax_equilibrium.py
"""

from _report import options

OUT = options(__doc__)

import itertools

import matplotlib.pyplot as plt
import numpy as np
from _report import Timer, record

import thermo_ode as to

timer = Timer()
rng = np.random.default_rng(0)
d_k, n_max, seeds = 16, 64, 3
grid = list(itertools.product([0.25, 1.0, 4.0], [0.1, 1.0, 10.0], [0.2, 1.0, 5.0], [4, 16, 64], range(seeds)))
T = np.array([g[0] for g in grid]) * np.sqrt(d_k)
m = np.array([g[1] for g in grid])
zeta = np.array([g[2] for g in grid])
n = np.array([g[3] for g in grid])
mask = np.arange(n_max) < n[:, None]
q, k = rng.normal(size=(len(grid), 1, d_k)), rng.normal(size=(len(grid), n_max, d_k))
energies = -np.einsum("bqd,bkd->bk", q, k)
system = to.AttentionSystem(energies, T, m, 2 * zeta * np.sqrt(m * T), mask=mask)
rho0 = np.where(mask, rng.dirichlet(np.ones(n_max), size=len(grid)), 0)
rho0 = np.maximum(rho0, 1e-300 * mask)
rho0 /= rho0.sum(-1, keepdims=True)
relax = np.asarray(to.linear_theory(system).relaxation_time)
traj = to.simulate(system, rho0, 30 * relax, saves=301, rtol=1e-10, atol=1e-12)
final = np.asarray(traj.final_distance)
ok = np.asarray(traj.succeeded)
worst = int(np.argmax(final))

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
colors = plt.get_cmap("viridis")(np.linspace(0, 0.85, 3))
for z, color in zip([0.2, 1.0, 5.0], colors):
    rows = np.flatnonzero(zeta == z)
    for i in rows:
        axes[0].semilogy(
            np.asarray(traj.ts[i]) / relax[i],
            np.maximum(np.asarray(traj.distance[i]), 1e-13),
            color=color,
            lw=0.4,
            alpha=0.4,
        )
    axes[0].plot([], [], color=color, label=f"zeta = {z:g}")
axes[0].axhline(1e-6, color="k", ls="--", lw=0.8, label="tolerance 1e-6")
axes[0].set(
    xlabel="t / predicted relaxation time",
    ylabel="Fisher-Rao distance to softmax (rad)",
    title=f"{len(grid)} random heads from random starts",
)
axes[0].legend(fontsize=8)
axes[1].hist(np.log10(final), bins=40, color=colors[0])
axes[1].set(xlabel="log10 final distance to softmax", ylabel="systems", title=f"worst {final.max():.1e}")
fig.suptitle("Softmax is the equilibrium: T x m x zeta x N, Dirichlet starts")

record(
    "softmax_equilibrium",
    claim="Softmax(QK^T/sqrt(d_k)) is the equilibrium of the Lagrangian dynamics (eq. 19-22).",
    run=f"{len(grid)} systems: T/sqrt(d_k) in {{0.25, 1, 4}} x m in {{0.1, 1, 10}} x zeta in {{0.2, 1, 5}} x N in {{4, 16, 64}} x {seeds} random heads (d_k = {d_k}), Dirichlet(1) starts, 30 predicted relaxation times, Tsit5 rtol 1e-10, float64, one batched call.",
    outcome=f"{int(ok.sum())}/{len(grid)} solves succeeded; every system ended within {final.max():.1e} of softmax (median {np.median(final):.1e}); worst: T={T[worst]:.3g}, m={m[worst]:g}, zeta={zeta[worst]:g}, N={n[worst]}.",
    verdict="supported" if ok.all() and final.max() < 1e-6 else "not supported",
    numbers={
        "systems": len(grid),
        "succeeded": int(ok.sum()),
        "worst_final_distance": float(final.max()),
        "median_final_distance": float(np.median(final)),
    },
    figure=fig,
    timer=timer,
)
