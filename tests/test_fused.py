"""Fused Runge–Kutta steps: the same methods as diffrax's, stages unrolled."""

from __future__ import annotations

import diffrax
import jax.numpy as jnp
import numpy as np
import pytest

import thermo_ode as to
from thermo_ode.fused import FusedBosh3, FusedDopri5, FusedDopri8, FusedHeun, FusedTsit5

PAIRS = [
    (FusedTsit5, diffrax.Tsit5),
    (FusedDopri5, diffrax.Dopri5),
    (FusedDopri8, diffrax.Dopri8),
    (FusedBosh3, diffrax.Bosh3),
    (FusedHeun, diffrax.Heun),
]
# Tolerances for the attention problem. Where a method's local error falls below rounding (Dopri8
# at 1e-8: its first steps' error estimates are ~1e-19), the estimate is rounding noise, its
# value depends on the order of summation, and so does the step sequence; above it the two
# implementations step identically. Low orders get looser tolerances to keep the steps few.
RTOL = {  # (Lotka–Volterra, attention)
    FusedTsit5: (1e-8, 1e-8),
    FusedDopri5: (1e-8, 1e-8),
    FusedDopri8: (1e-8, 1e-4),
    FusedBosh3: (1e-8, 1e-6),
    FusedHeun: (1e-5, 1e-4),
}


def lotka_volterra(t, y, args):
    prey, predator = y
    return prey * (1.5 - predator), predator * (prey - 3.0)


@pytest.mark.parametrize("fused, reference", PAIRS, ids=lambda c: c.__name__)
def test_same_steps_and_states_as_diffrax(fused, reference):
    """Adaptive solves take the same accepted and rejected steps and reach the same states,
    on a plain ODE through diffeqsolve and on attention dynamics through solve."""
    rtol, attention_rtol = RTOL[fused]
    kwargs = dict(
        t0=0.0,
        t1=10.0,
        dt0=None,
        y0=(jnp.array(1.0), jnp.array(1.0)),
        saveat=diffrax.SaveAt(ts=jnp.linspace(0, 10, 41)),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=rtol * 1e-2),
        max_steps=100_000,
    )
    ours = diffrax.diffeqsolve(diffrax.ODETerm(lotka_volterra), fused(), **kwargs)
    theirs = diffrax.diffeqsolve(diffrax.ODETerm(lotka_volterra), reference(), **kwargs)
    assert int(ours.stats["num_steps"]) == int(theirs.stats["num_steps"])
    assert int(ours.stats["num_rejected_steps"]) == int(theirs.stats["num_rejected_steps"])
    for a, b in zip(ours.ys, theirs.ys):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)  # dense output included
    system = to.AttentionSystem(jnp.array([0.3, -0.8, 1.1, 0.0, -0.2]), 1.3, 0.7, 0.4)
    rho0 = jnp.array([0.3, 0.1, 0.2, 0.25, 0.15])
    ours, theirs = (
        to.solve(system, rho0, 20.0, saves=21, solver=s(), rtol=attention_rtol, atol=attention_rtol * 1e-2)
        for s in (fused, reference)
    )
    assert int(ours.num_steps) == int(theirs.num_steps) and int(ours.status) == 0
    np.testing.assert_allclose(ours.rho, theirs.rho, rtol=0, atol=1e-12)


def damped_pendulum(t, y, args):
    return y[1], -y[0] - 0.3 * y[1] + 0.5 * jnp.sin(y[0])


# Constant steps in each method's asymptotic range, above the reference's rounding.
STEPS = {8: [1.0, 0.8, 0.5, 0.4]}


@pytest.mark.parametrize("fused", [p[0] for p in PAIRS], ids=lambda c: c.__name__)
def test_convergence_order(fused):
    """The slope of log(error) against log(dt) at constant steps is the method's order."""
    y0 = (jnp.array(1.0), jnp.array(0.0))
    exact = np.array(
        diffrax.diffeqsolve(
            diffrax.ODETerm(damped_pendulum),
            diffrax.Dopri8(),
            0.0,
            4.0,
            None,
            y0,
            stepsize_controller=diffrax.PIDController(rtol=1e-14, atol=1e-14),
            max_steps=100_000,
        ).ys
    ).ravel()
    order = fused().order(None)
    steps = STEPS.get(order, [0.1, 0.05, 0.025])
    errors = []
    for dt in steps:
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(damped_pendulum), fused(), 0.0, 4.0, dt, y0, stepsize_controller=diffrax.ConstantStepSize()
        )
        errors.append(np.abs(np.array(sol.ys).ravel() - exact).max())
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.3, (slope, order, errors)
