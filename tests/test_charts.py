"""Three independent routes to the equations of motion, and an independent integrator."""

import numpy as np
import pytest
from helpers import near_equilibrium_start, sphere_rhs_physical
from scipy.integrate import solve_ivp

import thermo_ode as to


def _problem():
    rng = np.random.default_rng(7)
    mask = np.ones((4, 6), bool)
    mask[2, 4:] = False  # padding
    T = np.array([0.5, 1.0, 2.0, 1.0])
    m = np.array([1.0, 0.3, 4.0, 1.0])
    gamma = np.array([0.0, 0.4, 2.0, 5.0])  # conservative, underdamped, underdamped, overdamped
    system = to.AttentionSystem(rng.normal(size=(4, 6)) * T[:, None], T, m, gamma, mask=mask)
    rho0 = near_equilibrium_start(system, rng, size=0.6)
    velocity0 = rng.normal(size=(4, 6)) * 0.05 * mask * rho0
    velocity0 -= rho0 * velocity0.sum(-1, keepdims=True)
    return system, rho0, velocity0


@pytest.mark.parametrize("chart", ["logit", "simplex"])
def test_charts_agree_with_sphere(chart):
    """Sphere chart (hand-written), logit chart (hand-written, time-dependent multiplier) and the
    simplex chart (Euler–Lagrange of the paper's Lagrangian by autodiff) agree to 1e-8."""
    system, rho0, velocity0 = _problem()
    kwargs = dict(velocity0=velocity0, saves=201, rtol=1e-12, atol=1e-14)
    sphere = to.simulate(system, rho0, 15.0, **kwargs)
    other = to.simulate(system, rho0, 15.0, chart=chart, **kwargs)
    assert np.all(sphere.succeeded) and np.all(other.succeeded)
    np.testing.assert_allclose(other.rho, sphere.rho, rtol=0, atol=1e-8)
    np.testing.assert_allclose(other.rho_dot, sphere.rho_dot, rtol=0, atol=1e-8)


def test_scipy_dop853_agrees():
    """An independent numpy implementation in physical time, integrated by scipy's DOP853."""
    system, rho0, velocity0 = _problem()
    t_eval = np.linspace(0, 15.0, 61)
    traj = to.simulate(system, rho0, 15.0, ts=t_eval, velocity0=velocity0, rtol=1e-12, atol=1e-14)
    for i in range(4):
        E, mask = np.asarray(system.energies[i]), np.asarray(system.mask[i])
        T, m, gamma = (float(getattr(system, name)[i]) for name in ("temperature", "mass", "damping"))
        x0 = 2 * np.sqrt(rho0[i])
        v0 = np.where(mask, velocity0[i] / np.sqrt(np.where(mask, rho0[i], 1)), 0)
        sol = solve_ivp(
            sphere_rhs_physical(E, T, m, gamma, mask),
            (0, 15.0),
            np.concatenate([x0, v0]),
            method="DOP853",
            t_eval=t_eval,
            rtol=1e-12,
            atol=1e-14,
        )
        assert sol.success
        x = sol.y[:6].T
        rho = x**2 / np.sum(x**2, axis=-1, keepdims=True)
        np.testing.assert_allclose(traj.rho[i], rho, rtol=0, atol=1e-7)
