"""Batches are one compiled computation and equal the per-system results."""

import functools

import numpy as np
import pytest
from helpers import count_traces

import thermo_ode as to
from thermo_ode import refill, simulation


def _traces():
    """Programs traced by simulate so far, by either engine."""
    return count_traces(simulation, "_solve_group")() + count_traces(refill, "solve_refill")()


def test_batched_call_equals_per_system_calls():
    rng = np.random.default_rng(8)
    T = np.array([[0.5, 1.0], [2.0, 4.0], [1.0, 1.0]])
    system = to.AttentionSystem(rng.normal(size=(3, 2, 5)), T, rng.uniform(0.1, 5, size=(3, 2)), 0.7)
    rho0 = rng.dirichlet(np.ones(5), size=(3, 2))
    batched = to.simulate(system, rho0, 12.0, saves=25, rtol=1e-10, atol=1e-12)
    assert batched.rho.shape == (3, 2, 25, 5) and batched.status.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            single = to.simulate(system[i, j], rho0[i, j], 12.0, saves=25, rtol=1e-10, atol=1e-12)
            assert single.rho.shape == (25, 5)
            # Same steps; vectorised arithmetic rounds differently (by the width of the batch),
            # and over hundreds of steps that grows to ~1e-11 at rtol 1e-10.
            assert batched.num_steps[i, j] == single.num_steps
            np.testing.assert_allclose(batched.rho[i, j], single.rho, rtol=0, atol=1e-10)
            np.testing.assert_allclose(batched.hamiltonian[i, j], single.hamiltonian, rtol=1e-11)


def test_one_compile_for_a_whole_batch():
    """64 systems with different T, m, gamma and starts: one trace; new values reuse it."""

    def batch(seed):
        r = np.random.default_rng(seed)
        return (
            to.AttentionSystem(
                r.normal(size=(64, 9)), r.uniform(0.25, 4, 64), r.uniform(0.1, 10, 64), r.uniform(0.1, 5, 64)
            ),
            r.dirichlet(np.ones(9), size=64),
        )

    before = _traces()
    system, rho0 = batch(0)
    first = to.simulate(system, rho0, 5.0, saves=11)
    assert _traces() == before + 1
    system, rho0 = batch(1)
    to.simulate(system, rho0, 7.0, saves=11)
    assert _traces() == before + 1
    assert np.all(first.succeeded)


def test_one_failing_system_keeps_the_others():
    """A system that runs out of steps reports its status; the rest are still correct."""
    rng = np.random.default_rng(10)
    system = to.AttentionSystem(rng.normal(size=(3, 4)), 1.0, 1.0, 1.0)
    # The middle system must integrate 1000x longer: with max_steps it cannot finish.
    t1 = np.array([10.0, 1e4, 10.0])
    traj = to.simulate(system, np.full(4, 0.25), t1, saves=5, max_steps=400, rtol=1e-10, atol=1e-12)
    assert list(np.asarray(traj.status) != 0) == [False, True, False]
    assert "max_steps" in traj.message(1)
    reference = to.simulate(system[0], np.full(4, 0.25), 10.0, saves=5, max_steps=400, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(traj.rho[0], reference.rho, atol=1e-11)


def test_grouping_by_cost_keeps_the_callers_order():
    """Systems are solved in cost-sorted groups; results come back in the caller's order, each
    with its own times, and equal the ungrouped solve to the tolerance."""
    rng = np.random.default_rng(11)
    T = rng.uniform(0.3, 5, 24)
    system = to.AttentionSystem(rng.normal(size=(24, 7)) * 2, T, rng.uniform(0.1, 5, 24), 1.0)
    t1 = rng.uniform(5, 20, 24)
    one = to.simulate(system, np.full(7, 1 / 7), t1, saves=9, engine="vmap", groups=1, rtol=1e-10, atol=1e-12)
    five = to.simulate(system, np.full(7, 1 / 7), t1, saves=9, engine="vmap", groups=5, rtol=1e-10, atol=1e-12)
    traced = _traces()
    loose = to.simulate(system, np.full(7, 1 / 7), t1, saves=9, engine="vmap", groups=5, rtol=1e-5, atol=1e-7)
    assert _traces() == traced  # tolerances are inputs of the groups' program
    assert (np.asarray(loose.num_steps) < np.asarray(five.num_steps)).all()
    np.testing.assert_array_equal(five.ts, np.linspace(0, 1, 9) * t1[:, None])
    np.testing.assert_allclose(five.rho, one.rho, atol=1e-8)
    np.testing.assert_allclose(five.equilibrium, one.equilibrium, rtol=0, atol=0)
    with pytest.raises(ValueError, match="groups must be 'auto' or an int >= 1"):
        to.simulate(system, np.full(7, 1 / 7), 1.0, groups=0)


def _refill_workload(B=24, N=8):
    rng = np.random.default_rng(0)
    T = np.geomspace(0.5, 2, B)
    m = np.geomspace(0.1, 10, B)[rng.permutation(B)]
    gamma = 2 * np.linspace(0.3, 1.5, B) * np.sqrt(m * T)
    system = to.AttentionSystem(rng.normal(size=(B, N)) * T[:, None], T, m, gamma)
    t1 = 25 / np.minimum(gamma / (2 * m), np.sqrt(T / m))
    return system, np.full((B, N), 1 / N), t1


def test_refill_engine_takes_each_systems_own_steps_whatever_the_pool():
    """The refill engine (the default for adaptive solves) against the vmapped path with the
    same solver: the same step counts and states (to rounding) for pools smaller than and
    larger than the batch of 24 (a larger pool is cut to the batch), and the default pool;
    failures keep their status while the others finish."""
    system, rho0, t1 = _refill_workload()
    reference = to.simulate(system, rho0, t1, saves=7, engine="vmap")
    for pool in (1, 5, 64, None):
        traj = to.simulate(system, rho0, t1, saves=7, pool=pool)
        np.testing.assert_array_equal(traj.num_steps, reference.num_steps)
        np.testing.assert_allclose(traj.rho, reference.rho, rtol=0, atol=1e-12)
        np.testing.assert_allclose(traj.ts, reference.ts, rtol=0, atol=0)
    traced = _traces()
    capped = to.simulate(system, rho0, t1, saves=7, engine="refill", pool=5, max_steps=150)
    loose = to.simulate(system, rho0, t1, saves=7, engine="refill", pool=5, rtol=1e-5, atol=1e-7)
    assert _traces() == traced  # max_steps and tolerances are inputs of the pool's program
    assert (np.asarray(loose.num_steps) < np.asarray(reference.num_steps)).all()
    failed = np.asarray(reference.num_steps) > 150
    assert failed.any() and not failed.all()
    assert (np.asarray(capped.status)[failed] == to.trajectory.STATUS_NAMES.index("max_steps_reached")).all()
    np.testing.assert_allclose(np.asarray(capped.rho)[~failed], np.asarray(reference.rho)[~failed], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="engine must be one of"):
        to.simulate(system, rho0, t1, engine="lockstep")
    with pytest.raises(ValueError, match="pool must be an int >= 1"):
        to.simulate(system, rho0, t1, pool=0)
    with pytest.raises(ValueError, match="engine='refill' runs explicit adaptive solves"):
        to.simulate(system, rho0, t1, engine="refill", dt=0.1, solver="rattle")


DEVICES_SCRIPT = """
import json, sys
import jax
jax.config.update("jax_enable_x64", True)
import thermo_ode as to
assert to.use_all_cores(3) == 3 and jax.local_device_count() == 3
sys.path.insert(0, sys.argv[1])
from test_batching import _refill_workload
import numpy as np
system, rho0, t1 = _refill_workload(B=23)
out = {}
for engine in ("refill", "vmap"):
    for devices in (1, 3):
        traj = to.simulate(system, rho0, t1, saves=7, engine=engine, devices=devices, pool=4)
        out[f"{engine}{devices}"] = dict(steps=np.asarray(traj.num_steps).tolist(), rho=np.asarray(traj.rho).tolist())
print(json.dumps(out))
"""


def test_results_do_not_depend_on_the_device_count():
    """On 1 and 3 CPU devices (a batch of 23, so padded), both engines: every system takes the
    same steps and ends in the same states to rounding."""
    import json
    import pathlib
    import subprocess
    import sys

    tests = pathlib.Path(__file__).parent
    result = subprocess.run(
        [sys.executable, "-c", DEVICES_SCRIPT, str(tests)], capture_output=True, text=True, cwd=tests.parent
    )
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout.strip().splitlines()[-1])
    reference = runs.pop("vmap1")
    for name, run in runs.items():
        assert run["steps"] == reference["steps"], name
        np.testing.assert_allclose(run["rho"], reference["rho"], rtol=0, atol=1e-12, err_msg=name)


@functools.cache
def _temporaries(engine_name: str, B: int, pool: int = 8, N: int = 16) -> int:
    """XLA's temporary bytes (neither inputs nor outputs) of one engine's compiled program for
    B systems of N tokens, 2 saves."""
    import diffrax
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from thermo_ode import integration
    from thermo_ode.charts import resolve_chart
    from thermo_ode.options import Options
    from thermo_ode.solvers import resolve_solver
    from thermo_ode.stages import BATCHED

    rng = np.random.default_rng(0)
    system = to.AttentionSystem(jnp.asarray(rng.normal(size=(B, N))), jnp.ones(B), jnp.ones(B), jnp.ones(B))
    rho0 = jnp.full((B, N), 1 / N)
    t1 = jnp.full(B, 10.0)
    inputs = integration.Inputs(rho0, jnp.zeros_like(rho0), t1, jnp.stack([0 * t1, t1], -1))
    opts = Options(
        chart=resolve_chart("sphere"),
        solver=resolve_solver("fused_tsit5"),
        controller=diffrax.PIDController(rtol=1e-8, atol=1e-10),
        second_order=True,
        time="natural",
        max_steps=1000,
    )
    args = (system, inputs)
    if engine_name == "refill":
        set_up = eqx.filter_vmap(integration.set_up, in_axes=(BATCHED, BATCHED, None))
        program = lambda s, i: refill._loop(set_up(s, i, opts), opts, pool)
    else:
        program = jax.vmap(lambda s, i: integration.integrate(s, i, opts))
    return jax.jit(program).lower(*args).compile().memory_analysis().temp_size_in_bytes


def test_refill_memory_is_bounded_by_the_pool():
    """The refill engine's solver state lives in the pool: its temporaries grow with the pool,
    and with the batch only by copies of the per-system inputs, first states and saves (N = 16
    tokens, 2 saves: about 1.5 kB per system when written, 3.9 kB per slot), a fraction of
    the vmapped engine's (5.2 kB at B = 1024), which holds every system's stages and solver state at once."""
    small, large = 1024, 8192
    per_system = (_temporaries("refill", large) - _temporaries("refill", small)) / (large - small)
    per_system_vmap = _temporaries("vmap", small) / small  # nearly all of it scales with the batch
    per_slot = (_temporaries("refill", small, pool=512) - _temporaries("refill", small, pool=8)) / (512 - 8)
    print(f"bytes per system: refill {per_system:.0f}, vmap {per_system_vmap:.0f}; per slot {per_slot:.0f}")
    assert per_slot > 0  # the pool holds the solver state
    assert per_system < 0.5 * per_system_vmap
    assert per_system <= 16 * 16 * 8  # 16 numbers a token: a few copies of inputs and saves, no stages


def test_the_default_groups_and_pool_follow_the_backend(monkeypatch):
    """On a CPU, one cost group per 32 systems (at most 32) and pools of about sqrt(2 x share);
    on an accelerator, one group and pools of about sqrt(1024 x share) (thermo_ode.rules); at
    least two systems side by side either way."""
    import jax

    from thermo_ode import batching

    assert [batching.group_count("auto", n) for n in (1, 64, 10**5)] == [1, 2, 32]
    assert [batching.pool_size(None, n) for n in (1, 2, 2048)] == [2, 2, 64]
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert [batching.group_count("auto", n) for n in (1, 64, 10**5)] == [1, 1, 1]
    assert batching.pool_size(None, 10**5) == round((1024 * 10**5) ** 0.5)
    assert batching.group_count(5, 64) == 5  # the caller's choice stands
    # Queues and groups give each device at least two rows, padding with repeats.
    assert batching.refill_queues(np.ones(3), devices=2).shape == (2, 2)
    assert batching.cost_groups(np.ones(1), 1, devices=2).shape == (1, 4)
