"""Langevin dynamics at bath temperature T_b (docs/physics.md, section 13).

Statistical tests use fixed keys, so they are deterministic; each states its tolerance and the
samples it rests on. The stationary-density tests also show they can fail: the same samples
reject the density without the sphere's `prod rho^(-1/2)` measure.
"""

import jax
import numpy as np
import pytest
from scipy import stats

import thermo_ode as to
from thermo_ode.observables import mode_amplitudes, time_averages

T = 1.0  # entropic temperature of the heads below


def free_energy(rho, energies):
    logs = np.log(np.where(rho > 0, rho, 1))
    return (rho * energies).sum(-1) + T * (rho * logs).sum(-1)


def thinned_samples(energies, mass, damping, dt, bath, key, batch=200, burn=20.0, spacing=10.0, per_system=20):
    """States of `batch` independent systems, one every `spacing` (>> the correlation time
    ~1/zeta of these systems) after `burn`: `batch * per_system` nearly independent draws."""
    n = len(energies)
    system = to.AttentionSystem(np.broadcast_to(energies, (batch, n)), T, mass, damping)
    ts = burn + spacing * np.arange(per_system)
    traj = to.simulate(
        system, np.full((batch, n), 1 / n), ts[-1], ts=ts, dt=dt, bath_temperature=bath, key=jax.random.key(key)
    )
    assert np.all(np.asarray(traj.status) == 0)
    return np.asarray(traj.rho).reshape(-1, n)


def test_equipartition():
    """<(m/2)|x_dot|^2> = (N - 1) T_b / 2 within 2%, for two masses and damping ratios.

    64 systems x 350 natural time units after a burn-in of 50 (velocity correlation time
    1/(2 zeta) <= 1): about 2e4 independent draws of K, whose relative spread is
    sqrt(2/(N-1)) = 0.53, so the standard error is ~0.4% and 2% is ~5 standard errors.
    """
    rng = np.random.default_rng(3)
    batch, n, bath = 64, 8, 0.7
    mass = np.repeat([0.5, 2.0], batch // 2)
    zeta = np.tile([0.5, 1.5], batch // 2)
    system = to.AttentionSystem(rng.normal(size=(batch, n)), T, mass, 2 * zeta * np.sqrt(mass * T))
    clock = np.sqrt(mass / T)  # one natural time unit, in physical time
    traj = to.simulate(
        system,
        np.full((batch, n), 1 / n),
        400 * clock,
        ts=np.linspace(0, 400, 4001) * clock[:, None],
        dt=0.05 * clock,
        bath_temperature=bath,
        key=jax.random.key(7),
    )
    averages = time_averages(traj, 50 * clock)
    per_system = np.asarray(averages.kinetic_energy)
    predicted = (n - 1) * bath / 2
    np.testing.assert_allclose(np.asarray(averages.equipartition), predicted)
    assert abs(per_system.mean() / predicted - 1) < 0.02
    for group in (mass == 0.5, mass == 2.0):  # no mass dependence
        assert abs(per_system[group].mean() / predicted - 1) < 0.03
    assert np.asarray(averages.samples).min() == 3501


N2_ENERGIES = np.array([0.0, 1.0])
N3_ENERGIES = np.array([0.0, 1.0, -0.5])
BATH = 0.5


def n2_cdf(weight):
    """CDF of rho_1 for N = 2 from a density `weight(rho)` per unit angle on the circle
    `x = 2 (cos a, sin a)`, `rho_1 = cos^2 a` (by symmetry a in [0, pi/2] suffices)."""
    a = np.linspace(0, np.pi / 2, 200_001)
    rho = np.stack([np.cos(a) ** 2, np.sin(a) ** 2], -1)
    w = weight(rho)
    cumulative = np.concatenate([[0], np.cumsum((w[1:] + w[:-1]) / 2 * np.diff(a))])
    cumulative /= cumulative[-1]
    # rho_1 decreases with a: P(rho_1 <= r) = P(a >= arccos sqrt r).
    return lambda r: 1 - np.interp(np.arccos(np.sqrt(np.clip(r, 0, 1))), a, cumulative)


@pytest.mark.parametrize("mass, dt", [(1.0, 0.05), (0.0, 0.02)], ids=["gbaoab-m1", "euler-m0"])
def test_stationary_density_n2(mass, dt):
    """KS test of 4000 thinned samples of rho_1 against prod rho^(-1/2) exp(-F/T_b) at level
    0.01; the flat-measure density exp(-F/T_b) must be rejected (p < 1e-10) by the same data."""
    samples = thinned_samples(N2_ENERGIES, mass, 1.0, dt, BATH, key=0)[:, 0]
    boltzmann = lambda rho: np.exp(-free_energy(rho, N2_ENERGIES) / BATH)
    # Uniform measure on the circle: density per unit angle is the Boltzmann factor itself.
    sphere = n2_cdf(boltzmann)
    # Flat measure d rho_1 = 2 sqrt(rho_1 rho_2) da: what forgetting the metric would predict.
    flat = n2_cdf(lambda rho: boltzmann(rho) * 2 * np.sqrt(rho.prod(-1)))
    assert stats.kstest(samples, sphere).pvalue > 0.01
    assert stats.kstest(samples, flat).pvalue < 1e-10


def n3_bin_probabilities(weight, edges):
    """Probabilities of (rho_1, rho_2) bins under `weight(rho)` per unit area of the sphere,
    by the midpoint rule on the octant `x = 2 (sin t cos p, sin t sin p, cos t)`."""
    m = 1500
    t = (np.arange(m) + 0.5) * (np.pi / 2) / m
    tt, pp = np.meshgrid(t, t, indexing="ij")
    rho = np.stack([(np.sin(tt) * np.cos(pp)) ** 2, (np.sin(tt) * np.sin(pp)) ** 2, np.cos(tt) ** 2], -1)
    p = np.bincount(
        n3_bins(rho, edges).ravel(), weights=(weight(rho) * np.sin(tt)).ravel(), minlength=(len(edges) - 1) ** 2
    )
    return p / p.sum()


def n3_bins(rho, edges):
    k = len(edges) - 1
    index = lambda r: np.minimum(np.searchsorted(edges, r, side="right") - 1, k - 1)
    return index(rho[..., 0]) * k + index(rho[..., 1])


def chi_square_pvalue(samples, probabilities, edges):
    observed = np.bincount(n3_bins(samples, edges), minlength=len(probabilities))
    expected = probabilities * observed.sum()
    keep = expected >= 5  # the rest (the empty half of the square, thin corners) pooled
    assert keep.sum() >= 15
    o, e = observed[keep], expected[keep]
    if expected[~keep].sum() > 0:
        o, e = np.append(o, observed[~keep].sum()), np.append(e, expected[~keep].sum())
    return stats.chisquare(o, e * o.sum() / e.sum()).pvalue


@pytest.mark.parametrize("mass, dt", [(1.0, 0.05), (0.0, 0.02)], ids=["gbaoab-m1", "euler-m0"])
def test_stationary_density_n3(mass, dt):
    """Chi-square over a 6 x 6 histogram of (rho_1, rho_2) (21 occupied bins) of 4000 thinned
    samples, at level 0.01; the flat-measure density must be rejected (p < 1e-10)."""
    samples = thinned_samples(N3_ENERGIES, mass, 1.0, dt, BATH, key=1)
    edges = np.linspace(0, 1, 7)
    boltzmann = lambda rho: np.exp(-free_energy(rho, N3_ENERGIES) / BATH)
    assert chi_square_pvalue(samples, n3_bin_probabilities(boltzmann, edges), edges) > 0.01
    flat = lambda rho: boltzmann(rho) * np.sqrt(rho.prod(-1))
    assert chi_square_pvalue(samples, n3_bin_probabilities(flat, edges), edges) < 1e-10


def test_small_bath_temperature_modes_and_mean():
    """At T_b/T = 1e-3 each of the N - 1 mode amplitudes has variance T_b/T within 5%
    (32 systems x 900 saves one time unit apart, ~1.5e4 effective samples: standard error of a
    variance ~1.2%). The mean of rho tends to softmax as T_b -> 0: its Fisher–Rao offset falls
    with T_b (the bias is O(T_b); at 1e-3 it is below the sampling error of the mean, ~5e-4)
    and stays far inside the spread of single samples."""
    rng = np.random.default_rng(0)
    n, batch = 4, 32
    energies = np.broadcast_to(rng.normal(size=n), (batch, n))
    system = to.AttentionSystem(energies, T, 1.0, 2.0)  # zeta = 1
    star = np.asarray(to.equilibrium(system))[0]
    offsets = {}
    for bath in (1e-1, 1e-2, 1e-3):
        traj = to.simulate(
            system, np.full((batch, n), 1 / n), 1000.0, saves=1001, dt=0.1, bath_temperature=bath, key=jax.random.key(2)
        )
        amplitudes = np.asarray(mode_amplitudes(traj.rho[:, 100:], traj.equilibrium[:, None]))
        mean_rho = np.asarray(time_averages(traj, 100.0).rho).mean(0)
        offsets[bath] = float(to.fisher_rao_distance(mean_rho, star))
        if bath == 1e-3:
            np.testing.assert_allclose(amplitudes.reshape(-1, n - 1).var(0) / (bath / T), 1.0, atol=0.05)
            spread = float(np.sqrt(np.mean(np.asarray(to.fisher_rao_distance(traj.rho[:, 100:], star)) ** 2)))
            assert offsets[bath] < 0.05 * spread
    assert offsets[1e-1] > offsets[1e-2] > offsets[1e-3]
    assert 5 < offsets[1e-1] / offsets[1e-2] < 20  # bias ~ T_b while it exceeds the sampling error


def test_mode_amplitudes_are_orthonormal_coordinates():
    """The mode coordinates are an isometry of the rho*-weighted norm on sum(rho* eps) = 0."""
    rng = np.random.default_rng(5)
    star = rng.dirichlet(np.ones(6))
    eps = rng.normal(size=(10, 6))
    eps -= (eps @ star)[:, None]
    a = np.asarray(mode_amplitudes(star * (1 + eps), star))
    np.testing.assert_allclose((a**2).sum(-1), (star * eps**2).sum(-1), rtol=1e-12)
    assert a.shape == (10, 5)


SYSTEM = to.AttentionSystem(np.array([[0.3, -0.5, 1.0, 0.1]] * 2), T, 1.0, 1.0)
START = np.full((2, 4), 0.25)


def run(**kwargs):
    args = dict(saves=11, dt=0.05)
    args.update(kwargs)
    return to.simulate(SYSTEM, START, 5.0, **args)


def test_same_key_same_run_different_keys_differ():
    a = run(bath_temperature=0.5, key=jax.random.key(11))
    b = run(bath_temperature=0.5, key=jax.random.key(11))
    c = run(bath_temperature=0.5, key=jax.random.key(12))
    assert np.array_equal(np.asarray(a.rho), np.asarray(b.rho))
    assert not np.allclose(np.asarray(a.rho[:, -1]), np.asarray(c.rho[:, -1]))
    # Two identical systems in one batch get independent noise.
    assert not np.allclose(np.asarray(a.rho[0, -1]), np.asarray(a.rho[1, -1]))
    # An array of keys with the batch shape gives each system its own key.
    keys = jax.random.split(jax.random.key(11), 2)
    d = run(bath_temperature=0.5, key=keys)
    e = run(bath_temperature=0.5, key=keys[::-1])
    assert np.array_equal(np.asarray(d.rho[0]), np.asarray(e.rho[1]))


def test_legacy_uint32_keys_are_the_typed_keys_they_wrap():
    """`jax.random.PRNGKey(0)` (what diffrax's and jax's docs use) works, one or one per system,
    and gives exactly the noise of `jax.random.wrap_key_data` of it."""
    legacy = jax.random.PRNGKey(7)
    typed = run(bath_temperature=0.5, key=jax.random.wrap_key_data(legacy))
    assert np.array_equal(np.asarray(run(bath_temperature=0.5, key=legacy).rho), np.asarray(typed.rho))
    per_system = jax.random.split(jax.random.PRNGKey(7), 2)  # legacy: shape (2, 2) uint32
    a = run(bath_temperature=0.5, key=per_system)
    b = run(bath_temperature=0.5, key=jax.random.wrap_key_data(per_system))
    assert np.array_equal(np.asarray(a.rho), np.asarray(b.rho))
    with pytest.raises(TypeError, match="legacy jax.random.PRNGKey"):
        run(bath_temperature=0.5, key=np.zeros(3, np.uint32))


def test_zero_bath_temperature_is_the_deterministic_system_bit_for_bit():
    deterministic = to.simulate(SYSTEM, START, 5.0, saves=11)
    zero = to.simulate(SYSTEM, START, 5.0, saves=11, bath_temperature=0.0, key=jax.random.key(0))
    assert np.array_equal(np.asarray(deterministic.rho), np.asarray(zero.rho))
    assert np.array_equal(np.asarray(deterministic.num_steps), np.asarray(zero.num_steps))
    # With the Langevin integrator itself: a system at T_b = 0 in a noisy batch is untouched.
    plain = run(solver="gbaoab")
    mixed = run(bath_temperature=np.array([0.0, 0.5]), key=jax.random.key(0))
    assert np.array_equal(np.asarray(plain.rho[0]), np.asarray(mixed.rho[0]))
    assert not np.allclose(np.asarray(plain.rho[1]), np.asarray(mixed.rho[1]))
