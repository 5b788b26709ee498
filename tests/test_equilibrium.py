"""Equilibrium and thermodynamics (docs/physics.md, section 6)."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import thermo_ode as to


def test_equilibrium_is_scaled_dot_product_softmax_with_masks():
    rng = np.random.default_rng(0)
    d = 32
    q = rng.normal(size=(2, 3, 7, d))  # (batch, heads, n_q, d)
    k = rng.normal(size=(2, 3, 7, d))
    mask = to.causal_mask(7)
    system = to.AttentionSystem.from_qk(q, k, mask=mask)
    assert system.batch_shape == (2, 3, 7) and system.num_tokens == 7
    scores = jnp.einsum("...qd,...kd->...qk", q, k) / np.sqrt(d)
    expected = jax.nn.softmax(jnp.where(mask, scores, -jnp.inf), axis=-1)
    got = to.equilibrium(system)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert np.all(np.asarray(got)[..., ~mask] == 0)


def test_explicit_temperature_overrides_sqrt_d():
    rng = np.random.default_rng(1)
    q, k = rng.normal(size=(4, 8)), rng.normal(size=(5, 8))
    system = to.AttentionSystem.from_qk(q, k, temperature=0.7)
    np.testing.assert_allclose(to.equilibrium(system), jax.nn.softmax(q @ k.T / 0.7, axis=-1), atol=1e-12)
    assert np.allclose(to.AttentionSystem.from_qk(q, k).temperature, np.sqrt(8))


def test_thermodynamic_identities():
    rng = np.random.default_rng(2)
    mask = rng.uniform(size=(5, 9)) < 0.8
    mask[:, 0] = True
    system = to.AttentionSystem(rng.normal(size=(5, 9)) * 3, rng.uniform(0.3, 3, size=5), mask=mask)
    rho = to.equilibrium(system)
    T = system.temperature
    # F* = -T ln Z = U - T S, evaluated independently.
    np.testing.assert_allclose(to.free_energy(rho, system), -T * to.log_partition(system), atol=1e-12)
    np.testing.assert_allclose(
        to.internal_energy(rho, system) - T * to.entropy(rho, system.mask),
        to.equilibrium_free_energy(system),
        atol=1e-12,
    )
    np.testing.assert_allclose(to.partition_function(system), np.exp(to.log_partition(system)), rtol=1e-12)


def test_heat_capacity_is_dU_dT():
    rng = np.random.default_rng(3)
    energies = rng.normal(size=10)

    def u_star(T):
        s = to.AttentionSystem(energies, T)
        return to.internal_energy(to.equilibrium(s), s)

    for T in (0.2, 1.0, 5.0):
        dudt = jax.grad(u_star)(jnp.asarray(T))
        np.testing.assert_allclose(to.heat_capacity(to.AttentionSystem(energies, T)), dudt, rtol=1e-10)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 8),
    seed=st.integers(0, 2**31 - 1),
    temperature=st.floats(0.05, 20.0),
)
def test_softmax_minimises_free_energy(n, seed, temperature):
    """Gibbs inequality: F(rho) - F* = T KL(rho || rho*) >= 0 for every rho on the simplex."""
    rng = np.random.default_rng(seed)
    system = to.AttentionSystem(rng.normal(size=n) * 2, temperature)
    rho = rng.dirichlet(np.ones(n))
    gap = to.free_energy(rho, system) - to.equilibrium_free_energy(system)
    kl = to.kl_divergence(rho, to.equilibrium(system))
    assert gap >= -1e-12
    np.testing.assert_allclose(gap, temperature * kl, rtol=1e-8, atol=1e-12)


def test_extreme_logits_stay_finite_and_correct():
    """|E/T| up to 1e3: no overflow, and the equilibrium puts all weight on the lowest energy."""
    energies = np.array([[0.0, 1000.0, -1000.0, 3.0], [-1000.0, -1000.0, 1000.0, 1000.0]])
    system = to.AttentionSystem(energies, 1.0)
    rho = np.asarray(to.equilibrium(system))
    np.testing.assert_allclose(rho, [[0, 0, 1, 0], [0.5, 0.5, 0, 0]], atol=1e-300)
    np.testing.assert_allclose(to.log_partition(system), [1000.0, 1000.0 + np.log(2)], rtol=1e-15)
    for f in (to.heat_capacity, to.equilibrium_free_energy):
        assert np.all(np.isfinite(f(system)))
    assert np.all(np.isfinite(to.free_energy(rho, system)))


def test_masked_energies_may_be_infinite():
    energies = np.array([1.0, np.inf, 0.5])
    system = to.AttentionSystem(energies, 1.0, mask=np.array([True, False, True]))
    np.testing.assert_allclose(
        to.equilibrium(system),
        [np.exp(-1) / (np.exp(-1) + np.exp(-0.5)), 0, np.exp(-0.5) / (np.exp(-1) + np.exp(-0.5))],
    )
