"""A finished store cannot lie: damage is found, reported and repaired bit for bit; inputs are
part of a run's identity; one writer at a time; replacing a store is atomic; write failures
leave nothing half-written and resume once space is freed."""

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import zarr
from runs import CHUNKS, TINY, assert_identical, cli, raw, reader_cli, summary_counts, write_config

from thermo_ode.sweeps import store
from thermo_ode.sweeps.store import store_path


def _copy(reference, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference[1], out)
    return out


def _chunk_file(out, name, chunk):
    path = store_path(out) / name / "c" / str(chunk)
    while path.is_dir():  # the first file of the chunk (query row 0, ...)
        path = sorted(path.iterdir())[0]
    return path


def _delete(out):
    shutil.rmtree(store_path(out) / "rho" / "c" / "1")
    return [1]


def _garble(out):
    _chunk_file(out, "status", 2).write_bytes(os.urandom(64))
    return [2]


def _truncate(out):
    path = _chunk_file(out, "distance", 0)
    path.write_bytes(path.read_bytes()[:10])
    return [0]


def _swap(out):
    a, b = _chunk_file(out, "rho", 0), _chunk_file(out, "rho", 3)
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    return [0, 3]


def _coordinates(out):
    shutil.rmtree(store_path(out) / "mass" / "c", ignore_errors=True)
    (store_path(out) / "mass" / "c").write_bytes(b"junk")
    return []


DAMAGES = [_delete, _garble, _truncate, _swap, _coordinates]


@pytest.mark.parametrize("damage", DAMAGES)
def test_damage_is_reported_by_verify_show_and_plot(reference, tmp_path, damage):
    out = _copy(reference, tmp_path)
    chunks = damage(out)
    verified = reader_cli("verify", str(out))
    assert verified.returncode == 1
    for c in chunks:
        assert f"chunk {c}:" in verified.stderr
    if not chunks:
        assert "coordinates" in verified.stderr
    shown = reader_cli("show", str(out))  # names the damage, counts the rest
    assert shown.returncode == 0 and "finished" not in shown.stdout and "damaged" in shown.stdout, (
        shown.stdout + shown.stderr
    )
    for c in chunks:
        assert f"chunk {c}:" in shown.stdout
    plotted = reader_cli("plot", str(out), "--figures", str(tmp_path / "figs"))
    assert plotted.returncode == 1 and "damaged" in plotted.stderr


def test_every_damage_at_once_is_repaired_bit_for_bit(reference, tmp_path, cache_dir):
    """One `run` repairs all of the damages above together (each chunk named), bit for bit."""
    config, ref = reference
    out = _copy(reference, tmp_path)
    chunks = sorted({c for damage in DAMAGES for c in damage(out)})
    assert chunks == list(range(CHUNKS))
    repaired = cli("run", config, "--out", str(out), cache_dir=cache_dir)
    assert repaired.returncode == 0, repaired.stderr + repaired.stdout
    for c in chunks:
        assert f"repaired: chunk {c}:" in repaired.stdout
    assert_identical(raw(out), raw(ref))
    assert reader_cli("verify", str(out)).returncode == 0
    assert (out / store.NETCDF_NAME).is_file()


def test_edited_energies_file_is_a_different_run(tmp_path, cache_dir):
    np.savez(tmp_path / "e.npz", energies=np.array([0.0, 1.0, 2.0]))
    config = write_config(
        tmp_path / "c.yaml",
        """\
        name: fixed
        system:
          tokens: 3
          energies: {kind: file, path: e.npz}
          temperature: 1.0
        integrate: {t1: 5.0, saves: 5}
        """,
    )
    out = str(tmp_path / "out")
    assert cli("run", config, "--out", out, cache_dir=cache_dir).returncode == 0
    np.savez(tmp_path / "e.npz", energies=np.array([0.0, 1.0, 3.0]))
    again = cli("run", config, "--out", out, cache_dir=cache_dir)
    assert again.returncode == 2 and "different config or input files" in again.stderr
    replaced = cli("run", config, "--out", out, "--no-resume", cache_dir=cache_dir)
    assert replaced.returncode == 0
    np.testing.assert_array_equal(raw(out)["energies"][0, 0], [0.0, 1.0, 3.0])


def test_one_writer_at_a_time_and_a_dead_holder_keeps_nothing(reference, tmp_path, cache_dir):
    config, _ = reference
    out = tmp_path / "out"
    with store.writer_lock(out):
        busy = cli("run", config, "--out", str(out), cache_dir=cache_dir)
    assert busy.returncode == 2
    assert f"pid {os.getpid()} on {socket.gethostname()}" in busy.stderr
    # A holder killed while it holds the lock: the operating system lets go of it.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import time
        from thermo_ode.sweeps import store
        with store.writer_lock({str(out)!r}):
            print("held", flush=True)
            time.sleep(600)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(store.StoreBusy, match=f"pid {holder.pid}"):
        with store.writer_lock(out):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with store.writer_lock(out):
        pass
    # Processes filling disjoint --chunks ranges share the lock; a whole run waits for them.
    with store.writer_lock(out, shared=True), store.writer_lock(out, shared=True):
        with pytest.raises(store.StoreBusy, match="with --chunks"):
            with store.writer_lock(out):
                pass


def test_replacing_a_store_is_atomic_and_strays_are_cleaned(reference, tmp_path, cache_dir):
    config, ref = reference
    out = _copy(reference, tmp_path)
    # A --no-resume killed between its two renames: the old store sits aside, none in place.
    aside = out / f"{store.STORE_NAME}.4242{store.REPLACED}"
    os.replace(store_path(out), aside)
    (out / f"{store.NETCDF_NAME}.4242{store.PARTIAL}").write_bytes(b"x" * 1000)  # a killed export
    with store.writer_lock(out):
        pass
    assert store_path(out).is_dir() and not aside.exists()
    assert not list(out.glob(f"*{store.PARTIAL}"))
    # zarr's own files written aside, left by a killed write
    stray = store_path(out) / "rho" / "c" / f"0.abc{store.PARTIAL}"
    stray.write_bytes(b"x")
    resumed = cli("run", config, "--out", str(out), cache_dir=cache_dir)
    assert resumed.returncode == 0 and "already complete" in resumed.stdout
    assert not stray.exists()
    assert_identical(raw(out), raw(ref))
    # --no-resume of another config: the old results.nc goes first, the store is swapped whole.
    other = write_config(
        tmp_path / "other.yaml", TINY.replace("name: tiny", "name: other").replace("saves: 11", "saves: 7")
    )
    group_before = zarr.open_group(store_path(out), mode="r").attrs["config_digest"]
    replaced = cli("run", other, "--out", str(out), "--no-resume", cache_dir=cache_dir)
    assert replaced.returncode == 0
    attrs = zarr.open_group(store_path(out), mode="r").attrs
    assert attrs["config_digest"] != group_before and attrs["name"] == "other"
    assert store.netcdf_current(out)
    assert not list(out.glob(f"*{store.REPLACED}"))


def _unshare_available() -> str:
    if not shutil.which("unshare"):
        return "no unshare command"
    probe = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            "d=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs $d && umount $d",
        ],
        capture_output=True,
        text=True,
    )
    return "" if probe.returncode == 0 else f"cannot mount a tmpfs in a user namespace here: {probe.stderr.strip()}"


NO_TMPFS = _unshare_available()


@pytest.mark.skipif(bool(NO_TMPFS), reason=NO_TMPFS or "")
def test_full_disk_fails_cleanly_and_resumes_once_space_is_freed(reference, tmp_path, cache_dir):
    """On a tmpfs too small for the store: chunk writes fail with ENOSPC (the run stops, nothing
    aside is left, committed chunks stay), the export refuses naming the path, and after the
    tmpfs grows the same run finishes, identical to the reference. The CLI refuses up front."""
    config, ref = reference
    disk = tmp_path / "disk"
    disk.mkdir()
    script = tmp_path / "full.py"
    script.write_text(
        textwrap.dedent(f"""
        import errno, json, os, pathlib, subprocess, sys
        import thermo_ode
        thermo_ode.use_all_cores()  # as the CLI that made the reference
        thermo_ode.use_exact_cpu_code()
        import jax
        jax.config.update("jax_enable_x64", True)
        from thermo_ode import sweeps
        from thermo_ode.sweeps import store
        out = pathlib.Path({str(disk)!r}) / "out"
        loaded = sweeps.load({config!r})
        report = {{}}
        try:
            sweeps.run(loaded, out)
            report["first"] = "finished"
        except OSError as exc:
            report["first"] = errno.errorcode.get(exc.errno, str(exc.errno))
        report["strays"] = [str(p) for p in out.rglob("*.partial")]
        report["committed"] = int(store.committed(__import__("zarr").open_group(store.store_path(out), mode="r")).sum()) if store.store_path(out).exists() else 0
        cli = subprocess.run([sys.executable, "-m", "thermo_ode.cli", "run", {config!r}, "--out", str(out), "--cache-dir", {cache_dir!r}],
                             capture_output=True, text=True)
        report["cli"] = [cli.returncode, cli.stderr[-400:]]
        subprocess.run(["mount", "-o", "remount,size=64m", {str(disk)!r}], check=True)
        summary = sweeps.run(loaded, out)
        store.export_netcdf(out)
        report["second"] = [summary.chunks_done, summary.chunks_total]
        import numpy as np
        a, b = (store.open_results(o, grid=False).load() for o in (out, {str(ref)!r}))
        report["different"] = [n for n in b.variables if not np.array_equal(a[n].values, b[n].values, equal_nan=a[n].dtype.kind == "f")]
        print(json.dumps(report))
        """)
    )
    run = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            f"mount -t tmpfs -o size=300k tmpfs {disk} && {sys.executable} {script}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["first"] == "ENOSPC", report
    assert report["strays"] == [], report
    assert report["committed"] < CHUNKS
    assert report["cli"][0] == 2 and "free" in report["cli"][1] and "Traceback" not in report["cli"][1], report
    assert report["second"] == [CHUNKS, CHUNKS]
    assert report["different"] == [], report  # the resumed store equals the uninterrupted one


@pytest.mark.skipif(bool(NO_TMPFS), reason=NO_TMPFS or "")
def test_read_only_run_folder_is_readable(reference, tmp_path, cache_dir):
    """`show`, `verify` and `plot --figures elsewhere` on a read-only mount write nothing; `plot`
    into it fails with a clear message."""
    _, ref = reference
    out = _copy(reference, tmp_path)
    figures = tmp_path / "figures"
    commands = [
        ("show", ["show", str(out)]),
        ("verify", ["verify", str(out)]),
        ("elsewhere", ["plot", str(out), "--figures", str(figures)]),
        ("inside", ["plot", str(out)]),
    ]
    readers = tmp_path / "readers.py"  # one interpreter for the four commands
    readers.write_text(
        textwrap.dedent(f"""
        import pathlib, sys
        sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r})
        from runs import reader_cli
        for name, argv in {commands!r}:
            done = reader_cli(*argv)
            for suffix, text in (("out", done.stdout), ("err", done.stderr), ("rc", str(done.returncode))):
                pathlib.Path({str(tmp_path)!r}, name + "." + suffix).write_text(text)
        """)
    )
    run = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            f"mount --bind {out} {out} && mount -o remount,bind,ro {out} && {sys.executable} {readers}",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    rc = {name: int((tmp_path / f"{name}.rc").read_text()) for name in ("show", "verify", "elsewhere", "inside")}
    assert rc == {"show": 0, "verify": 0, "elsewhere": 0, "inside": 1}, rc
    assert "finished" in (tmp_path / "show.out").read_text()
    assert list(figures.glob("*.png"))
    inside = (tmp_path / "inside.err").read_text()
    assert "Read-only file system" in inside and "Traceback" not in inside


def test_a_chunk_of_failed_points_verifies(tmp_path, cache_dir):
    """max_steps 1: every point fails, every float result is NaN, a chunk equals the fill value
    and zarr writes no file for it; the checksum is still that of what reads back."""
    config = write_config(tmp_path / "c.yaml", TINY.replace("chunk_size: 2}", "chunk_size: 2, max_steps: 1}"))
    out = tmp_path / "out"
    result = cli("run", config, "--out", str(out), cache_dir=cache_dir)
    assert result.returncode == 0, result.stderr
    assert summary_counts(result.stdout)["failed"] == 8
    assert reader_cli("verify", str(out)).returncode == 0
    shown = reader_cli("show", str(out))
    assert shown.returncode == 0 and f"finished: {CHUNKS}/{CHUNKS} chunks (checksums verified)" in shown.stdout
    plotted = reader_cli("plot", str(out), "--figures", str(tmp_path / "figures"))  # no point to colour
    assert plotted.returncode == 0, plotted.stderr
    from thermo_ode import plotting

    figure = plotting.plot_convergence_map(store.open_results(out))
    from thermo_ode.plotting.sweep_figures import NOT_MEASURED

    assert [t.get_text() for ax in figure.axes for t in ax.texts] == [NOT_MEASURED] * 2


def _edit_json(path, change):
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def _root_attrs(**values):
    return lambda out: _edit_json(store_path(out) / "zarr.json", lambda m: m["attributes"].update(values))


def _array_meta(name, change):
    return lambda out: _edit_json(store_path(out) / name / "zarr.json", change)


def _remove(*parts):
    return lambda out: (store_path(out).joinpath(*parts)).unlink()


# Metadata damage with the chunk data intact: (edit, what verify names). `run` writes the
# metadata back from the store's record (or, with the record lost, rebuilds it from the config)
# and recomputes nothing.
METADATA_EDITS = {
    "chunk_size 2 -> 4": (_root_attrs(chunk_size=4), "attribute chunk_size"),
    "grid_shape rewritten": (_root_attrs(grid_shape="[2, 4]"), "attribute grid_shape"),
    "sweep_keys rewritten": (_root_attrs(sweep_keys='["mass", "temperature"]'), "attribute sweep_keys"),
    "precision float32 on a float64 store": (_root_attrs(precision="float32"), "attribute precision"),
    "rho dimension_names reordered": (
        _array_meta("rho", lambda m: m.update(dimension_names=m["dimension_names"][::-1])),
        "rho: dimension_names",
    ),
    "rho dtype": (_array_meta("rho", lambda m: m.update(data_type="float32")), "rho: data_type"),
    "rho shape": (_array_meta("rho", lambda m: m.update(shape=[n + 1 for n in m["shape"]])), "rho: shape"),
    "rho fill value": (_array_meta("rho", lambda m: m.update(fill_value=0.0)), "rho: fill_value"),
    "rho zarr.json garbage": (lambda out: (store_path(out) / "rho" / "zarr.json").write_text("{not json"), "rho"),
    "rho zarr.json deleted": (_remove("rho", "zarr.json"), "rho/zarr.json is missing"),
    "root zarr.json deleted": (_remove("zarr.json"), "the root attributes: zarr.json is missing"),
    "record deleted": (_remove("record", "zarr.json"), "metadata record (record/zarr.json) is missing"),
    "record altered": (
        lambda out: _edit_json(
            store_path(out) / "record" / "zarr.json",
            lambda m: m["attributes"]["metadata"][""]["attributes"].update(chunk_size=4),
        ),
        "fails its checksum",
    ),
    "record and root zarr.json deleted": (
        lambda out: [_remove("record", "zarr.json")(out), _remove("zarr.json")(out)],
        "metadata record (record/zarr.json) is missing",
    ),
}


def _metadata(out):
    """Every zarr.json of a store but the record's, parsed, less the checksum of the netCDF copy
    (a copy written again differs in its file's timestamps, not in its data)."""
    root = store_path(out)
    found = {str(p.relative_to(root)): json.loads(p.read_text()) for p in root.rglob("zarr.json")}
    found.pop("record/zarr.json")
    found["zarr.json"]["attributes"].pop("netcdf_checksum")
    return found


def _same_netcdf(a, b):
    import xarray as xr

    with (
        xr.open_dataset(a / store.NETCDF_NAME, engine="h5netcdf") as ours,
        xr.open_dataset(b / store.NETCDF_NAME, engine="h5netcdf") as theirs,
    ):
        return ours.drop_attrs().identical(theirs.drop_attrs())  # attrs name each run's own folder


@pytest.mark.parametrize("edit", METADATA_EDITS)
def test_altered_metadata_is_found_and_written_back_without_recomputing(reference, tmp_path, cache_dir, edit):
    damage, named = METADATA_EDITS[edit]
    out = _copy(reference, tmp_path)
    damage(out)
    checked = reader_cli("verify", str(out))
    assert checked.returncode == 1 and named in checked.stderr, checked.stderr
    assert "--no-resume" not in checked.stderr and "Traceback" not in checked.stderr  # no advice that destroys
    shown = reader_cli("show", str(out))
    assert shown.returncode == 1 and "finished" not in shown.stdout and "Traceback" not in shown.stderr, shown.stderr
    rerun = cli("run", reference[0], "--out", str(out), cache_dir=cache_dir)
    assert rerun.returncode == 0, rerun.stderr + rerun.stdout
    assert "repaired: " in rerun.stdout and "recomputed" not in rerun.stdout, rerun.stdout
    assert reader_cli("verify", str(out)).returncode == 0
    assert _metadata(out) == _metadata(reference[1])
    assert_identical(raw(out), raw(reference[1]))
    assert _same_netcdf(out, reference[1])


def test_a_deleted_array_is_recreated_and_recomputed(reference, tmp_path, cache_dir):
    out = _copy(reference, tmp_path)
    shutil.rmtree(store_path(out) / "rho")
    checked = reader_cli("verify", str(out))
    assert checked.returncode == 1 and "rho/zarr.json is missing" in checked.stderr
    rerun = cli("run", reference[0], "--out", str(out), cache_dir=cache_dir)
    assert rerun.returncode == 0, rerun.stderr
    assert "written back from the store's record" in rerun.stdout
    for c in range(CHUNKS):  # the metadata is back, the data is not: every chunk is recomputed
        assert f"repaired: chunk {c}:" in rerun.stdout
    assert reader_cli("verify", str(out)).returncode == 0
    assert_identical(raw(out), raw(reference[1]))


def test_another_configs_chunks_do_not_verify_under_rebuilt_metadata(reference, tmp_path, cache_dir):
    """With the record and root metadata lost, nothing says whose chunks these are: the rebuilt
    store keeps only chunks whose checksums (salted with the config's digest) verify."""
    out = _copy(reference, tmp_path)
    _remove("record", "zarr.json")(out)
    _remove("zarr.json")(out)
    other = write_config(tmp_path / "other.yaml", TINY.replace("scale: 1.0", "scale: 2.0"))
    rerun = cli("run", other, "--out", str(out), cache_dir=cache_dir)
    assert rerun.returncode == 0, rerun.stderr
    for c in range(CHUNKS):
        assert f"repaired: chunk {c}:" in rerun.stdout and "recomputed" in rerun.stdout
    fresh = cli("run", other, "--out", str(tmp_path / "fresh"), cache_dir=cache_dir)
    assert fresh.returncode == 0
    assert_identical(raw(out), raw(tmp_path / "fresh"))


def test_an_older_store_format_is_refused_with_its_remedy(reference, tmp_path, cache_dir):
    out = _copy(reference, tmp_path)
    _remove("record", "zarr.json")(out)
    _root_attrs(store_format=3)(out)
    checked = reader_cli("verify", str(out))
    assert checked.returncode == 1 and "older thermo-ode (store format 3" in checked.stderr
    rerun = cli("run", reference[0], "--out", str(out), cache_dir=cache_dir)
    assert rerun.returncode == 2 and "store format 3" in rerun.stderr and "--no-resume" in rerun.stderr


def test_foreign_files_are_reported_and_ignored(reference, tmp_path, cache_dir):
    out = _copy(reference, tmp_path)
    shutil.copytree(store_path(out) / "rho", store_path(out) / "intruder")
    (store_path(out) / "status" / "notes.txt").write_text("not a chunk")
    checked = reader_cli("verify", str(out))
    assert checked.returncode == 0, checked.stderr
    assert "not written by this run (readers ignore it): intruder, status/notes.txt" in checked.stdout + checked.stderr
    assert "intruder" not in store.open_results(out).variables
    assert "not written by this run" in reader_cli("show", str(out)).stdout
    rerun = cli("run", reference[0], "--out", str(out), cache_dir=cache_dir)
    assert rerun.returncode == 0 and "already complete" in rerun.stdout, rerun.stdout


def test_open_results_names_its_argument():
    with pytest.raises(TypeError, match="out_dir"):
        store.open_results(42)


def test_altered_netcdf_copy_is_found_and_written_again(reference, tmp_path, cache_dir):
    out = _copy(reference, tmp_path)
    nc = out / store.NETCDF_NAME
    data = bytearray(nc.read_bytes())
    data[len(data) // 2] ^= 0xFF
    nc.write_bytes(bytes(data))
    checked = reader_cli("verify", str(out))
    assert checked.returncode == 1 and "results.nc is not the copy this store wrote" in checked.stderr
    assert cli("run", reference[0], "--out", str(out), cache_dir=cache_dir).returncode == 0
    assert reader_cli("verify", str(out)).returncode == 0
    import xarray as xr

    with (
        xr.open_dataset(nc, engine="h5netcdf") as ours,
        xr.open_dataset(reference[1] / store.NETCDF_NAME, engine="h5netcdf") as theirs,
    ):
        assert ours.drop_attrs().identical(theirs.drop_attrs())  # attrs name each run's own folder


def test_the_netcdf_copy_is_written_under_the_writer_lock(tmp_path, monkeypatch):
    """A second writer cannot start while the first writes its summary and netCDF copy."""
    from thermo_ode import sweeps

    out = tmp_path / "out"
    attempts = []
    export = store.export_netcdf

    def export_while_another_tries(out_dir):
        with pytest.raises(store.StoreBusy):
            with store.writer_lock(out_dir):
                pass
        attempts.append(out_dir)
        return export(out_dir)

    monkeypatch.setattr(store, "export_netcdf", export_while_another_tries)
    summary = sweeps.run(sweeps.parse(textwrap.dedent(TINY)), out, netcdf=True)
    assert summary.finished and attempts == [out] and store.netcdf_current(out)
