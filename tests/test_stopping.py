"""Integrating until equilibrium (`until=thermo_ode.Until(tol)`): each system stops once its
phase-space distance to softmax, `sqrt(d^2 + (v/omega0)^2)`, falls below the tolerance; `t1`
is the cap. Checked against the linear theory's closed form, the undamped motion (which never
stops), a fast passage through softmax (which must not stop), finite differences of the
stopping time and the batched engine."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import thermo_ode as to
from thermo_ode import rules

jax.config.update("jax_enable_x64", True)

ENERGIES = jnp.array([0.0, 1.0, 2.0])
# A distance of 1e-8 is resolved only by a solve whose own error is well below it.
ACCURATE = dict(rtol=1e-10, atol=1e-12)
# Most solves here share saves=11, a tolerance of 1e-8 and ACCURATE: one compiled program.


def _system(zeta, T=1.0, m=1.0, energies=ENERGIES):
    gamma = 2 * zeta * np.sqrt(m * T) if m > 0 else zeta
    return to.AttentionSystem(energies, temperature=T, mass=m, damping=gamma)


def _near_softmax(system, amplitude):
    """A start a small displacement from softmax (one direction in the tangent space)."""
    eq = to.equilibrium(system)
    rho = eq * (1 + amplitude * jnp.array([1.0, -1.0, 0.5]))
    return rho / rho.sum()


def _linear_stop_time(zeta, d0, tol):
    """Natural time at which the linear mode x'' + 2 zeta x' + x = 0, x(0) = d0, x'(0) = 0,
    has sqrt(x^2 + x'^2) = tol. That norm never increases (its derivative is -2 zeta x'^2),
    so the crossing is unique: located by bisection on the closed form."""

    def norm(s):
        if zeta < 1:
            w = np.sqrt(1 - zeta**2)
            x = d0 * np.exp(-zeta * s) * (np.cos(w * s) + zeta / w * np.sin(w * s))
            v = -d0 * np.exp(-zeta * s) * np.sin(w * s) / w
        else:
            r1, r2 = -zeta + np.sqrt(zeta**2 - 1), -zeta - np.sqrt(zeta**2 - 1)
            a, b = d0 * r2 / (r2 - r1), -d0 * r1 / (r2 - r1)
            x = a * np.exp(r1 * s) + b * np.exp(r2 * s)
            v = a * r1 * np.exp(r1 * s) + b * r2 * np.exp(r2 * s)
        return np.hypot(x, v)

    lo, hi = 0.0, 1.0
    while norm(hi) > tol:
        hi *= 2
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if norm(mid) > tol else (lo, mid)
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("zeta", [0.3, 2.0])
def test_the_stopping_time_is_the_linear_theorys_time_to_the_tolerance(zeta):
    """Small amplitude, damped below and above critical: the located stop is the linear mode's
    time to reach the tolerance in phase space, to 2% (0.1% in fact, at this amplitude)."""
    system, tol = _system(zeta), 1e-8
    rho0 = _near_softmax(system, 1e-4)
    d0 = float(to.fisher_rao_distance(rho0, to.equilibrium(system)))
    traj = to.solve(system, rho0, 500.0, until=to.Until(tol), saves=11, **ACCURATE)
    assert traj.message() == "stopped at equilibrium" and bool(traj.stopped) and bool(traj.succeeded)
    expected = _linear_stop_time(zeta, d0, tol)  # omega0 = 1: natural time is physical time
    np.testing.assert_allclose(float(traj.stop_time), expected, rtol=2e-3)
    # The saves after the stop hold the state at the stop (near softmax, at rest).
    after = traj.ts > traj.stop_time
    assert after.sum() >= 1 and bool(jnp.all(traj.distance[after] < tol))
    np.testing.assert_array_equal(traj.rho[after], jnp.broadcast_to(traj.rho[after][0], traj.rho[after].shape))


def test_the_gradient_flow_stops_at_its_closed_form_time():
    """m = 0: the distance decays as d0 e^(-T t / gamma) near softmax; the stop is
    (gamma / T) ln(d0 / tol)."""
    system, tol = _system(2.0, m=0.0), 1e-8  # gamma = 2, T = 1
    rho0 = _near_softmax(system, 1e-4)
    d0 = float(to.fisher_rao_distance(rho0, to.equilibrium(system)))
    traj = to.solve(system, rho0, 200.0, until=to.Until(tol), saves=5, **ACCURATE)
    np.testing.assert_allclose(float(traj.stop_time), 2.0 * np.log(d0 / tol), rtol=2e-3)


def test_an_undamped_system_never_stops_and_reaches_the_cap():
    system = _system(0.0)
    traj = to.solve(system, jnp.full(3, 1 / 3), 50.0, until=to.Until(1e-8), saves=11, **ACCURATE)
    assert int(traj.status) == rules.REACHED_CAP and not bool(traj.stopped) and bool(traj.succeeded)
    assert traj.message() == "reached the cap t1 without stopping at equilibrium"
    assert float(traj.stop_time) == np.inf


def test_a_fast_passage_through_softmax_does_not_stop():
    """Lightly damped from rest: the distance dips to 0 every half period while the speed is
    largest; the condition holds only once both are small."""
    system, tol = _system(0.02), 1e-3
    rho0 = _near_softmax(system, 0.3)
    free = to.solve(system, rho0, 600.0, saves=6001)
    passages = free.ts[free.distance < tol]
    assert passages.size > 0  # the distance does pass below the tolerance, moving fast
    traj = to.solve(system, rho0, 600.0, until=to.Until(tol), saves=6001)
    assert bool(traj.stopped) and float(traj.stop_time) > float(passages[0]) + 100


def test_a_start_within_the_tolerance_stops_at_once():
    system = _system(0.5)
    traj = to.solve(system, to.equilibrium(system), 10.0, until=to.Until(1e-8), saves=11, **ACCURATE)
    assert bool(traj.stopped) and float(traj.stop_time) == 0.0
    np.testing.assert_array_equal(traj.rho, jnp.broadcast_to(traj.rho[0], traj.rho.shape))


def test_the_gradient_of_the_stopping_time_matches_finite_differences():
    def stop_time(damping):
        system = to.AttentionSystem(ENERGIES, temperature=1.0, mass=1.0, damping=damping)
        return to.solve(system, jnp.array([0.2, 0.3, 0.5]), 200.0, until=to.Until(1e-6), saves=2).stop_time

    h = 1e-3
    central = (stop_time(1.0 + h) - stop_time(1.0 - h)) / (2 * h)
    np.testing.assert_allclose(float(jax.grad(stop_time)(1.0)), float(central), rtol=1e-3)


def test_simulate_stops_each_system_as_solve_does():
    """A mixed batch (under, over, critically damped and undamped) through simulate's batched
    engine: each system's stopping time and status equal solve's."""
    zetas = jnp.array([0.3, 1.0, 3.0, 0.0])
    system = to.AttentionSystem(jnp.broadcast_to(ENERGIES, (4, 3)), temperature=1.0, mass=1.0, damping=2 * zetas)
    rho0 = jnp.array([0.2, 0.3, 0.5])
    batch = to.simulate(system, rho0, 200.0, until=to.Until(1e-8), saves=11, **ACCURATE)
    for i, zeta in enumerate(zetas):
        one = to.solve(_system(float(zeta)), rho0, 200.0, until=to.Until(1e-8), saves=11, **ACCURATE)
        assert int(batch.status[i]) == int(one.status)
        np.testing.assert_allclose(float(batch.stop_time[i]), float(one.stop_time), rtol=1e-8)
    assert batch.status.tolist() == [rules.STOPPED] * 3 + [rules.REACHED_CAP]


def test_until_is_refused_where_it_cannot_hold():
    system = _system(0.5)
    with pytest.raises(ValueError, match="until: a heat bath"):
        to.solve(system, jnp.full(3, 1 / 3), 10.0, until=to.Until(1e-6), dt=0.01)
    with pytest.raises(ValueError, match="Until: tolerance must be a number in"):
        to.Until(0.0)
    with pytest.raises(TypeError, match="until must be a thermo_ode.Until"):
        to.solve(system, jnp.full(3, 1 / 3), 10.0, until=1e-6)
