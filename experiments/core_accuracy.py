"""Measure every closed-form oracle of the core against thermo-ode, in float64, print a table and
write it to DIR/core_accuracy.json (the README's accuracy table is rendered from that file).

Run: python experiments/core_accuracy.py [--out DIR]   (default DIR: experiments/results/)

The claims checked are the exact predictions listed in docs/physics.md, section 16; the tests in
tests/ assert the same quantities with tolerances, this script reports the numbers themselves.
"""

from __future__ import annotations

from _report import options

OUT = options(__doc__)

import itertools
import json
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import thermo_ode as to  # noqa: E402


def softmax_error(rng):
    q, k = rng.normal(size=(4, 12, 64)), rng.normal(size=(4, 12, 64))
    mask = to.causal_mask(12)
    system = to.AttentionSystem.from_qk(q, k, mask=mask)
    scores = np.where(mask, np.einsum("hqd,hkd->hqk", q, k) / 8.0, -np.inf)
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    return float(np.abs(np.asarray(to.equilibrium(system)) - expected).max())


def period_error(rng):
    T, m = np.array([0.25, 1.0, 4.0]), np.array([10.0, 1.0, 0.1])
    system = to.AttentionSystem(rng.normal(size=(3, 8)) * T[:, None], T, m, 0.0)
    star = np.asarray(to.equilibrium(system))
    eps = rng.normal(size=star.shape)
    eps -= (star * eps).sum(-1, keepdims=True)
    eps *= 1e-4 / np.abs(eps).max(-1, keepdims=True)
    period = 2 * np.pi * np.sqrt(m / T)
    traj = to.simulate(system, star * (1 + eps), 12 * period, saves=2401, rtol=1e-11, atol=1e-13)
    worst = 0.0
    for i in range(3):
        s = np.asarray(traj.rho[i, :, 0]) - star[i, 0]
        t = np.asarray(traj.ts[i])
        j = np.where(np.sign(s[:-1]) * np.sign(s[1:]) < 0)[0]
        crossings = t[j] - s[j] * (t[j + 1] - t[j]) / (s[j + 1] - s[j])
        worst = max(worst, abs(2 * np.diff(crossings).mean() / period[i] - 1))
    return worst


def energy_drift(rng):
    T, m = np.array([1.0, 0.5, 2.0]), np.array([1.0, 0.3, 4.0])
    system = to.AttentionSystem(rng.normal(size=(3, 8)) * 1.5 * T[:, None], T, m, 0.0)
    period = 2 * np.pi * np.sqrt(m / T)
    traj = to.simulate(system, np.full(8, 1 / 8), 50 * period, saves=2001, rtol=1e-12, atol=1e-14)
    H = np.asarray(traj.hamiltonian)
    return float((np.abs(H - H[:, :1]) / np.abs(H[:, :1])).max()), float(np.asarray(traj.constraint_error).max())


def rate_errors(rng):
    grid = np.array(list(itertools.product([0.25, 1.0, 4.0], [0.1, 1.0, 10.0], [0.2, 0.5, 2.0, 5.0])))
    T, m, zeta = grid.T
    system = to.AttentionSystem(rng.normal(size=(len(grid), 6)) * T[:, None], T, m, 2 * zeta * np.sqrt(m * T))
    rate = np.asarray(to.linear_theory(system).decay_rate)
    traj = to.simulate(system, np.full(6, 1 / 6), 28 / rate, saves=3000, rtol=1e-10, atol=1e-12)
    t, d = np.asarray(traj.ts), np.asarray(traj.distance)
    worst = 0.0
    for i in range(len(grid)):
        inside = (d[i] > 1e-9) & (d[i] < 1e-4)
        if zeta[i] < 1:
            peaks = np.where((d[i][1:-1] > d[i][:-2]) & (d[i][1:-1] > d[i][2:]) & inside[1:-1])[0] + 1
            slope = np.polyfit(t[i][peaks], np.log(d[i][peaks]), 1)[0]
        else:
            slope = np.polyfit(t[i][inside], np.log(d[i][inside]), 1)[0]
        worst = max(worst, abs(-slope / rate[i] - 1))
    return worst, float(np.asarray(traj.final_distance).max())


def overdamped_error(rng):
    T, gamma = np.array([0.5, 1.0, 3.0]), np.array([2.0, 0.3, 1.0])
    system = to.AttentionSystem(rng.normal(size=(3, 7)) * 2, T, 0.0, gamma)
    rho0 = rng.dirichlet(np.ones(7), size=3)
    ts = np.linspace(0, 4, 41)
    traj = to.simulate(system, rho0, 4.0, ts=ts, rtol=1e-12, atol=1e-14)
    star = np.asarray(to.equilibrium(system))
    a = np.exp(-T[:, None, None] * ts[None, :, None] / gamma[:, None, None])
    exact = rho0[:, None, :] ** a * star[:, None, :] ** (1 - a)
    exact /= exact.sum(-1, keepdims=True)
    return float(np.abs(np.asarray(traj.rho) - exact).max())


def collapse_error(rng):
    masses = np.array([0.1, 1.0, 10.0])
    system = to.AttentionSystem(
        np.broadcast_to(rng.normal(size=5) * 1.5, (3, 5)), 1.5, masses, 2 * 0.4 * np.sqrt(masses * 1.5)
    )
    omega0 = np.asarray(to.linear_theory(system).natural_frequency)
    tau = np.linspace(0, 30, 301)
    traj = to.simulate(
        system,
        np.array([0.3, 0.1, 0.2, 0.25, 0.15]),
        30 / omega0,
        ts=tau / omega0[:, None],
        time="physical",
        rtol=1e-12,
        atol=1e-14,
    )
    rho = np.asarray(traj.rho)
    return float(max(np.abs(rho[0] - rho[1]).max(), np.abs(rho[2] - rho[1]).max()))


def chart_errors(rng):
    T = np.array([0.5, 1.0, 2.0, 1.0])
    system = to.AttentionSystem(
        rng.normal(size=(4, 6)) * T[:, None], T, np.array([1.0, 0.3, 4.0, 1.0]), np.array([0.0, 0.4, 2.0, 5.0])
    )
    star = np.asarray(to.equilibrium(system))
    rho0 = star * (1 + 0.6 * rng.uniform(-1, 1, size=star.shape))
    rho0 /= rho0.sum(-1, keepdims=True)
    runs = {
        c: to.simulate(system, rho0, 15.0, saves=201, chart=c, rtol=1e-12, atol=1e-14)
        for c in ("sphere", "logit", "simplex")
    }
    return {
        c: float(np.abs(np.asarray(runs[c].rho) - np.asarray(runs["sphere"].rho)).max()) for c in ("logit", "simplex")
    }


def main():
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    drift, constraint = energy_drift(rng)
    rate, final = rate_errors(rng)
    charts = chart_errors(rng)
    rows = [
        ("equilibrium vs softmax(q.k/sqrt(d)), causal mask", softmax_error(rng), "max abs"),
        ("small-oscillation period vs 2 pi sqrt(m/T)", period_error(rng), "relative"),
        ("H drift, damping 0, 50 periods, large amplitude", drift, "relative"),
        ("|x|^2/4 - 1 of raw saved states (same run)", constraint, "abs"),
        ("decay rate vs linear theory (36 systems)", rate, "relative"),
        ("final distance to softmax (same 36)", final, "Fisher-Rao"),
        ("m = 0 vs exact rho0^a rho*^(1-a)", overdamped_error(rng), "max abs"),
        ("mass collapse in natural time (m = 0.1, 1, 10)", collapse_error(rng), "max abs"),
        ("logit chart vs sphere chart", charts["logit"], "max abs"),
        ("autodiff Euler-Lagrange vs sphere chart", charts["simplex"], "max abs"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'oracle':<{width}}  {'error':>9}  kind")
    for name, value, kind in rows:
        print(f"{name:<{width}}  {value:9.1e}  {kind}")
    print(
        f"({time.perf_counter() - start:.0f} s on {platform.machine()}, {jax.devices()[0].platform}, jax {jax.__version__})"
    )
    result = {
        "errors": {name: value for name, value, _ in rows},
        "seconds": round(time.perf_counter() - start, 1),
        "machine": f"{platform.machine()} {jax.default_backend()}, jax {jax.__version__}",
    }
    (OUT / "core_accuracy.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {OUT / 'core_accuracy.json'}")


if __name__ == "__main__":
    main()
