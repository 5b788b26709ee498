"""Fisher–Rao geometry (docs/physics.md, section 8) and the sphere chart's maps
(docs/physics.md, section 3)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import thermo_ode as to
from thermo_ode import geometry as geo


def test_distance_closed_forms():
    # Two vertices of the simplex are a quarter circle apart on the radius-2 sphere: d = pi.
    np.testing.assert_allclose(to.fisher_rao_distance(np.array([1.0, 0, 0]), np.array([0, 1.0, 0])), np.pi, rtol=1e-15)
    # Vertex to barycentre of N tokens: 2 arccos(1/sqrt(N)).
    for n in (2, 3, 10):
        np.testing.assert_allclose(
            to.fisher_rao_distance(np.eye(n)[0], np.full(n, 1 / n)), 2 * np.arccos(1 / np.sqrt(n)), rtol=1e-13
        )
    assert to.fisher_rao_distance(np.array([0.2, 0.8]), np.array([0.2, 0.8])) == 0


def test_distance_keeps_precision_near_zero():
    """Leading order d = sqrt(sum delta^2 / rho): must hold far below 1e-8, where arccos fails."""
    rho = np.array([0.1, 0.2, 0.3, 0.4])
    direction = np.array([1.0, -2.0, 0.5, 0.5])
    # Tolerances: second-order terms at 1e-4; at 1e-12 the rounding of rho + delta itself
    # (1e-17 absolute) limits the relative accuracy to ~1e-5.
    for eps, rtol in ((1e-4, 1e-3), (1e-8, 1e-6), (1e-12, 1e-4)):
        delta = eps * direction
        expected = np.sqrt(np.sum(delta**2 / rho))
        np.testing.assert_allclose(to.fisher_rao_distance(rho + delta, rho), expected, rtol=rtol)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(2, 7), seed=st.integers(0, 2**31 - 1))
def test_distance_is_a_metric_matching_arccos_form(n, seed):
    rng = np.random.default_rng(seed)
    p, q, r = rng.dirichlet(np.ones(n), size=3)
    d = to.fisher_rao_distance
    arccos_form = 2 * np.arccos(np.clip(np.sum(np.sqrt(p * q)), -1, 1))
    np.testing.assert_allclose(d(p, q), arccos_form, atol=1e-7)
    assert 0 <= d(p, q) <= np.pi
    np.testing.assert_allclose(d(p, q), d(q, p), rtol=1e-14)
    assert d(p, r) <= d(p, q) + d(q, r) + 1e-12


def test_kl_divergence():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    np.testing.assert_allclose(to.kl_divergence(p, q), np.log(2), rtol=1e-15)
    assert to.kl_divergence(q, p) == np.inf
    assert to.kl_divergence(p, p) == 0


def test_sphere_maps_round_trip_and_tangency():
    rng = np.random.default_rng(0)
    rho = rng.dirichlet(np.ones(5))
    rho_dot = rng.normal(size=5)
    rho_dot -= rho_dot.mean()
    x = geo.to_sphere(rho)
    np.testing.assert_allclose(np.sum(x**2), 4, rtol=1e-15)
    np.testing.assert_allclose(geo.from_sphere(x), rho, rtol=1e-14)
    v = geo.velocity_to_sphere(rho, rho_dot)
    np.testing.assert_allclose(np.dot(x, v), 0, atol=1e-14)  # sum rho_dot = 0 <=> tangent
    np.testing.assert_allclose(geo.velocity_from_sphere(x, v), rho_dot, atol=1e-14)
    # Kinetic energy: |x_dot|^2 = sum rho_dot^2 / rho (eq. 6).
    np.testing.assert_allclose(np.dot(v, v), np.sum(rho_dot**2 / rho), rtol=1e-13)
    w = geo.project_tangent(x, rng.normal(size=5))
    np.testing.assert_allclose(np.dot(x, w), 0, atol=1e-14)
