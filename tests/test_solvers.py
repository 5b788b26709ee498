"""Every named solver, and solver instances, work through the projecting wrapper."""

import diffrax
import numpy as np
import pytest

import thermo_ode as to
from thermo_ode.solvers import ProjectedSolver


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    system = to.AttentionSystem(rng.normal(size=(2, 5)), 1.0, 1.0, 1.5)
    reference = to.simulate(system, np.full(5, 0.2), 10.0, rtol=1e-11, atol=1e-13)
    return system, reference


@pytest.mark.parametrize("solver", ["tsit5", "dopri5", "dopri8", "kvaerno5", diffrax.Dopri5()])
def test_solver_agrees_with_reference(problem, solver):
    system, reference = problem
    traj = to.simulate(system, np.full(5, 0.2), 10.0, solver=solver, rtol=1e-8, atol=1e-10)
    assert np.all(traj.succeeded)
    np.testing.assert_allclose(traj.rho, reference.rho, atol=1e-6)
    assert np.asarray(traj.constraint_error).max() < 1e-7


def test_wrapper_is_transparent_to_isinstance():
    wrapped = ProjectedSolver(diffrax.Kvaerno5(), lambda y: y)
    assert isinstance(wrapped, diffrax.AbstractImplicitSolver)
    assert isinstance(wrapped, diffrax.AbstractAdaptiveSolver)
    assert not isinstance(ProjectedSolver(diffrax.Tsit5(), lambda y: y), diffrax.AbstractImplicitSolver)


def test_extreme_logits_integrate_to_finite_results():
    """|E/T| = 1e3: the sphere chart passes the near-face region and settles on softmax."""
    system = to.AttentionSystem(np.array([0.0, 1000.0, -1000.0, 3.0]), 1.0, 1.0, 2.0)
    traj = to.simulate(system, np.full(4, 0.25), 20.0, max_steps=20_000)
    assert traj.status == 0
    for name in ("rho", "rho_dot", "hamiltonian", "free_energy", "distance"):
        assert np.all(np.isfinite(getattr(traj, name))), name
    assert traj.final_distance < 1e-6
    np.testing.assert_allclose(traj.rho[-1], [0, 0, 1, 0], atol=1e-12)


def test_single_token_is_already_at_equilibrium():
    traj = to.simulate(to.AttentionSystem(np.array([0.5]), 1.0, 1.0, 1.0), np.array([1.0]), 5.0, saves=3)
    np.testing.assert_array_equal(traj.rho, np.ones((3, 1)))
    np.testing.assert_allclose(traj.hamiltonian, 0.5)


def test_rules_agree_with_the_solvers():
    """The jax-free rules configs use name exactly the solvers simulate resolves."""
    from thermo_ode import rules
    from thermo_ode.solvers import SOLVERS, is_sphere_splitting, needs_fixed_step, takes_noise

    assert set(rules.NAMES) == set(SOLVERS)
    solvers = {name: make() for name, make in SOLVERS.items()}
    assert {n for n, s in solvers.items() if needs_fixed_step(s)} == set(rules.FIXED_STEP)
    assert {n for n, s in solvers.items() if takes_noise(s)} == set(rules.NOISE)
    assert {n for n, s in solvers.items() if is_sphere_splitting(s)} == set(rules.SPHERE_SPLITTING)
    for noisy in (False, True):
        for second_order in (False, True):
            name = rules.default_solver(noisy, second_order)
            assert takes_noise(solvers[name]) or not noisy
