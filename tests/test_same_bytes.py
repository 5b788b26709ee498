"""A store's bytes depend on its config alone: the same sweep run on 1, 2 and 3 CPU devices,
with two pool sizes, and on a local Dask cluster gives identical stores, bit for bit
(docs/guarantees.md). Every per-system computation sums over tokens in one fixed order and is
compiled apart from the batch's layout (thermo_ode.summation, thermo_ode.stages)."""

import os
import sys
import textwrap

import pytest
from runs import assert_identical, cli, raw, write_config

# 24 points of several step counts (temperatures, masses, damping), in chunks of 12: each
# device count and pool size lays a chunk's systems out differently.
SWEEP = """\
name: layouts
system:
  tokens: 7
  energies: {kind: random_qk, d_k: 16, seed: 3}
sweep:
  temperature: [0.5, 2.0]
  mass: {logspace: [-1, 1, 4]}
  damping_ratio: [0.3, 0.9, 2.0]
integrate: {t1: {relaxation_times: 12}, saves: 9, chunk_size: 12}
"""
THREE_DEVICES = {"XLA_FLAGS": "--xla_force_host_platform_device_count=3"}

# A run in a new process whose pools hold every system of a device's share at once (the
# default is about sqrt(2 x share) slots on a CPU).
WHOLE_POOL = textwrap.dedent("""\
    import sys
    import thermo_ode as to
    to.use_all_cores()
    to.use_exact_cpu_code()
    import jax
    jax.config.update("jax_enable_x64", True)
    from thermo_ode import rules, sweeps
    rules.POOL_SCALE[True] = 10**6
    sweeps.run(sweeps.load(sys.argv[1]), sys.argv[2], devices=int(sys.argv[3]))
""")


@pytest.fixture(scope="module")
def stores(tmp_path_factory, cache_dir):
    folder = tmp_path_factory.mktemp("layouts")
    config = str(write_config(folder / "layouts.yaml", SWEEP))
    made = {}
    for devices in (1, 2, 3):
        out = folder / f"devices-{devices}"
        result = cli(
            "run", config, "--out", str(out), "--devices", str(devices), cache_dir=cache_dir, env=THREE_DEVICES
        )
        assert result.returncode == 0, result.stdout + result.stderr
        made[f"{devices} devices"] = out
    return config, folder, made


def test_the_device_count_changes_no_bit(stores):
    _, _, made = stores
    reference = raw(made["1 devices"])
    for name in ("2 devices", "3 devices"):
        assert_identical(raw(made[name]), reference)


def test_the_pool_size_changes_no_bit(stores):
    import subprocess

    config, folder, made = stores
    for devices in (1, 3):
        out = folder / f"whole-pool-{devices}"
        env = dict(os.environ, **THREE_DEVICES)
        result = subprocess.run(
            [sys.executable, "-c", WHOLE_POOL, config, str(out), str(devices)], capture_output=True, text=True, env=env
        )
        assert result.returncode == 0, result.stderr
        assert_identical(raw(out), raw(made["1 devices"]))


def test_a_local_dask_cluster_changes_no_bit(stores, cache_dir):
    pytest.importorskip("distributed", reason="the Dask engine needs the [dask] extra")
    config, folder, made = stores
    out = folder / "dask"
    result = cli("run", config, "--out", str(out), "--workers", "2", cache_dir=cache_dir, env=THREE_DEVICES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dask: 2 workers" in result.stdout
    assert_identical(raw(out), raw(made["1 devices"]))


EXACT_CODE = textwrap.dedent("""\
    import json, os, warnings
    import thermo_ode as to
    first = to.use_exact_cpu_code()
    flags = os.environ.get("XLA_FLAGS", "")
    import jax.numpy as jnp
    jnp.zeros(1)  # JAX has started
    os.environ["XLA_FLAGS"] = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        late = to.use_exact_cpu_code()
    os.environ["XLA_FLAGS"] = "--xla_cpu_max_isa=AVX2"
    kept = to.use_exact_cpu_code()
    print(json.dumps(dict(first=first, flags=flags, late=late, warned=[str(w.message) for w in caught],
                          kept=kept, after=os.environ["XLA_FLAGS"])))
""")


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "amd64"), reason="AVX without FMA is an x86-64 choice")
def test_exact_cpu_code_is_asked_for_before_jax_starts_and_never_over_the_users_choice():
    import json
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    result = subprocess.run([sys.executable, "-c", EXACT_CODE], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["first"] and seen["flags"].split() == ["--xla_cpu_max_isa=AVX"]
    assert not seen["late"] and "already started" in seen["warned"][0]
    assert not seen["kept"] and seen["after"] == "--xla_cpu_max_isa=AVX2"  # the user's ISA, not ours
