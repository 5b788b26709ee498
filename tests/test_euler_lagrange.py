"""The autodiff Euler–Lagrange route on textbook Lagrangians with known equations of motion."""

import jax.numpy as jnp
import numpy as np

from thermo_ode.dynamics import euler_lagrange, gradient_flow


def test_damped_oscillator():
    """L = q'^2/2 - w^2 q^2/2, D = c q'^2/2  ->  q'' = -w^2 q - c q'."""
    w2, c = 3.0, 0.4
    accel = euler_lagrange(lambda q, qd: 0.5 * qd @ qd - 0.5 * w2 * q @ q, lambda q, qd: 0.5 * c * qd @ qd)
    q, qd = jnp.array([0.7, -0.2]), jnp.array([0.1, 0.5])
    np.testing.assert_allclose(accel(q, qd, jnp.array([True, True])), -w2 * q - c * qd, rtol=1e-14)


def test_position_dependent_mass_needs_the_mixed_term():
    """L = (1 + q^2) q'^2 / 2  ->  q'' = -q q'^2 / (1 + q^2); only the d/dt of the momentum's
    q-dependence produces this, so it checks the mixed second derivative."""
    accel = euler_lagrange(lambda q, qd: 0.5 * (1 + q[0] ** 2) * qd[0] ** 2)
    q, qd = jnp.array([0.8]), jnp.array([1.3])
    np.testing.assert_allclose(accel(q, qd, jnp.array([True])), -q * qd**2 / (1 + q**2), rtol=1e-14)


def test_fixed_coordinates_stay_at_rest():
    accel = euler_lagrange(lambda q, qd: 0.5 * qd @ qd - 0.5 * q @ q)
    out = accel(jnp.array([1.0, 2.0, 3.0]), jnp.zeros(3), jnp.array([True, False, True]))
    np.testing.assert_allclose(out, [-1.0, 0.0, -3.0])


def test_gradient_flow_with_a_metric():
    """D = q'^T G q' / 2, V = |q|^2 / 2  ->  q' = -G^{-1} q."""
    G = jnp.array([[2.0, 0.5], [0.5, 1.0]])
    velocity = gradient_flow(lambda q: 0.5 * q @ q, lambda q, qd: 0.5 * qd @ G @ qd)
    q = jnp.array([0.3, -1.1])
    np.testing.assert_allclose(velocity(q, jnp.array([True, True])), -np.linalg.solve(G, q), rtol=1e-13)
