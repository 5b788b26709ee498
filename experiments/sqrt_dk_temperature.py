"""Experiment 2: sqrt(d_k) as temperature keeps attention "liquid, not frozen" (section VI.B).

Entropy of the equilibrium for random isotropic q, k as d_k grows, with T = sqrt(d_k) and with
no scaling (T = 1). Run: python experiments/sqrt_dk_temperature.py
"""

from _report import options

OUT = options(__doc__)

import matplotlib.pyplot as plt
import numpy as np
from _report import Timer, record

import thermo_ode as to

timer = Timer()
rng = np.random.default_rng(0)
n_tokens, heads = 64, 200
d_ks = 2 ** np.arange(2, 13)
scaled, unscaled = [], []
for d_k in d_ks:
    q, k = rng.normal(size=(heads, 1, d_k)), rng.normal(size=(heads, n_tokens, d_k))
    for temperature, out in ((np.sqrt(d_k), scaled), (1.0, unscaled)):
        system = to.AttentionSystem.from_qk(q, k, temperature=temperature)
        out.append(np.asarray(to.entropy(to.equilibrium(system))).ravel() / np.log(n_tokens))
scaled, unscaled = np.array(scaled), np.array(unscaled)

fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
colors = plt.get_cmap("viridis")([0.1, 0.7])
for data, color, label in ((scaled, colors[0], "T = sqrt(d_k)"), (unscaled, colors[1], "T = 1 (no scaling)")):
    mean = data.mean(1)
    lo, hi = np.percentile(data, [10, 90], axis=1)
    ax.semilogx(d_ks, mean, "o-", color=color, label=label, base=2)
    ax.fill_between(d_ks, lo, hi, color=color, alpha=0.2)
ax.set(
    xlabel="head dimension d_k",
    ylabel="equilibrium entropy S / ln N",
    ylim=(0, 1),
    title=f"Entropy of softmax for random q, k (N = {n_tokens}; band: 10-90%)",
)
ax.legend()

record(
    "sqrt_dk_temperature",
    claim="T = sqrt(d_k) keeps the attention distribution in a 'liquid' state; without it the entropy vanishes (collapse to argmax) as d_k grows (section VI.B).",
    run=f"{heads} random heads (q, k ~ N(0, 1)) per d_k in 4..4096, N = {n_tokens} tokens; entropy of the equilibrium softmax(q.k/T) with T = sqrt(d_k) and T = 1.",
    outcome=(
        f"With T = sqrt(d_k), S/ln N stays at {scaled.mean(1).min():.2f}-{scaled.mean(1).max():.2f} for every d_k; "
        f"with T = 1 it falls from {unscaled.mean(1)[0]:.2f} (d_k = 4) to {unscaled.mean(1)[-1]:.3f} (d_k = 4096). "
        "For isotropic random q, k the scaled energies E/T ~ N(0, |q|^2/d_k) do not depend on d_k, so this cannot tell "
        "a temperature from a variance normalisation, the distinction the section argues for."
    ),
    verdict="supported; not testable as stated",
    numbers={
        "d_k": d_ks.tolist(),
        "entropy_scaled_mean": scaled.mean(1).round(4).tolist(),
        "entropy_unscaled_mean": unscaled.mean(1).round(4).tolist(),
    },
    figure=fig,
    timer=timer,
)
