"""Failures that cannot hide: a gradient through a failed solve is NaN, a failed trajectory has
no distance, `fit` refuses observations that are not distributions, and bad parameters are
refused in one line naming the argument."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import thermo_ode as to

E = jnp.array([0.0, 1.0, 2.0])
START = jnp.full(3, 1 / 3)


def _final(temperature, max_steps):
    system = to.AttentionSystem(E, temperature, 1.0, 1.0)
    traj = to.solve(system, START, 10.0, max_steps=max_steps, rtol=1e-5, atol=1e-7)
    return traj


def test_the_gradient_through_a_failed_solve_is_nan():
    failed = _final(1.0, 3)
    assert int(failed.status) != 0 and not np.isfinite(failed.rho[-1]).any()
    assert np.isnan(failed.distance[-1])  # a trajectory that was not computed has no distance
    for quantity in (lambda t: t.distance[-1], lambda t: t.rho[-1, 0], lambda t: t.hamiltonian[-1]):
        assert np.isnan(jax.grad(lambda T: quantity(_final(T, 3)))(1.0))
    # the penalty idiom of a fit does not launder it either
    assert np.isnan(jax.grad(lambda T: jnp.where(_final(T, 3).succeeded, _final(T, 3).distance[-1], 1.0))(1.0))


def test_the_gradient_through_a_finished_solve_is_unchanged():
    """The NaN is only for failures: a finished solve's gradient matches central differences."""
    grad = jax.grad(lambda T: _final(T, 4096).distance[2])(1.0)
    step = 1e-3
    numeric = (_final(1.0 + step, 4096).distance[2] - _final(1.0 - step, 4096).distance[2]) / (2 * step)
    assert np.isfinite(grad) and abs(grad - numeric) < 1e-2 * abs(numeric) + 1e-4


def test_the_distance_of_a_nan_distribution_is_nan():
    assert np.isnan(to.fisher_rao_distance(jnp.array([jnp.nan, 0.5, 0.5]), START))
    assert float(to.fisher_rao_distance(jnp.array([0.0, 0.5, 0.5]), jnp.array([0.0, 0.5, 0.5]))) == 0.0


def _observations():
    system = to.AttentionSystem(E, 1.0, 1.0, 1.0)
    traj = to.solve(system, START, 4.0, saves=9, time="physical", rtol=1e-5, atol=1e-7)
    return np.array(traj.ts), np.array(traj.rho)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda rho: rho.__setitem__(3, rho[3] * 2), "rho: row 3 sums to 2, not 1"),
        (lambda rho: rho.__setitem__((5, 1), -0.1), "rho: row 5 is not a distribution: entry 1 is negative"),
        (lambda rho: rho.__setitem__((2, 0), np.nan), "rho: row 2 is not a distribution: entry 0 is not finite"),
    ],
)
def test_fit_refuses_observations_that_are_not_distributions(edit, message):
    ts, rho = _observations()
    edit(rho)
    with pytest.raises(ValueError, match=message):
        to.fit(ts, rho, np.asarray(E), parameters=["damping"], uncertainty=False, max_iterations=2)


def test_fit_refuses_a_row_empty_on_the_observed_tokens():
    ts, rho = _observations()
    rho[4, :2] = 0.0
    with pytest.raises(ValueError, match="rho: row 4 is 0 on every observed token"):
        to.fit(ts, rho, np.asarray(E), observed=[True, True, False], parameters=["damping"], max_iterations=2)


def test_fit_is_public():
    from thermo_ode.fitting import fit

    assert to.fit is fit and "fit" in to.__all__


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"time": -5}, "LagrangianAttention: time must be > 0"),
        ({"mass": 0.0}, "LagrangianAttention: mass must be > 0"),
        ({"damping": float("nan")}, "LagrangianAttention: damping must be finite"),
        ({"temperature": -1.0}, "LagrangianAttention: temperature must be > 0"),
        ({"time": "long"}, "LagrangianAttention: time must be a number"),
        ({"rtol": 2.0}, r"LagrangianAttention: rtol must be a number in \(0, 1\)"),
    ],
)
def test_the_layer_names_its_own_arguments(arguments, message):
    values = dict(temperature=2.0) | arguments
    with pytest.raises((ValueError, TypeError), match=message) as raised:
        to.LagrangianAttention(**values)
    assert "\n" not in str(raised.value)


def test_a_traced_bad_value_is_one_line_naming_the_argument():
    def final(T):
        return to.solve(to.AttentionSystem(E, T, 1.0, 1.0), START, 10.0, rtol=1e-5, atol=1e-7).rho[-1]

    with pytest.raises(ValueError) as raised:
        jax.vmap(final)(jnp.array([1.0, -1.0]))
    assert str(raised.value).splitlines()[0] == "solve: temperature must be finite and > 0"  # then jax's note


SYSTEM = to.AttentionSystem(E, 1.0, 1.0, 1.0)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(t1=-5.0), "solve: t1 must be > 0, found -5.0"),
        (dict(rho0=[0.5, 0.6, 0.1]), "solve: rho0 must sum to 1 within"),
        (dict(ts=np.array([0.0, 6.0])), r"solve: ts must lie in \[0, t1\], found 6.0"),
        (dict(velocity0=np.array([1.0, 0.0, 0.0])), r"solve: velocity0 must be tangent to the simplex"),
        (dict(bath_temperature=1.0), "solve: bath_temperature > 0 needs a key for the noise"),
        (dict(first_order=True), "solve: mass must be > 0 .second order. or exactly 0 with first_order=True"),
        (dict(dt=0.001, max_steps=10), "solve: dt: t1/dt needs 5000 steps, more than max_steps = 10"),
    ],
)
def test_a_concrete_bad_value_under_jit_is_one_line_naming_the_argument(arguments, message):
    """Values the caller gives as numbers, lists or numpy arrays are checked before tracing, so
    inside the caller's own `jax.jit` they are a one-line ValueError too (they were jax's
    many-line `JaxRuntimeError: INTERNAL: CpuCallback error`)."""
    given = dict(rho0=START, t1=5.0) | arguments

    @jax.jit
    def final(scale):
        return to.solve(SYSTEM, given.pop("rho0"), given.pop("t1"), **given).rho[-1] * scale

    with pytest.raises(ValueError, match=message) as raised:
        final(1.0)
    assert "\n" not in str(raised.value)


def test_a_layer_edited_to_a_bad_time_is_one_line_naming_it():
    """`eqx.tree_at` skips the layer's own checks; `solve` then names the time (t1), where
    diffrax said `(t1 - t0) * dt0 >= 0`."""
    import equinox as eqx

    layer = eqx.tree_at(lambda l: l.time, to.LagrangianAttention(2.0), jnp.asarray(-5.0))
    with pytest.raises(ValueError, match="solve: t1 must be > 0, found -5.0") as raised:
        jax.jit(lambda q, k: layer.weights(q, k))(jnp.ones((2, 4)), jnp.ones((3, 4)))
    assert "\n" not in str(raised.value)


def test_fit_reads_row_sums_at_the_observations_precision():
    """float16 observations sum to 1 only within float16 rounding (~1e-3): they are
    distributions; a row off by more is still refused. Text is refused naming the argument."""
    ts, rho = _observations()
    half = rho.astype(np.float16)
    assert np.abs(half.astype(float).sum(-1) - 1).max() > 1e-6
    to.fit(ts, half, np.asarray(E), parameters=["damping"], uncertainty=False, max_iterations=2)
    half[4] *= np.float16(1.05)
    with pytest.raises(ValueError, match="rho: row 4 sums to 1.04"):
        to.fit(ts, half, np.asarray(E), parameters=["damping"], uncertainty=False, max_iterations=2)
    with pytest.raises(TypeError, match="rho must be a real number"):
        to.fit(ts, np.full(rho.shape, "x"), np.asarray(E), parameters=["damping"], max_iterations=2)
