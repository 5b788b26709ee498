"""Conservative dynamics: small-oscillation frequency (docs/physics.md, section 9) and energy
conservation (docs/physics.md, section 7)."""

import numpy as np
import pytest
from helpers import crossing_times

import thermo_ode as to


@pytest.mark.parametrize("chart", ["sphere", "logit"])
def test_small_oscillation_period_is_2pi_sqrt_m_over_T(chart):
    """Every mode of eps obeys m eps'' + T eps = 0, whatever E and N: period 2 pi sqrt(m/T)."""
    rng = np.random.default_rng(10)
    T = np.array([0.25, 1.0, 4.0, 1.0, 2.5])
    m = np.array([1.0, 0.1, 10.0, 3.0, 0.5])
    n = np.array([3, 5, 8, 8, 8])
    energies = rng.normal(size=(5, 8)) * 2 * T[:, None]
    mask = np.arange(8) < n[:, None]
    system = to.AttentionSystem(energies, T, m, 0.0, mask=mask)
    star = np.asarray(to.equilibrium(system))
    eps = rng.normal(size=star.shape) * mask
    eps -= (star * eps).sum(-1, keepdims=True)  # sum rho* eps = 0
    eps *= 1e-4 / np.abs(eps).max(-1, keepdims=True)
    period = 2 * np.pi * np.sqrt(m / T)
    traj = to.simulate(system, star * (1 + eps), 12 * period, saves=2401, chart=chart, rtol=1e-11, atol=1e-13)
    assert np.all(traj.succeeded)
    for i in range(5):
        # All modes share one frequency, so any token's deviation crosses zero every half period.
        signal = np.asarray(traj.rho[i, :, 0]) - star[i, 0]
        crossings = crossing_times(np.asarray(traj.ts[i]), signal)
        measured = 2 * np.mean(np.diff(crossings))
        assert len(crossings) >= 20
        assert abs(measured / period[i] - 1) < 2e-3, (i, measured, period[i])


def test_hamiltonian_conserved_over_50_periods_of_large_amplitude_run():
    """damping = 0: H = (m/2) sum rho_dot^2/rho + F is a constant of motion, even on orbits
    that pass within 1e-9 of the simplex's faces (the sphere chart is regular there)."""
    rng = np.random.default_rng(1)
    T, m = np.array([1.0, 0.5, 2.0]), np.array([1.0, 0.3, 4.0])
    energies = rng.normal(size=(3, 8)) * np.array([[1.5], [2.0], [1.0]]) * T[:, None]
    system = to.AttentionSystem(energies, T, m, 0.0)
    period = 2 * np.pi * np.sqrt(m / T)
    traj = to.simulate(system, np.full(8, 1 / 8), 50 * period, saves=2001, rtol=1e-12, atol=1e-14)
    assert np.all(traj.succeeded)
    H = np.asarray(traj.hamiltonian)
    # Large amplitude: the orbit swings far from softmax (not a linear-regime run).
    assert np.all(np.asarray(traj.distance).max(-1) > 0.5)
    assert np.all(np.abs(H - H[:, :1]) <= 1e-7 * np.abs(H[:, :1]))
    rho = np.asarray(traj.rho)
    assert np.all(rho >= 0)
    assert np.all(np.abs(rho.sum(-1) - 1) < 1e-10)
    # The raw integrator state stays on the sphere too (the projection works).
    assert np.asarray(traj.constraint_error).max() < 1e-10


def test_hamiltonian_decreases_with_damping():
    """dH/dt = -gamma sum rho_dot^2/rho <= 0: H is a Lyapunov function, ending at F* = -T ln Z."""
    rng = np.random.default_rng(2)
    system = to.AttentionSystem(rng.normal(size=(4, 6)), 1.0, 1.0, np.array([0.3, 0.5, 2.0, 8.0]))
    traj = to.simulate(system, np.full(6, 1 / 6), 100.0, saves=1001, rtol=1e-10, atol=1e-12)
    H = np.asarray(traj.hamiltonian)
    assert np.all(np.diff(H, axis=-1) <= 1e-11)
    np.testing.assert_allclose(H[:, -1], to.equilibrium_free_energy(system), atol=1e-8)
    # Energy balance: H(0) - H(t) = gamma * integral of sum rho_dot^2/rho (trapezoid rule).
    t, rho, rho_dot = np.asarray(traj.ts), np.asarray(traj.rho), np.asarray(traj.rho_dot)
    power = np.sum(rho_dot**2 / rho, axis=-1) * np.asarray(system.damping)[:, None]
    dissipated = np.sum(0.5 * (power[:, 1:] + power[:, :-1]) * np.diff(t, axis=-1), axis=-1)
    np.testing.assert_allclose(H[:, 0] - H[:, -1], dissipated, rtol=1e-3)
