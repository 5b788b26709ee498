"""Damped relaxation to softmax: linear-theory rates (docs/physics.md, section 9) and the exact
overdamped solution (docs/physics.md, section 11)."""

import itertools

import numpy as np
import pytest
from helpers import crossing_times, log_slope, log_slope_of_peaks, uniform_start

import thermo_ode as to


def test_distance_decays_at_linear_theory_rate_across_grid():
    """T in {0.25, 1, 4} x m in {0.1, 1, 10} x zeta in {0.2 .. 5}: 45 systems in one call."""
    rng = np.random.default_rng(2)
    grid = np.array(list(itertools.product([0.25, 1.0, 4.0], [0.1, 1.0, 10.0], [0.2, 0.5, 1.0, 2.0, 5.0])))
    T, m, zeta = grid.T
    n = 6
    system = to.AttentionSystem(rng.normal(size=(len(grid), n)) * T[:, None], T, m, 2 * zeta * np.sqrt(m * T))
    theory = to.linear_theory(system)
    np.testing.assert_allclose(theory.damping_ratio, zeta, rtol=1e-14)
    rate = np.asarray(theory.decay_rate)
    traj = to.simulate(system, uniform_start(system), 28 / rate, saves=3000, rtol=1e-10, atol=1e-12)
    assert np.all(traj.succeeded)
    assert np.all(np.asarray(traj.final_distance) < 1e-6)
    t, d = np.asarray(traj.ts), np.asarray(traj.distance)
    for i in range(len(grid)):
        # Fit where the motion is linear (d < 1e-4) and well above the solver's error (1e-9).
        if zeta[i] < 1:
            measured = -log_slope_of_peaks(t[i], d[i], 1e-9, 1e-4)
        else:
            measured = -log_slope(t[i], d[i], 1e-9, 1e-4)
        # At critical damping d ~ (a + b t) exp(-omega0 t): the prefactor biases a log-slope
        # fit low by ~1/(omega0 t) ~ 6% here; elsewhere the fit is exact to rounding.
        tolerance = 0.10 if zeta[i] == 1 else 0.01
        assert abs(measured / rate[i] - 1) < tolerance, (grid[i], measured, rate[i])


def test_underdamped_oscillation_frequency_under_damping():
    """Zero crossings of a mode are spaced by pi / omega_d, omega_d = omega0 sqrt(1 - zeta^2)."""
    rng = np.random.default_rng(3)
    system = to.AttentionSystem(
        rng.normal(size=(2, 5)), np.array([1.0, 3.0]), np.array([2.0, 0.5]), np.array([0.5, 0.8])
    )
    theory = to.linear_theory(system)
    assert [theory.regime_name(i) for i in range(2)] == ["underdamped", "underdamped"]
    star = np.asarray(to.equilibrium(system))
    start = star * (1 + 1e-3 * np.array([1.0, -1.0, 0.5, -0.5, 0.0]))
    start /= start.sum(-1, keepdims=True)
    traj = to.simulate(system, start, 6 * np.asarray(theory.period), saves=3001, rtol=1e-11, atol=1e-14)
    for i in range(2):
        signal = np.asarray(traj.rho[i, :, 0]) - star[i, 0]
        half_periods = np.diff(crossing_times(np.asarray(traj.ts[i]), signal))
        np.testing.assert_allclose(2 * np.pi / (2 * half_periods.mean()), theory.oscillation_frequency[i], rtol=2e-3)


@pytest.mark.parametrize("chart", ["sphere", "logit", "simplex"])
def test_massless_limit_matches_exact_overdamped_solution(chart):
    """m = 0: rho(t) ∝ rho0^a rho*^(1-a), a = exp(-T t / gamma), to 1e-8 (here ~1e-13)."""
    rng = np.random.default_rng(4)
    mask = np.ones((3, 7), bool)
    mask[1, 5:] = False
    T, gamma = np.array([0.5, 1.0, 3.0]), np.array([2.0, 0.3, 1.0])
    system = to.AttentionSystem(rng.normal(size=(3, 7)) * 2, T, 0.0, gamma, mask=mask)
    rho0 = rng.dirichlet(np.ones(7), size=3) * mask
    rho0 /= rho0.sum(-1, keepdims=True)
    ts = np.linspace(0, 4, 41)
    traj = to.simulate(system, rho0, 4.0, ts=ts, chart=chart, rtol=1e-12, atol=1e-14)
    assert np.all(traj.succeeded)
    star = np.asarray(to.equilibrium(system))
    a = np.exp(-T[:, None, None] * ts[None, :, None] / gamma[:, None, None])
    exact = np.where(mask[:, None, :], rho0[:, None, :] ** a * star[:, None, :] ** (1 - a), 0)
    exact /= exact.sum(-1, keepdims=True)
    np.testing.assert_allclose(traj.rho, exact, rtol=0, atol=1e-8)
    # The replicator velocity gamma d ln rho/dt = -(E + T ln rho) + <E + T ln rho>.
    log_rho = np.log(np.where(mask[:, None, :], exact, 1))
    phi = np.asarray(system.energies)[:, None, :] + T[:, None, None] * log_rho
    mean_phi = np.sum(exact * phi, -1, keepdims=True)
    expected_rate = np.where(mask[:, None, :], exact * (mean_phi - phi) / gamma[:, None, None], 0)
    np.testing.assert_allclose(traj.rho_dot, expected_rate, rtol=0, atol=1e-7)


def test_linear_theory_regimes_and_rates():
    system = to.AttentionSystem(
        np.zeros((5, 3)), 4.0, np.array([1.0, 1.0, 1.0, 1.0, 0.0]), np.array([0.0, 2.0, 4.0, 20.0, 2.0])
    )
    theory = to.linear_theory(system)
    assert [theory.regime_name(i) for i in range(5)] == [
        "underdamped",
        "underdamped",
        "critical",
        "overdamped",
        "gradient flow (m = 0)",
    ]
    np.testing.assert_allclose(theory.natural_frequency[:4], 2.0)
    np.testing.assert_allclose(theory.damping_ratio[:4], [0, 0.5, 1, 5])
    np.testing.assert_allclose(theory.oscillation_frequency[:2], [2.0, 2.0 * np.sqrt(0.75)])
    np.testing.assert_allclose(theory.decay_rate, [0.0, 1.0, 2.0, 2.0 * (5 - np.sqrt(24)), 2.0], rtol=1e-12)
    assert theory.relaxation_time[0] == np.inf
