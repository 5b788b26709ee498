"""`solve` composes with jax's transformations: jit, vmap, grad and jvp, and `simulate` is
`vmap(solve)` with grouping on top."""

from __future__ import annotations

import pathlib

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import count_traces

import thermo_ode as to
from thermo_ode import integration

ENERGIES = jnp.array([0.3, -0.8, 1.1, 0.0, -0.2])
RHO0 = jnp.array([0.3, 0.1, 0.2, 0.25, 0.15])
WEIGHTS = jnp.array([1.0, -2.0, 0.5, 3.0, -1.0])  # a smooth readout of the final state
TIGHT = dict(rtol=1e-12, atol=1e-14)


PARAMETERS = dict(temperature=1.3, mass=0.7, damping=0.4, t1=2.5)


def final_loss(energies=ENERGIES, **given):
    """A smooth readout of the state at `t1`; parameters not given are `PARAMETERS`, other
    keywords go to `solve`."""
    options = {**PARAMETERS, **given}
    system = to.AttentionSystem(energies, options.pop("temperature"), options.pop("mass"), options.pop("damping"))
    traj = to.solve(system, RHO0, options.pop("t1"), saves=5, **TIGHT, **options)
    return jnp.dot(WEIGHTS, traj.rho[-1])


@pytest.fixture(scope="module")
def gradients(once):
    """`final_loss`'s reverse-mode gradient with respect to the energies and every parameter,
    from one program, computed once for all workers (the tests below check each entry against
    differences)."""

    def make(folder):
        grads = jax.grad(lambda e, p: final_loss(energies=e, **p), argnums=(0, 1))(ENERGIES, PARAMETERS)
        np.savez(folder / "gradients.npz", energies=grads[0], **grads[1])

    with np.load(once("transforms-gradients", make) / "gradients.npz") as saved:
        return {name: saved[name] for name in saved.files}


@pytest.mark.parametrize("name", list(PARAMETERS))
def test_grad_matches_central_differences(gradients, name):
    value = PARAMETERS[name]
    h = 1e-4 * value
    numeric = (final_loss(**{name: value + h}) - final_loss(**{name: value - h})) / (2 * h)
    grad = gradients[name]
    assert abs(grad - numeric) <= 1e-5 * abs(numeric), (name, float(grad), float(numeric))
    assert abs(numeric) > 1e-3  # the loss does depend on it at t1 (not yet relaxed)


def test_grad_with_respect_to_the_energies(gradients):
    grad = gradients["energies"]
    h = 1e-5
    for i in range(ENERGIES.size):
        step = jnp.zeros_like(ENERGIES).at[i].set(h)
        numeric = (final_loss(energies=ENERGIES + step) - final_loss(energies=ENERGIES - step)) / (2 * h)
        assert abs(grad[i] - numeric) <= 1e-5 * max(abs(numeric), 1e-3), (i, float(grad[i]), float(numeric))
    # A common shift of the energies changes nothing: the gradient sums to zero.
    assert abs(float(grad.sum())) < 1e-8


def test_jvp_in_forward_mode_matches_grad(gradients):
    forward = dict(adjoint=diffrax.ForwardMode())
    _, tangent = jax.jvp(lambda T: final_loss(temperature=T, **forward), (1.3,), (1.0,))
    assert abs(tangent - gradients["temperature"]) < 1e-9


def test_vmap_of_solve_equals_simulate_on_a_mixed_batch():
    """Different temperatures, masses, dampings and a masked token: the same step counts and the
    same states to 1e-9, whatever grouping simulate chose. (Two compiled programs round
    differently, and the coldest system here amplifies that: to 3e-11 under jax 0.10, 2e-10
    under jax 0.12, where even an unbatched solve differs from the vmapped one by 3e-10; the
    solver's own tolerance is 1e-8.)"""
    rng = np.random.default_rng(3)
    B, N = 12, 6
    energies = rng.normal(size=(B, N))
    T, m = np.geomspace(0.3, 3, B), np.geomspace(0.1, 10, B)[rng.permutation(B)]
    gamma = 2 * np.linspace(0.2, 2.0, B) * np.sqrt(m * T)
    mask = np.ones((B, N), bool)
    mask[::3, -1] = False
    rho0 = mask / mask.sum(-1, keepdims=True)
    t1 = np.linspace(5.0, 15.0, B)
    system = to.AttentionSystem(energies, T, m, gamma, mask=mask)
    batched = to.simulate(system, rho0, t1, saves=21)
    one = lambda s, r, t: to.solve(s, r, t, saves=21)
    mapped = jax.vmap(one)(system, jnp.asarray(rho0), jnp.asarray(t1))
    np.testing.assert_array_equal(batched.num_steps, mapped.num_steps)
    np.testing.assert_array_equal(batched.status, mapped.status)
    np.testing.assert_allclose(batched.rho, mapped.rho, rtol=0, atol=1e-9)
    np.testing.assert_allclose(batched.ts, mapped.ts, rtol=0, atol=1e-12)
    # vmap over a parameter alone, the system's other fields shared.
    temperatures = jnp.array([0.5, 1.0, 2.0])
    finals = jax.vmap(lambda T: final_loss(temperature=T))(temperatures)
    assert np.allclose(finals, [final_loss(temperature=float(T)) for T in temperatures], atol=1e-12)


def test_jit_compiles_once_for_new_parameter_values():
    @jax.jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def loss(T, m, gamma, t1):
        return final_loss(temperature=T, mass=m, damping=gamma, t1=t1)

    values = [loss(T, m, 0.5, t) for T, m, t in ((1.0, 1.0, 2.0), (2.0, 0.5, 3.0), (0.7, 4.0, 1.0))]
    assert len({round(float(v), 12) for v in values}) == 3


def test_tolerances_are_inputs_of_the_compiled_solve():
    """`solve` at another rtol/atol runs the same compiled program, and the tolerance acts."""
    system = to.AttentionSystem(ENERGIES, 1.3, 0.7, 2.0)
    tight = to.solve(system, RHO0, 20.0, **TIGHT)
    traced = count_traces(integration, "_solve")()
    loose = to.solve(system, RHO0, 20.0, rtol=1e-4, atol=1e-6)
    assert count_traces(integration, "_solve")() == traced
    assert int(loose.num_steps) < int(tight.num_steps)


def test_solve_converges_to_softmax_and_follows_the_exact_gradient_flow():
    """The core against closed forms: softmax at late times, and the m = 0 solution
    rho(t) ∝ rho0^a rho*^(1-a), a = exp(-T t / gamma)."""
    system = to.AttentionSystem(ENERGIES, 1.3, 0.7, 2.0)
    traj = to.solve(system, RHO0, 60.0, **TIGHT)
    assert float(traj.final_distance) < 1e-9 and int(traj.status) == 0
    flow = to.AttentionSystem(ENERGIES, 1.3, 0.0, 0.9)
    ts = jnp.linspace(0, 2.0, 9)
    traj = to.solve(flow, RHO0, 2.0, ts=ts, **TIGHT)
    star = np.asarray(to.equilibrium(flow))
    a = np.exp(-1.3 * np.asarray(ts) / 0.9)[:, None]
    exact = RHO0**a * star ** (1 - a)
    np.testing.assert_allclose(traj.rho, exact / exact.sum(-1, keepdims=True), atol=1e-10)


def test_structure_errors_raise_while_tracing_and_value_errors_at_run_time():
    system = to.AttentionSystem(ENERGIES, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="rho0 must have shape"):
        to.solve(system, jnp.ones(4) / 4, 1.0)
    with pytest.raises(ValueError, match="one system"):
        to.solve(to.AttentionSystem(jnp.zeros((2, 5)), 1.0), RHO0, 1.0)
    with pytest.raises(ValueError, match="dt is required"):
        to.solve(system, RHO0, 1.0, solver="rattle")
    with pytest.raises(Exception, match="rho0 must sum to 1"):
        to.solve(system, RHO0 * 2, 1.0)
    with pytest.raises(Exception, match=r"ts must lie in \[0, t1\]"):  # concrete: checked before tracing
        to.solve(system, RHO0, 1.0, ts=jnp.array([0.0, 2.0]))


def test_diffeqsolve_is_called_in_one_module_of_the_core():
    package = pathlib.Path(to.__file__).parent
    callers = sorted(p.name for p in package.rglob("*.py") if "diffeqsolve(" in p.read_text())
    assert callers == ["integration.py"], callers


def _head(seed=0, n_q=4, n_k=6, d=8, d_v=3):
    rng = np.random.default_rng(seed)
    return (jnp.asarray(rng.normal(size=s)) for s in ((n_q, d), (n_k, d), (n_k, d_v)))


def test_attention_layer_is_softmax_attention_at_large_time():
    q, k, v = _head()
    mask = jnp.asarray(to.causal_mask(4, 6))
    layer = to.LagrangianAttention(temperature=np.sqrt(8), mass=1.0, damping=4.0, time=80.0, rtol=1e-11, atol=1e-13)
    scores = jnp.where(mask, q @ k.T / np.sqrt(8), -jnp.inf)
    expected = jax.nn.softmax(scores, axis=-1) @ v
    np.testing.assert_allclose(layer(q, k, v, mask), expected, rtol=0, atol=1e-9)
    # At a finite time it is not softmax yet: the dynamics matter.
    early = eqx.tree_at(lambda l: l.time, layer, jnp.asarray(0.3))
    assert float(jnp.abs(early(q, k, v, mask) - expected).max()) > 1e-2


def _fourth_order_difference(f, x, h):
    """`f'(x)` by the five-point stencil: truncation O(h^4), so h can be large enough that
    the adaptive solver's ~1e-12 noise divided by h stays small."""
    return (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h)


def test_attention_layer_gradients_match_finite_differences():
    """Every parameter, `time` included, and the queries. Tolerance: 1e-5 of the derivative
    or of 1e-2 (the mass derivative here is a small difference of O(1) terms)."""
    q, k, v = _head(1)
    layer = to.LagrangianAttention(temperature=2.0, mass=0.5, damping=1.0, time=1.5, rtol=1e-12, atol=1e-14)
    loss = lambda l, q: jnp.sum(jnp.sin(l(q, k, v)))
    grads, grad_q = jax.grad(loss, argnums=(0, 1))(layer, q)
    for name in ("temperature", "mass", "damping", "time"):
        value = float(getattr(layer, name))
        shifted = lambda x: loss(eqx.tree_at(lambda l: getattr(l, name), layer, jnp.asarray(x)), q)
        numeric = float(_fourth_order_difference(shifted, value, 1e-3 * value))
        analytic = float(getattr(grads, name))
        assert abs(analytic - numeric) <= 1e-5 * max(abs(numeric), 1e-2), (name, analytic, numeric)
        assert abs(numeric) > 1e-3
    unit = jnp.zeros_like(q).at[2, 3].set(1.0)
    numeric = float(_fourth_order_difference(lambda x: loss(layer, q + x * unit), 0.0, 1e-3))
    assert abs(float(grad_q[2, 3]) - numeric) <= 1e-5 * max(abs(numeric), 1e-2)


def test_the_core_never_imports_the_sweep_layer():
    """Imports run one way: config -> plan -> run -> store drives the core, never the reverse."""
    import subprocess
    import sys

    code = (
        "import sys, thermo_ode.integration, thermo_ode.simulation, thermo_ode.observables, thermo_ode.attention, "
        "thermo_ode.fitting; print(sorted(m for m in sys.modules if m.startswith('thermo_ode.sweeps')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    code = "import sys, thermo_ode.sweeps; print('jax' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
