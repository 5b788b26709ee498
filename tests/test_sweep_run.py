"""The main job: `thermo-ode run` over a config, its store, resume, devices and hosts."""

import json
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import xarray as xr
from runs import assert_identical, cli, raw, reader_cli, run_once, summary_counts, write_config

from thermo_ode import sweeps
from thermo_ode.sweeps import plan as planning
from thermo_ode.sweeps import store
from thermo_ode.sweeps.chunk import relaxation_time, time_to_tolerance
from thermo_ode.sweeps.store import open_results, store_path

SMALL = """\
name: small
system:
  tokens: 6
  energies: {kind: random_qk, d_k: 16, seed: 0}
  damping_ratio: 0.7
sweep:
  temperature: [1.0, 4.0]
  mass: {logspace: [-1, 1, 6]}
integrate: {t1: {relaxation_times: 25}, saves: 31, chunk_size: 2}
"""


@pytest.fixture(scope="module")
def small_run(once):
    """`(config, out, result, cache)`: SMALL run once, with a compilation cache of its own,
    empty before it. Runs of SMALL's shapes use that cache: they load what this run compiled."""
    folder, result = run_once(
        once,
        "small-run",
        "run",
        "{folder}/c.yaml",
        "--out",
        "{folder}/out",
        cache_dir="{folder}/cache",
        files={"c.yaml": SMALL},
    )
    assert result.returncode == 0, result.stderr
    return str(folder / "c.yaml"), folder / "out", result, str(folder / "cache")


def test_default_run(default_run):
    out, result = default_run
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary_counts(result.stdout) == dict(points=48, converged=48, not_converged=0, failed=0)
    assert (out / "results.nc").exists()


def test_store_variables_dimensions_and_provenance(default_run):
    out, _ = default_run
    ds = open_results(out)
    assert dict(ds.sizes) == {
        "save": 121,
        "temperature": 4,
        "mass": 3,
        "seed": 4,
        "query": 1,
        "token": 16,
        "parameter": 7,
    }
    for name in (
        "rho",
        "rho_dot",
        "distance",
        "equilibrium",
        "hamiltonian",
        "converged",
        "time_to_tolerance",
        "relaxation_time",
        "predicted_relaxation_time",
        "status",
        "t",
        "mean_kinetic_energy",
        "mean_distance",
        "mean_rho",
        "rho_fluctuation",
    ):
        assert name in ds, name
    assert ds["rho"].dims == ("save", "temperature", "mass", "seed", "query", "token")
    assert ds["distance"].dims == ("save", "temperature", "mass", "seed", "query")
    np.testing.assert_allclose(ds["temperature"], np.logspace(0, 1, 4))
    versions = json.loads(ds.attrs["versions"])
    assert {"thermo-ode", "jax", "diffrax", "equinox", "xarray", "zarr"} <= set(versions)
    from thermo_ode.devices import available_cores

    assert ds.attrs["backend"] == "cpu" and ds.attrs["device_count"] == available_cores()  # the CLI uses every core
    assert "name: default" in ds.attrs["config_text"]
    assert json.loads(ds.attrs["config_resolved"])["sweep"][-1] == ["seed", {"range": [0, 4]}]  # in order, as written
    nc = xr.open_dataset(out / "results.nc", engine="h5netcdf")
    np.testing.assert_array_equal(nc["rho"].values, ds["rho"].values)
    assert "t" in nc.coords and nc["t"].dims == ds["t"].dims
    np.testing.assert_array_equal(nc["t"].values, ds["t"].values)


def test_stored_physics(default_run):
    """Equilibria equal softmax(q.k/T) of the seeded heads, recomputed here; every point ends
    there; the predicted relaxation time is the linear theory's gamma/(2m) = zeta sqrt(T/m)."""
    out, _ = default_run
    ds = open_results(out)
    for seed in range(4):
        rng = np.random.default_rng(seed)
        q, k = rng.normal(size=(1, 64)), rng.normal(size=(16, 64))
        for T in ds["temperature"].values:
            logits = (q @ k.T)[0] / T
            expected = np.exp(logits - logits.max())
            expected /= expected.sum()
            got = ds["equilibrium"].sel(temperature=T, seed=seed).values[:, 0]
            np.testing.assert_allclose(got, np.broadcast_to(expected, got.shape), atol=1e-12)
    assert bool(ds["converged"].all())
    np.testing.assert_allclose(ds["rho"].isel(save=-1), ds["equilibrium"], atol=1e-6)
    T, m = np.meshgrid(ds["temperature"], ds["mass"], indexing="ij")
    np.testing.assert_allclose(ds["predicted_relaxation_time"].isel(seed=0), 1 / (0.5 * np.sqrt(T / m)), rtol=1e-12)
    to_tolerance = ds["time_to_tolerance"].values
    assert np.all((to_tolerance > 0) & (to_tolerance <= ds["t"].isel(save=-1).values[..., None]))
    # The measured relaxation time (1/rate of the distance's decay) is the prediction.
    predicted = ds["predicted_relaxation_time"].broadcast_like(ds["relaxation_time"])
    np.testing.assert_allclose(ds["relaxation_time"], predicted, rtol=0.05)


def test_results_are_indexed_by_save_with_physical_times_t(tmp_path):
    """`save` counts the saved states; `t` (a coordinate) holds their physical times, from 0 to
    each point's t1, so plotting against `t` plots against time (the README's example)."""
    import matplotlib.pyplot as plt

    loaded = sweeps.parse(
        textwrap.dedent(SMALL)
        .replace("{logspace: [-1, 1, 6]}", "[0.1, 1.0]\n  seed: {range: [0, 2]}")
        .replace("saves: 31", "saves: 21")
    )
    sweeps.run(loaded, tmp_path / "out")
    ds = open_results(tmp_path / "out")
    assert "time" not in ds.dims and ds.sizes["save"] == 21 and "t" in ds.coords
    assert ds["t"].dims == ("save", "temperature", "mass", "seed")
    np.testing.assert_array_equal(ds["t"].isel(save=0), 0.0)
    np.testing.assert_allclose(ds["t"].isel(save=-1), ds["parameters"].sel(parameter="t1"), rtol=1e-12)
    assert np.all(np.diff(ds["t"].values, axis=0) > 0)
    flat = open_results(tmp_path / "out", grid=False)
    assert "t" in flat.coords and flat["t"].dims == ("point", "save") and "time" not in flat.dims

    lines = ds.distance.sel(mass=1.0).isel(seed=0, query=0).plot.line(x="t", yscale="log")
    assert len(lines) == ds.sizes["temperature"]  # one line per remaining axis value
    for line, temperature in zip(lines, ds["temperature"].values):
        point = ds.sel(mass=1.0, temperature=temperature).isel(seed=0, query=0)
        np.testing.assert_array_equal(line.get_xdata(), point["t"].values)
        np.testing.assert_array_equal(line.get_ydata(), point["distance"].values)
    plt.close("all")


def test_time_to_tolerance_definition():
    t = np.arange(6.0)
    d = np.array([[1, 1e-7, 1e-5, 1e-7, 1e-8, 1e-9], [1, 1, 1, 1, 1, 1e-7], [1, 1, 1, 1, 1, 1], [1e-9] * 6])
    np.testing.assert_array_equal(time_to_tolerance(np.broadcast_to(t, d.shape), d, 1e-6), [3, 5, np.nan, 0])


def test_measured_relaxation_time_is_one_over_the_decay_rate():
    """Exact exponentials give 1/rate to rounding; an underdamped |cos| decay (touching 0 every
    half period) gives its envelope's 1/rate; too few saves above the floor, or no decay, NaN."""
    t = np.linspace(0.0, 30.0, 301)
    tau = 2.0
    pure = 0.3 * np.exp(-t / tau)
    ringing = np.exp(-t / tau) * np.abs(np.cos(5.0 * t + 0.4))
    got = relaxation_time(np.broadcast_to(t, (2, t.size)), np.stack([pure, ringing]), floor=1e-6)
    np.testing.assert_allclose(got[0], tau, rtol=1e-12)
    np.testing.assert_allclose(got[1], tau, rtol=0.02)
    # Only two saves between 10% of the start and the floor; a distance that grows.
    few = relaxation_time(t[:4], np.array([1.0, 0.05, 0.01, 1e-9]), floor=1e-6)
    growing = relaxation_time(t, np.exp(t / 50), floor=1e-6)
    assert np.isnan(few) and np.isnan(growing)


def test_resume_after_sigkill_gives_identical_results(tmp_path, cache_dir):
    config = write_config(
        tmp_path / "c.yaml",
        SMALL.replace("{logspace: [-1, 1, 6]}", "{logspace: [-1, 1, 24]}").replace(
            "saves: 31", "saves: 201, rtol: 1.0e-11, atol: 1.0e-13"
        ),
    )
    reference = tmp_path / "reference"
    assert cli("run", config, "--out", str(reference), cache_dir=cache_dir).returncode == 0
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "thermo_ode.cli", "run", config, "--out", str(killed), "--cache-dir", cache_dir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    done = 0
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        try:
            import zarr

            done = int(np.asarray(zarr.open_group(store_path(killed), mode="r")["chunk_checksum"][:] != "").sum())
        except Exception:
            done = 0
        if done >= 2:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    import zarr

    flags = np.asarray(zarr.open_group(store_path(killed), mode="r")["chunk_checksum"][:] != "")
    assert 2 <= flags.sum() < flags.size  # interrupted mid-run
    shown = reader_cli("show", str(killed))
    assert shown.returncode == 0 and "interrupted or in progress" in shown.stdout
    resumed = cli("run", config, "--out", str(killed), cache_dir=cache_dir)
    assert resumed.returncode == 0, resumed.stderr
    assert_identical(raw(killed), raw(reference))


def test_different_config_refused_unless_no_resume(small_run, tmp_path):
    _, reference, _, cache = small_run
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    other = write_config(tmp_path / "d.yaml", SMALL.replace("damping_ratio: 0.7", "damping_ratio: 0.9"))
    refused = cli("run", other, "--out", str(out), cache_dir=cache)
    assert refused.returncode == 2 and "holds results of a different config" in refused.stderr
    assert cli("run", other, "--out", str(out), "--no-resume", cache_dir=cache).returncode == 0
    assert json.loads(open_results(out).attrs["config_resolved"])["system"]["damping_ratio"] == 0.9


def test_failed_points_are_recorded_and_the_run_goes_on(tmp_path, cache_dir):
    """Physical t1 = 60 at m = 1e-4 is 6000 natural time units: far past max_steps."""
    text = SMALL.replace("{relaxation_times: 25}", "60.0, max_steps: 2000").replace(
        "{logspace: [-1, 1, 6]}", "[1.0e-4, 1.0]"
    )
    config = write_config(tmp_path / "c.yaml", text)
    result = cli("run", config, "--out", str(tmp_path / "out"), cache_dir=cache_dir)
    assert result.returncode == 0, result.stderr
    ds = open_results(tmp_path / "out")
    status = ds["status"].values[..., 0]
    assert np.all(status[:, 0] != 0) and np.all(status[:, 1] == 0)  # (temperature, mass)
    assert not ds["converged"].values[:, 0].any() and ds["converged"].values[:, 1].all()
    assert summary_counts(result.stdout)["failed"] == 2


def test_sharded_run_equals_single_device(tmp_path, cache_dir):
    config = write_config(tmp_path / "c.yaml", SMALL.replace("chunk_size: 2", "chunk_size: 8"))
    single = cli("run", config, "--out", str(tmp_path / "one"), "--devices", "1", cache_dir=cache_dir)
    assert single.returncode == 0, single.stderr
    four = cli(
        "run",
        config,
        "--out",
        str(tmp_path / "four"),
        "--devices",
        "4",
        cache_dir=cache_dir,
        env={"XLA_FLAGS": "--xla_force_host_platform_device_count=4"},
    )
    assert four.returncode == 0, four.stderr
    a, b = raw(tmp_path / "one"), raw(tmp_path / "four")
    assert open_results(tmp_path / "four").attrs["device_count"] == 4
    # Same steps and statuses; vectorising 8 systems or 4 x 2 rounds differently (~1e-12).
    averages = ("mean_kinetic_energy", "mean_distance", "mean_rho", "rho_fluctuation")
    assert_identical(
        a,
        b,
        skip=(
            "rho",
            "rho_dot",
            "distance",
            "hamiltonian",
            "free_energy",
            "final_distance",
            "time_to_tolerance",
            "relaxation_time",
            "chunk_checksum",
        )
        + averages,
    )
    for name in ("rho", "rho_dot", "hamiltonian", "free_energy") + averages:
        np.testing.assert_allclose(a[name], b[name], rtol=0, atol=1e-10, err_msg=name)


def test_two_processes_share_one_store(small_run, tmp_path):
    """Hosts take disjoint chunk ranges of one store; the result equals a single run."""
    config, single, _, cache = small_run  # 12 points, 6 chunks
    shared = str(tmp_path / "shared")
    assert cli("run", config, "--out", shared, "--chunks", "0:0", cache_dir=cache).returncode == 0  # create
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "thermo_ode.cli",
                "run",
                config,
                "--out",
                shared,
                "--chunks",
                r,
                "--cache-dir",
                cache,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for r in ("0:3", "3:6")
    ]
    assert [p.wait() for p in procs] == [0, 0]
    final = cli("run", config, "--out", shared, cache_dir=cache)  # nothing left: summarise, export
    assert (
        final.returncode == 0
        and summary_counts(final.stdout)["converged"] == summary_counts(final.stdout)["points"] == 12
    )
    assert_identical(raw(shared), raw(single))


def test_second_process_skips_compilation(small_run, tmp_path):
    """The SMALL run compiled into an empty cache; a second process loads every program."""
    config, _, first, cache = small_run
    second = cli("run", config, "--out", str(tmp_path / "b"), cache_dir=cache)
    assert first.returncode == 0 and second.returncode == 0
    assert " 0 programs compiled" not in first.stdout
    assert " 0 programs compiled" in second.stdout and " 0 programs loaded" not in second.stdout


def test_one_compile_for_a_sweep(tmp_path):
    """In-process: six chunks, one trace of the solver program (the refill engine's)."""
    from helpers import count_traces

    from thermo_ode import refill as refill_engine
    from thermo_ode import simulation

    traces = lambda: (count_traces(refill_engine, "solve_refill")(), count_traces(simulation, "_solve_group")())
    loaded = sweeps.parse(textwrap.dedent(SMALL).replace("saves: 31", "saves: 17"))
    refill, vmap = traces()
    summary = sweeps.run(loaded, tmp_path / "out")
    assert summary.chunks_done == 6 and summary.converged == 12
    assert traces() == (refill + 1, vmap)


def test_float32_config_with_one_axis(tmp_path, cache_dir):
    text = """\
    name: f32
    precision: float32
    system:
      tokens: 8
      energies: {kind: gaussian, scale: 1.0, seed: 0}
      temperature: 1.0
    sweep:
      mass: [0.1, 1.0]
    integrate: {t1: {relaxation_times: 25}, saves: 11, rtol: 1.0e-5, atol: 1.0e-7}
    verify: {tolerance: 1.0e-5}
    """
    config = write_config(tmp_path / "c.yaml", text)
    result = cli("run", config, "--out", str(tmp_path / "out"), cache_dir=cache_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    ds = open_results(tmp_path / "out")
    assert ds.attrs["precision"] == "float32" and ds["distance"].dims == ("save", "mass", "query")
    assert bool(ds["converged"].all()) and float(ds["final_distance"].max()) < 1e-5


def test_config_without_sweep_and_with_fixed_energies(tmp_path):
    """No sweep: one point. List energies with two rows: one system per row."""

    loaded = sweeps.parse(
        textwrap.dedent("""\
    name: fixed
    system:
      tokens: 3
      energies: {kind: list, values: [[0.0, 1.0, 2.0], [2.0, 0.0, -1.0]]}
      temperature: 0.5
      damping: 2.0
    integrate: {t1: 80.0, saves: 5}
    """)
    )
    summary = sweeps.run(loaded, tmp_path / "out")
    assert summary.points == 2 and summary.converged == 2
    ds = open_results(tmp_path / "out")
    assert ds.sizes["point"] == 1 and ds.sizes["query"] == 2
    logits = -np.array([[0.0, 1.0, 2.0], [2.0, 0.0, -1.0]]) / 0.5
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(ds["equilibrium"].values[0], expected, atol=1e-12)


def test_natural_end_times():
    """t1 = {natural: tau}: tau / sqrt(T/m) for m > 0, tau gamma / T for the gradient flow."""
    import thermo_ode as to

    cfg = sweeps.parse(
        "name: x\nsystem: {tokens: 2, energies: {kind: list, values: [0, 1]}, temperature: 1.0, damping: 1.0}\n"
        "integrate: {t1: {natural: 7}}"
    ).config
    T, g = np.array([0.5, 2.0, 3.0]), np.array([1.0, 2.0, 0.5])
    for m, expected in (
        (np.array([0.1, 1.0, 10.0]), 7 * np.sqrt(np.array([0.1, 1.0, 10.0]) / T)),
        (np.zeros(3), 7 * g / T),
    ):
        theory = to.linear_theory(to.AttentionSystem(np.zeros((3, 2)), T, m, g))
        np.testing.assert_allclose(planning.end_times(cfg, theory), expected, rtol=1e-14)


def test_grid_view_reads_only_what_is_selected_and_equals_the_unstacked_store(tmp_path, monkeypatch):
    """Three axes, one listed in descending order: the lazy grid view equals xarray's unstack
    of the flat store (each axis ascending), and opening it reads no per-point data."""
    from thermo_ode.sweeps.store import grid

    text = textwrap.dedent(SMALL).replace(
        "mass: {logspace: [-1, 1, 6]}", "mass: [2.0, 0.5, 1.0]\n  seed: {range: [0, 2]}"
    )
    summary = sweeps.run(sweeps.parse(text.replace("saves: 31", "saves: 5")), tmp_path / "out")
    assert summary.finished and summary.points == 12
    reads = []
    original = grid._GridArray._outer
    monkeypatch.setattr(grid._GridArray, "_outer", lambda self, key: reads.append(key) or original(self, key))
    lazy = open_results(tmp_path / "out")
    assert reads == [] and list(lazy["mass"].values) == [0.5, 1.0, 2.0]
    one = lazy["final_distance"].sel(temperature=4.0, mass=2.0, seed=1).values
    assert len(reads) == 1
    flat = open_results(tmp_path / "out", grid=False)
    keys = ["temperature", "mass", "seed"]
    eager = flat.drop_vars("chunk_checksum").set_index(point=keys).unstack("point").transpose("save", *keys, ...)
    assert lazy.load().identical(eager)
    point = int(
        np.flatnonzero((flat["temperature"].values == 4.0) & (flat["mass"].values == 2.0) & (flat["seed"].values == 1))[
            0
        ]
    )
    np.testing.assert_array_equal(one, flat["final_distance"].values[point])


def test_every_variable_and_coordinate_carries_its_cf_meaning(tmp_path):
    """CF `long_name` and `units` on every variable and coordinate (the store's and the netCDF
    copy's), the dataset's Conventions, title, source and history; so xarray labels its own
    plots with names and units."""
    import matplotlib.pyplot as plt

    out = tmp_path / "out"
    sweeps.run(sweeps.load(sweeps.demo_run() / "demo.yaml"), out, netcdf=True)
    nc = xr.open_dataset(out / "results.nc", engine="h5netcdf")
    for ds in (open_results(out), open_results(out, grid=False), nc):
        for name in ds.variables:
            attrs = ds[name].attrs
            assert attrs.get("long_name") and attrs.get("units"), name
        assert ds.attrs["Conventions"].startswith("CF-") and "thermo-ode" in ds.attrs["source"]
        assert ds.attrs["title"] and "created by thermo-ode" in ds.attrs["history"]
    ds = open_results(out)
    assert ds["distance"].attrs["units"] == "rad" and ds["t"].attrs["units"] == "time unit"
    assert ds["time_to_tolerance"].attrs["long_name"] != ds["relaxation_time"].attrs["long_name"]
    lines = ds["distance"].isel(damping_ratio=0, query=0).plot(x="t")
    ax = lines[0].axes
    assert " ".join(ax.get_xlabel().split()) == "time t [time unit]"
    assert " ".join(ax.get_ylabel().split()) == "Fisher-Rao distance to softmax [rad]"  # xarray wraps long labels
    plt.close("all")


def test_a_store_of_the_format_before_is_refused_naming_what_changed(tmp_path):
    """A format-4 store (its relaxation_time was the time to tolerance) is not read as if its
    names meant what they mean now: open_results and show name the remedy."""
    out = tmp_path / "out"
    sweeps.run(sweeps.load(sweeps.demo_run() / "demo.yaml"), out)
    root = out / "results.zarr" / "zarr.json"
    meta = json.loads(root.read_text())
    meta["attributes"]["store_format"] = 4
    root.write_text(json.dumps(meta))
    with pytest.raises(store.ConfigMismatch, match=r"store format 4, now 5: its relaxation_time was the time to"):
        open_results(out)
    assert "--no-resume" in store.metadata_check(out)
