"""Experiment 3: the multiplier of eq. 18 must depend on time.

Eq. 18, m (rho''/rho - rho'^2 / (2 rho^2)) + gamma rho'/rho + E + T ln rho = Lambda, written in
x = 2 sqrt(rho) (no renormalisation, regular where rho touches 0) is
m x'' = (x/2)(Lambda - E - T ln rho) - gamma x'. Integrate it with Lambda held at its initial
value, as the paper writes it, and with Lambda(t) = <E + T ln rho> - (m/2) <(rho'/rho)^2>
(docs/physics.md, section 4), and watch sum rho. Run: python experiments/constant_multiplier.py
"""

from _report import options

OUT = options(__doc__)

import diffrax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from _report import Timer, record
from jax.scipy.special import xlogy

timer = Timer()
rng = np.random.default_rng(0)
n, T, m = 8, 1.0, 1.0
energies = jnp.asarray(rng.normal(size=n) * 1.5)
rho0 = rng.dirichlet(np.ones(n))
x0 = 2 * jnp.sqrt(jnp.asarray(rho0))
velocity0 = jnp.zeros(n)


def multiplier(x, v):
    rho = x**2 / 4
    total = jnp.sum(rho)
    # <(rho'/rho)^2>_rho = sum v^2 / sum rho, since rho'/rho = 2 v / x.
    return (jnp.sum(rho * energies) + T * jnp.sum(xlogy(rho, rho))) / total - 0.5 * m * jnp.sum(v**2) / total


def field(t, y, args):
    x, v = y
    gamma, constant = args
    lam = jnp.where(constant, multiplier(x0, velocity0), multiplier(x, v))
    force = 0.5 * (x * (lam - energies) - T * xlogy(x, x**2 / 4)) - gamma * v
    return v, force / m


ts = np.linspace(0, 30, 601)
runs = {}
for gamma in (0.0, 0.5):
    for constant in (True, False):
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(field),
            diffrax.Tsit5(),
            0.0,
            ts[-1],
            None,
            (x0, velocity0),
            args=(gamma, constant),
            saveat=diffrax.SaveAt(ts=jnp.asarray(ts)),
            stepsize_controller=diffrax.PIDController(rtol=1e-11, atol=1e-13),
            max_steps=200_000,
        )
        runs[(gamma, constant)] = np.asarray(jnp.sum(sol.ys[0] ** 2 / 4, axis=-1))

fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
colors = plt.get_cmap("viridis")([0.05, 0.35, 0.6, 0.85])
for color, ((gamma, constant), total) in zip(colors, runs.items()):
    ax.semilogy(
        ts,
        np.maximum(np.abs(total - 1), 1e-17),
        color=color,
        ls="-" if constant else "--",
        label=f"gamma = {gamma:g}, Lambda {'constant (eq. 18)' if constant else '(t)'}",
    )
ax.set(
    xlabel="time t (units of 1/omega)", ylabel="|sum rho - 1|", title=f"Normalisation under eq. 18 (N = {n}, T = m = 1)"
)
ax.legend(fontsize=8)
drift = {
    f"gamma={g:g}, {'constant' if c else 'time-dependent'}": float(np.abs(v - 1).max()) for (g, c), v in runs.items()
}
final_constant = float(runs[(0.5, True)][-1])
record(
    "constant_multiplier",
    claim="Eq. 18 with a constant Lagrange multiplier Lambda describes the motion on the simplex (sum rho = 1).",
    run=f"Eq. 18 in x = 2 sqrt(rho) (no renormalisation), N = {n}, random energies, Dirichlet(1) start at rest, gamma in {{0, 0.5}}, Tsit5 rtol 1e-11, t in [0, 30]; Lambda held at Lambda(0) versus Lambda(t).",
    outcome=(
        f"With constant Lambda, sum rho leaves 1 by up to {max(drift['gamma=0, constant'], drift['gamma=0.5, constant']):.2f} "
        f"(damped run settles at sum rho = {final_constant:.3f}); with Lambda(t) it stays within "
        f"{max(drift['gamma=0, time-dependent'], drift['gamma=0.5, time-dependent']):.1e}. The equilibrium E + T ln rho = Lambda "
        "(eq. 19) is unaffected: it fixes Lambda = -T ln Z."
    ),
    verdict="not supported",
    numbers={"max_abs_sum_rho_minus_1": drift},
    figure=fig,
    timer=timer,
)
