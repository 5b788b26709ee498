"""Bad input is rejected before compilation, with a message naming the argument."""

import jax
import numpy as np
import pytest
from helpers import count_traces

import thermo_ode as to
from thermo_ode import simulation

E = np.array([0.1, -0.3, 0.7])
GOOD = to.AttentionSystem(E, 1.0, 1.0, 0.5)
RHO0 = np.full(3, 1 / 3)
KEY = jax.random.key(0)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(temperature=0.0), ValueError, "temperature must be > 0"),
        (dict(temperature=-1.0), ValueError, "temperature must be > 0"),
        (dict(temperature=np.nan), ValueError, "temperature must be finite"),
        (dict(mass=-0.1), ValueError, "mass must be >= 0"),
        (dict(mass=np.inf), ValueError, "mass must be finite"),
        (dict(damping=-1.0), ValueError, "damping must be >= 0"),
        (dict(mass=0.0, damping=0.0), ValueError, "mass and damping are both 0"),
        (dict(energies=np.array([0.0, np.nan, 1.0])), ValueError, "energies must be finite"),
        (dict(energies=np.array([0.0, np.inf, 1.0])), ValueError, "energies must be finite"),
        (dict(energies="abc"), TypeError, "energies must be a number"),
        (dict(energies=np.float64(1.0)), ValueError, "energies must have shape"),
        (dict(temperature="hot"), TypeError, "temperature must be a number"),
        (dict(mask=np.array([False, False, False])), ValueError, "mask has no token"),
        (dict(mask=np.array([1.0, 1.0, 0.0])), TypeError, "mask must be a boolean array"),
        (dict(mask=np.ones(4, bool)), ValueError, "mask has shape (4,)"),
        (dict(temperature=np.ones(2)), ValueError, "temperature has shape (2,)"),
    ],
)
def test_bad_system(kwargs, error, words):
    args = dict(energies=E, temperature=1.0, mass=1.0, damping=0.5)
    args.update(kwargs)
    with pytest.raises(error) as info:
        to.AttentionSystem(**args)
    assert words in str(info.value)


def test_bad_qk():
    with pytest.raises(ValueError, match="q and k must share the feature size d"):
        to.AttentionSystem.from_qk(np.ones((2, 4)), np.ones((3, 5)))
    with pytest.raises(ValueError, match="q must have shape"):
        to.AttentionSystem.from_qk(np.ones(4), np.ones((3, 4)))
    with pytest.raises(ValueError, match="k must be finite"):
        to.AttentionSystem.from_qk(np.ones((2, 4)), np.full((3, 4), np.nan))


@pytest.mark.parametrize(
    "rho0, kwargs, error, words",
    [
        (np.full(4, 0.25), {}, ValueError, "rho0 must have length N = 3"),
        (np.array([0.5, 0.7, -0.2]), {}, ValueError, "rho0 must be >= 0"),
        (np.array([0.5, 0.3, 0.3]), {}, ValueError, "rho0 must sum to 1"),
        (np.array([0.5, 0.5, 0.0]), {}, ValueError, "rho0 is 0 on unmasked token"),
        (np.array([0.5, np.nan, 0.5]), {}, ValueError, "rho0 must be finite"),
        ("uniform", {}, TypeError, "rho0 must be a number"),
        (RHO0, dict(velocity0=np.array([0.1, 0.1, 0.0])), ValueError, "velocity0 must be tangent"),
        (RHO0, dict(velocity0=np.array([0.1, -0.1])), ValueError, "velocity0 must have length N = 3"),
        (RHO0, dict(t1=0.0), ValueError, "t1 must be > 0"),
        (RHO0, dict(t1=np.inf), ValueError, "t1 must be finite"),
        (RHO0, dict(ts=np.array([0.0, 2.0, 1.0])), ValueError, "ts must be non-decreasing"),
        (RHO0, dict(ts=np.array([0.0, 20.0])), ValueError, "ts must lie in [0, t1]"),
        (RHO0, dict(chart="polar"), ValueError, "chart must be one of"),
        (RHO0, dict(solver="rk4000"), ValueError, "solver must be one of"),
        (RHO0, dict(solver=3), TypeError, "solver must be a name"),
        (RHO0, dict(rtol=-1e-8), ValueError, "rtol must be a finite number > 0"),
        (RHO0, dict(atol="small"), TypeError, "atol must be a float"),
        (RHO0, dict(max_steps=0), ValueError, "max_steps must be >= 1"),
        (RHO0, dict(time="proper"), ValueError, "time must be one of"),
        (RHO0, dict(bath_temperature=-0.1, key=KEY), ValueError, "bath_temperature must be >= 0"),
        (RHO0, dict(bath_temperature=np.nan, key=KEY), ValueError, "bath_temperature must be finite"),
        (RHO0, dict(bath_temperature=np.ones(2), key=KEY), ValueError, "bath_temperature has shape (2,)"),
        (RHO0, dict(bath_temperature=0.5, dt=0.1), TypeError, "key: bath_temperature > 0 needs"),
        (RHO0, dict(bath_temperature=0.5, key=KEY), ValueError, "dt is required"),
        (RHO0, dict(bath_temperature=0.5, key=KEY, dt=0.1, solver="tsit5"), ValueError, "cannot integrate noise"),
        (RHO0, dict(bath_temperature=0.5, key=KEY, dt=0.1, solver="rattle"), ValueError, "cannot integrate noise"),
        (
            RHO0,
            dict(bath_temperature=0.5, key=KEY, dt=0.1, chart="logit", solver="euler"),
            ValueError,
            "use chart='sphere'",
        ),
        (RHO0, dict(bath_temperature=0.5, key=3, dt=0.1), TypeError, "key must be a jax.random.key"),
        (
            RHO0,
            dict(bath_temperature=0.5, key=jax.random.split(KEY, 2), dt=0.1),
            ValueError,
            "key: an array of keys must have the batch shape",
        ),
        (RHO0, dict(solver="rattle"), ValueError, "dt is required"),
        (RHO0, dict(solver="rattle", dt=0.1, chart="logit"), ValueError, "sphere chart only"),
        (RHO0, dict(solver="gbaoab", dt=-0.1), ValueError, "dt must be > 0"),
        (RHO0, dict(solver="gbaoab", dt=20.0), ValueError, "dt = 20.0 is longer than t1"),
        (RHO0, dict(solver="gbaoab", dt=1e-3, max_steps=100), ValueError, "more than max_steps = 100"),
    ],
)
def test_bad_simulate_arguments(rho0, kwargs, error, words):
    before = count_traces(simulation, "_solve_group")()
    args = dict(t1=10.0)
    args.update(kwargs)
    with pytest.raises(error) as info:
        to.simulate(GOOD, rho0, **args)
    assert words in str(info.value)
    assert count_traces(simulation, "_solve_group")() == before  # failed before compiling


def test_masked_start_rules():
    system = to.AttentionSystem(E, 1.0, mask=np.array([True, True, False]))
    with pytest.raises(ValueError, match="masked token"):
        to.simulate(system, RHO0, 1.0)
    # Zero on the masked token is required and fine.
    traj = to.simulate(system, np.array([0.4, 0.6, 0.0]), 1.0, saves=3)
    assert np.all(np.asarray(traj.rho)[..., 2] == 0)


def test_massless_rules():
    massless = to.AttentionSystem(E, 1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="mass must be > 0"):
        to.simulate(massless, RHO0, 1.0, solver="rattle", dt=0.1)
    with pytest.raises(ValueError, match="velocity0 must be None when mass = 0"):
        to.simulate(massless, RHO0, 1.0, velocity0=np.zeros(3))
    mixed = to.AttentionSystem(np.stack([E, E]), 1.0, np.array([0.0, 1.0]), 1.0)
    with pytest.raises(ValueError, match="mass: the batch mixes mass 0"):
        to.simulate(mixed, RHO0, 1.0)


def test_empty_batch():
    with pytest.raises(ValueError, match="system has an empty batch"):
        to.simulate(to.AttentionSystem(np.zeros((0, 3)), 1.0, 1.0, 1.0), RHO0, 1.0)


def test_wrong_system_type():
    with pytest.raises(TypeError, match="system must be an AttentionSystem"):
        to.simulate(E, RHO0, 1.0)


def test_non_finite_results_are_a_failure_never_a_success():
    """A temperature of 1e-320 is > 0, so accepted, but E/T overflows: the solve's numbers are
    NaN, and the status says so (never 0)."""
    system = to.AttentionSystem(np.stack([E, E]), np.array([1.0, 1e-320]), 1.0, 0.5)
    for engine in ("refill", "vmap"):
        traj = to.simulate(system, np.stack([RHO0, RHO0]), 5.0, saves=3, engine=engine)
        assert np.asarray(traj.status).tolist() == [0, to.trajectory.NONFINITE], engine
        fields = (traj.rho, traj.rho_dot, traj.distance, traj.equilibrium, traj.hamiltonian, traj.free_energy)
        assert all(np.isfinite(np.asarray(f[0])).all() for f in fields)
        assert not all(np.isfinite(np.asarray(f[1])).all() for f in fields)
        assert "nonfinite" in traj.message(1).lower()


def test_tolerances_below_the_precision_are_refused_and_defaults_follow_it():
    f32 = to.AttentionSystem(E.astype(np.float32), np.float32(1.0), np.float32(1.0), np.float32(0.5))
    assert f32.dtype == np.float32
    with pytest.raises(ValueError, match="rtol: 1e-08 is below what float32 resolves"):
        to.simulate(f32, RHO0, 5.0, saves=3, rtol=1e-8)
    with pytest.raises(ValueError, match="rtol: 1e-300 is below what float64 resolves"):
        to.simulate(GOOD, RHO0, 5.0, saves=3, rtol=1e-300, atol=1e-300)
    with pytest.raises(ValueError, match="atol"):
        to.solve(GOOD, RHO0, 5.0, saves=3, atol=1e-320)
    with pytest.raises(ValueError, match="max_steps must be at most 2147483647"):
        to.simulate(GOOD, RHO0, 5.0, saves=3, max_steps=2**31)
    assert int(to.simulate(f32, RHO0, 5.0, saves=3).status) == 0  # float32's own defaults, 1e-6 / 1e-8
