"""The inverse problem: parameters recovered from synthetic noisy trajectories, through
diffeqsolve's gradients, and the mass-time degeneracy found where there is no clock."""

import jax
import numpy as np
import pytest

import thermo_ode as to
from thermo_ode.fitting import fit

RNG = np.random.default_rng(0)
E = RNG.normal(size=5)
TRUE = dict(mass=2.0, damping=0.6, temperature=1.5)
RHO0 = np.array([0.4, 0.1, 0.2, 0.2, 0.1])
TS = np.linspace(0.5, 20, 40)
NOISE = 0.02  # multiplicative log-normal noise on every observed probability


def observations(energies=E, noise=NOISE, seed=1):
    system = to.AttentionSystem(energies, TRUE["temperature"], TRUE["mass"], TRUE["damping"])
    traj = to.simulate(system, RHO0, TS[-1], ts=np.concatenate([[0.0], TS]), rtol=1e-12, atol=1e-12)
    clean = np.asarray(traj.rho)[1:]
    noisy = clean * np.exp(noise * np.random.default_rng(seed).normal(size=clean.shape))
    return noisy / noisy.sum(-1, keepdims=True)


def test_recovers_mass_damping_temperature_with_a_clock():
    """2% noise, 40 times, known energies and start: each within 5% (measured: 0.4-0.6%), and
    within 4 of its own standard errors. The whole fit, Hessian included, compiles one L-BFGS step."""
    compiled = []

    def listener(event, duration, **info):
        if event.endswith("backend_compile_duration"):
            compiled.append(info.get("fun_name"))

    data = observations()
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        result = fit(TS, data, E, rho0=RHO0)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert compiled.count("jit(step)") == 1, compiled
    assert result.converged and not result.degenerate
    for name, value in TRUE.items():
        relative = result.estimate[name] / value - 1
        assert abs(relative) < 0.05, (name, result.estimate[name])
        assert abs(np.log1p(relative)) < 4 * result.standard_error[name] + 1e-3, (name, result.standard_error)


def test_without_a_clock_mass_and_time_unit_are_inseparable():
    """With the time unit free, the loss is flat along (log m, log gamma, log unit) ~ (2, 1, 1):
    the fit reports that direction, infinite errors for m, gamma and the unit, and recovers
    what is identifiable, sqrt(T/m) in the observations' unit and zeta, within 5%. Forty
    iterations: by then those are within 1%; the fit takes ~160 to bring the gradient below
    1e-10, and the flat direction is exact wherever the fit stops."""
    result = fit(
        TS,
        observations(),
        E,
        rho0=RHO0,
        parameters=("mass", "damping", "temperature", "time_unit"),
        initial=dict(time_unit=1.3),
        max_iterations=40,
    )
    assert len(result.degenerate) == 1
    direction = np.array([result.degenerate[0][k] for k in ("mass", "damping", "temperature", "time_unit")])
    np.testing.assert_allclose(np.abs(direction), np.array([2, 1, 0, 1]) / np.sqrt(6), atol=1e-3)
    assert np.isinf([result.standard_error[k] for k in ("mass", "damping", "time_unit")]).all()
    assert abs(result.estimate["temperature"] / TRUE["temperature"] - 1) < 0.05
    omega0 = np.sqrt(TRUE["temperature"] / TRUE["mass"])
    zeta = TRUE["damping"] / (2 * np.sqrt(TRUE["mass"] * TRUE["temperature"]))
    assert abs(result.natural["omega0"] / omega0 - 1) < 0.05
    assert abs(result.natural["zeta"] / zeta - 1) < 0.05


def test_recovers_energies_with_kl_loss():
    """Energies free (their mean fixed), m, gamma, T known, 1% noise, KL loss: within 0.05."""
    result = fit(
        TS, observations(noise=0.01), np.zeros(5), rho0=RHO0, parameters=("energies",), loss="kl", initial=TRUE
    )
    np.testing.assert_allclose(
        result.estimate["energies"] - result.estimate["energies"].mean(), E - E.mean(), atol=0.05
    )


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(parameters=("charge",)), "parameters must be a non-empty subset"),
        (dict(loss="l2"), "loss must be one of"),
        (dict(initial=dict(mass=-1.0)), "initial mass must be a finite number > 0"),
        (dict(initial=dict(charge=1.0)), "initial: unknown parameters \\['charge'\\]"),
        (dict(rho0=np.ones(3)), "rho0 must be \\(5,\\)"),
    ],
)
def test_bad_fit_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        fit(TS, observations(), E, **kwargs)
