"""Measure the constrained integrators (docs/physics.md, section 14) and the heat bath
(docs/physics.md, section 13) against their exact predictions: the numbers in the README's
accuracy table.

Run: python experiments/integrators_and_bath.py   (writes results/integrators_and_bath.json, or DIR/ with --out DIR)
"""

from _report import options

OUT = options(__doc__)

import json
import pathlib
import sys

import jax
import numpy as np
from _report import Timer
from scipy import stats

import thermo_ode as to
from thermo_ode.observables import mode_amplitudes, time_averages

sys.path.insert(0, str(pathlib.Path(__file__).parent.parent / "tests"))
from test_langevin import (  # noqa: E402  the tests' oracles, so test and report agree
    N2_ENERGIES,
    N3_ENERGIES,
    chi_square_pvalue,
    free_energy,
    n2_cdf,
    n3_bin_probabilities,
    thinned_samples,
)
from test_symplectic import energy_trend  # noqa: E402

timer = Timer()
numbers = {}

# Order of convergence: final-state error against Tsit5 at rtol 1e-13, dt 0.1 ... 0.0125.
system = to.AttentionSystem(np.array([0.3, -0.5, 1.0, 0.1]), 1.0, 1.0, 0.0)
rho0 = np.array([0.4, 0.1, 0.2, 0.3])
reference = to.simulate(system, rho0, 5.0, saves=2, rtol=1e-13, atol=1e-13)
dts = np.array([0.1, 0.05, 0.025, 0.0125])
for solver in ("rattle", "gbaoab"):
    errors = [
        float(
            np.abs(
                np.asarray(to.simulate(system, rho0, 5.0, saves=2, solver=solver, dt=dt).rho[-1] - reference.rho[-1])
            ).max()
        )
        for dt in dts
    ]
    numbers[f"{solver}_order"] = float(np.polyfit(np.log(dts), np.log(errors), 1)[0])

# Energy over 1e4 periods at equal force evaluations.
conservative = to.AttentionSystem(np.array([0.3, -0.5, 1.0]), 1.0, 1.0, 0.0)
t1 = 2 * np.pi * 1e4
ts = np.linspace(0, t1, 4001)
for name, kwargs in (("rattle", dict(solver="rattle", dt=0.1)), ("tsit5_fixed", dict(solver="tsit5", dt=0.6))):
    traj = to.simulate(conservative, np.array([0.4, 0.35, 0.25]), t1, ts=ts, max_steps=10**6, **kwargs)
    drift, oscillation, worst = energy_trend(np.asarray(traj.ts), np.asarray(traj.hamiltonian))
    numbers[f"{name}_energy"] = dict(
        drift=float(drift),
        oscillation=float(oscillation),
        worst=float(worst),
        steps=int(traj.num_steps),
        constraint=float(traj.constraint_error.max()),
    )

# Equipartition: N = 8, 64 systems, two masses and damping ratios.
rng = np.random.default_rng(3)
batch, n, bath = 64, 8, 0.7
mass = np.repeat([0.5, 2.0], batch // 2)
zeta = np.tile([0.5, 1.5], batch // 2)
heads = to.AttentionSystem(rng.normal(size=(batch, n)), 1.0, mass, 2 * zeta * np.sqrt(mass))
clock = np.sqrt(mass)
traj = to.simulate(
    heads,
    np.full((batch, n), 1 / n),
    400 * clock,
    ts=np.linspace(0, 400, 4001) * clock[:, None],
    dt=0.05 * clock,
    bath_temperature=bath,
    key=jax.random.key(7),
)
kinetic = np.asarray(time_averages(traj, 50 * clock).kinetic_energy) / ((n - 1) * bath / 2)
numbers["equipartition"] = dict(ratio=float(kinetic.mean()), standard_error=float(kinetic.std(ddof=1) / np.sqrt(batch)))

# Stationary densities.
for mass_, dt in ((1.0, 0.05), (0.0, 0.02)):
    boltzmann2 = lambda rho: np.exp(-free_energy(rho, N2_ENERGIES) / 0.5)
    s2 = thinned_samples(N2_ENERGIES, mass_, 1.0, dt, 0.5, key=0)[:, 0]
    s3 = thinned_samples(N3_ENERGIES, mass_, 1.0, dt, 0.5, key=1)
    edges = np.linspace(0, 1, 7)
    boltzmann3 = lambda rho: np.exp(-free_energy(rho, N3_ENERGIES) / 0.5)
    numbers[f"density_m{mass_:g}"] = dict(
        ks_n2=float(stats.kstest(s2, n2_cdf(boltzmann2)).pvalue),
        ks_n2_flat=float(stats.kstest(s2, n2_cdf(lambda r: boltzmann2(r) * 2 * np.sqrt(r.prod(-1)))).pvalue),
        chi2_n3=float(chi_square_pvalue(s3, n3_bin_probabilities(boltzmann3, edges), edges)),
        chi2_n3_flat=float(
            chi_square_pvalue(s3, n3_bin_probabilities(lambda r: boltzmann3(r) * np.sqrt(r.prod(-1)), edges), edges)
        ),
    )

# Small T_b: mode variances and the mean's offset from softmax.
energies = np.broadcast_to(np.random.default_rng(0).normal(size=4), (32, 4))
cold = to.AttentionSystem(energies, 1.0, 1.0, 2.0)
star = np.asarray(to.equilibrium(cold))[0]
for bath in (1e-1, 1e-2, 1e-3):
    traj = to.simulate(
        cold, np.full((32, 4), 0.25), 1000.0, saves=1001, dt=0.1, bath_temperature=bath, key=jax.random.key(2)
    )
    a = np.asarray(mode_amplitudes(traj.rho[:, 100:], traj.equilibrium[:, None])).reshape(-1, 3)
    mean_rho = np.asarray(time_averages(traj, 100.0).rho).mean(0)
    numbers[f"small_bath_{bath:g}"] = dict(
        mode_variance_over_tb=(a.var(0) / bath).tolist(), mean_offset=float(to.fisher_rao_distance(mean_rho, star))
    )

numbers["seconds"] = timer.seconds
out = OUT / "integrators_and_bath.json"
out.write_text(json.dumps(numbers, indent=1))
print(json.dumps(numbers, indent=1))
