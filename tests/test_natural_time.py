"""Mass only sets the clock (docs/physics.md, section 10)."""

import numpy as np
import pytest

import thermo_ode as to


def _same_zeta_systems(masses, zeta=0.4, temperature=1.5, n=5, seed=0):
    rng = np.random.default_rng(seed)
    energies = np.broadcast_to(rng.normal(size=n) * temperature, (len(masses), n))
    masses = np.asarray(masses, float)
    return to.AttentionSystem(energies, temperature, masses, 2 * zeta * np.sqrt(masses * temperature))


def test_trajectories_collapse_in_natural_time():
    """Integrated in *physical* time, runs at m = 0.1, 1, 10 with one damping ratio coincide
    when plotted against tau = t sqrt(T/m), with initial velocity scaled by sqrt(m/T)."""
    masses = np.array([0.1, 1.0, 10.0])
    system = _same_zeta_systems(masses)
    omega0 = np.asarray(to.linear_theory(system).natural_frequency)
    tau = np.linspace(0, 30, 301)
    rho0 = np.array([0.3, 0.1, 0.2, 0.25, 0.15])
    velocity_natural = np.array([0.02, -0.01, 0.0, -0.03, 0.02])  # d rho / d tau
    traj = to.simulate(
        system,
        rho0,
        tau[-1] / omega0,
        ts=tau[None, :] / omega0[:, None],
        velocity0=velocity_natural[None, :] * omega0[:, None],
        time="physical",
        rtol=1e-12,
        atol=1e-14,
    )
    rho = np.asarray(traj.rho)
    np.testing.assert_allclose(rho[0], rho[1], rtol=0, atol=1e-8)
    np.testing.assert_allclose(rho[2], rho[1], rtol=0, atol=1e-8)
    # Physical velocities scale with the clock: d rho/dt = omega0 d rho/d tau.
    rate_natural = np.asarray(traj.rho_dot) / omega0[:, None, None]
    np.testing.assert_allclose(rate_natural[0], rate_natural[1], atol=1e-8)
    # The trajectory is not trivial: it moves a finite distance.
    assert np.ptp(rho[1][:, 0]) > 0.05


def test_natural_time_steps_do_not_depend_on_mass():
    masses = np.array([0.01, 0.1, 1.0, 10.0, 100.0])
    system = _same_zeta_systems(masses)
    omega0 = np.asarray(to.linear_theory(system).natural_frequency)
    tau1 = 40.0
    natural = to.simulate(system, np.full(5, 0.2), tau1 / omega0, rtol=1e-9, atol=1e-11)
    steps = np.asarray(natural.num_steps)
    assert np.all(steps == steps[0]), steps
    np.testing.assert_allclose(
        natural.distance, np.broadcast_to(natural.distance[0], natural.distance.shape), atol=1e-12
    )


@pytest.mark.parametrize("time", ["natural", "physical"])
def test_physical_and_natural_time_agree(time):
    """The time variable is an implementation choice: results agree to the tolerance."""
    rng = np.random.default_rng(5)
    system = to.AttentionSystem(
        rng.normal(size=(2, 4)), np.array([0.5, 2.0]), np.array([0.2, 5.0]), np.array([0.3, 2.0])
    )
    reference = to.simulate(system, np.full(4, 0.25), 10.0, rtol=1e-12, atol=1e-14)
    other = to.simulate(system, np.full(4, 0.25), 10.0, time=time, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(other.rho, reference.rho, atol=1e-9)
