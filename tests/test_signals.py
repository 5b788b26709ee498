"""Signals cannot hurt a run: SIGINT or SIGTERM at any moment of `thermo-ode run` (its imports,
the compilation, a chunk, the summary, the netCDF export) stops it at once with the usual
line and exit 130 / 143, and rerunning the same command ends bit-identical to a run that was
never interrupted. `show` and `plot` say when the store they read is being written."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray
import zarr
from runs import CHUNKS, TINY, assert_identical, cli, raw, reader_cli, write_config

from thermo_ode.sweeps.store import NETCDF_NAME, PARTIAL, store_path

CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
# Only a hang trips these: a run of TINY takes seconds, even on a loaded machine.
HANG = 300
STOPPED_WITHIN = 10  # the run stops within 2 s; the slack is for a loaded machine


def _committed(out) -> int:
    try:
        return int((np.asarray(zarr.open_group(store_path(out), mode="r")["chunk_checksum"][:]) != "").sum())
    except Exception:  # not created yet, or being created
        return 0


def _importing(pid, started) -> bool:
    """Whether the command has set its handlers (it catches SIGTERM; Linux shows it in
    /proc) and so is in its imports, which take seconds; elsewhere, 2 s after its start."""
    try:
        with open(f"/proc/{pid}/status") as status:
            caught = next(int(line.split()[1], 16) for line in status if line.startswith("SigCgt:"))
        if caught >> (signal.SIGTERM - 1) & 1:
            return True
    except (OSError, StopIteration, ValueError):
        pass
    return time.time() - started > 2.0


# When to send the signal: a moment of the run, seen from outside (no hook in the program).
MOMENTS = {
    "import": lambda proc, out, started: _importing(proc.pid, started),
    "compile": lambda proc, out, started: store_path(out).is_dir(),  # a cold cache: chunk 0 compiles first
    "chunk": lambda proc, out, started: _committed(out) >= 1,
    "summary": lambda proc, out, started: _committed(out) == CHUNKS,  # summarised, then exported
    "export": lambda proc, out, started: any(out.glob(f"{NETCDF_NAME}.*{PARTIAL}")),
}


def _interrupt(argv, out, moment, signum, env=None):
    """Start `argv`, send `signum` at `moment`; `(exit code, stderr, seconds from the signal
    to the exit, whether it was sent)`."""
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, **(env or {}))
    )
    started, sent = time.time(), False
    while proc.poll() is None and time.time() - started < HANG:
        if MOMENTS[moment](proc, out, started):
            proc.send_signal(signum)
            sent = True
            break
        time.sleep(0.005)
    signalled = time.time()
    _, stderr = proc.communicate(timeout=HANG)
    return proc.returncode, stderr, time.time() - signalled, sent


def _results_nc(out):
    with xarray.open_dataset(out / NETCDF_NAME, engine="h5netcdf") as ds:
        return {name: ds[name].values for name in ds.variables}


def _assert_stopped_then_resumes(reference, out, result, signum, cache_dir):
    config, ref = reference
    code, stderr, seconds, sent = result
    assert sent or code == 0, stderr
    if code != 0:  # 0: it finished before the signal came
        assert code == CODES[signum], stderr
        assert "interrupted: " in stderr and "rerun the same command" in stderr, stderr
        assert seconds < STOPPED_WITHIN, f"stopped {seconds:.1f} s after the signal"
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    resumed = cli("run", config, "--out", str(out), cache_dir=cache_dir)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    verified = reader_cli("verify", str(out))
    assert verified.returncode == 0, verified.stderr
    assert_identical(raw(out), raw(ref))
    assert_identical(_results_nc(out), _results_nc(ref))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_signal_at_any_moment_stops_the_run_and_the_resume_is_bit_identical(
    reference, tmp_path, cache_dir, moment, signum
):
    config, _ = reference
    out = tmp_path / "out"
    # The compilation is seen with a cold cache only; the other moments share the warm one.
    cache = str(tmp_path / "cache") if moment == "compile" else cache_dir
    argv = [sys.executable, "-m", "thermo_ode.cli", "run", config, "--out", str(out), "--cache-dir", cache]
    result = _interrupt(argv, out, moment, signum)
    if result[0] != 0 and moment != "import":
        assert f"finished chunks are kept in {out}" in result[1], result[1]
    _assert_stopped_then_resumes(reference, out, result, signum, cache_dir)


def test_a_signal_stops_a_run_on_a_local_dask_cluster(once, tmp_path, cache_dir):
    """The workers end with it; the resume on the cluster equals a one-process run with one
    device per chunk, as each worker has."""

    def make(folder):
        config = write_config(folder / "tiny.yaml", TINY)
        result = cli("run", config, "--out", str(folder / "out"), "--devices", "1", cache_dir=cache_dir)
        assert result.returncode == 0, result.stderr + result.stdout

    pytest.importorskip("distributed", reason="the Dask engine needs the [dask] extra")
    folder = once("signals-reference-one-device", make)
    config, out = str(folder / "tiny.yaml"), tmp_path / "out"
    argv = [sys.executable, "-m", "thermo_ode.cli", "run", config, "--out", str(out), "--workers", "1"]
    code, stderr, seconds, sent = _interrupt([*argv, "--cache-dir", cache_dir], out, "chunk", signal.SIGTERM)
    assert sent or code == 0, stderr
    if code != 0:
        assert code == 143 and f"interrupted: finished chunks are kept in {out}" in stderr, stderr
        assert seconds < STOPPED_WITHIN, f"stopped {seconds:.1f} s after the signal"
    assert "Traceback" not in stderr, stderr
    resumed = cli(*argv[3:], cache_dir=cache_dir)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert_identical(raw(out), raw(folder / "out"))


def test_the_console_script_stops_on_sigint_during_its_imports(reference, tmp_path, cache_dir):
    """The installed `thermo-ode` (not `python -m`) too."""
    script = os.path.join(os.path.dirname(sys.executable), "thermo-ode")
    if not os.path.exists(script):
        pytest.skip("no console script beside this Python")
    config, _ = reference
    out = tmp_path / "out"
    argv = [script, "run", config, "--out", str(out), "--cache-dir", cache_dir]
    _assert_stopped_then_resumes(
        reference, out, _interrupt(argv, out, "import", signal.SIGINT), signal.SIGINT, cache_dir
    )


# Python drops what a signal handler raises while a garbage-collector or weakref callback runs
# ("Exception ignored in ..."): the export allocates enough to run them. This lands a SIGINT
# in one, inside the export, every time.
IN_A_CALLBACK = """\
import os, runpy, signal, sys, weakref
from thermo_ode.sweeps.store import netcdf

digest = netcdf._file_digest

def landing_in_a_callback(path):
    def callback():
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10**6):  # the handler runs here, inside the callback
            pass
    class Thing:
        pass
    thing = Thing()
    weakref.finalize(thing, callback)
    del thing
    return digest(path)

netcdf._file_digest = landing_in_a_callback
sys.argv = ["thermo-ode", *sys.argv[1:]]
runpy.run_module("thermo_ode.cli", run_name="__main__")
"""


def test_a_signal_that_lands_in_a_callback_during_the_export_is_not_lost(reference, tmp_path, cache_dir):
    config, _ = reference
    out = tmp_path / "out"
    driver = tmp_path / "driver.py"
    driver.write_text(IN_A_CALLBACK)
    proc = subprocess.run(
        [sys.executable, str(driver), "run", config, "--out", str(out), "--cache-dir", cache_dir],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert proc.returncode == 130, proc.stderr + proc.stdout
    assert "interrupted: " in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    _assert_stopped_then_resumes(reference, out, (130, proc.stderr, 0.0, True), signal.SIGINT, cache_dir)


# After a signal during the compilation, the interpreter's teardown (collecting what JAX had
# built) took 0.3 to 4.5 s, sometimes ending in SIGSEGV, and no thread can end the process while
# it runs. This plants an object whose collection there takes a minute: it makes that slow
# teardown certain, as the command must never wait for it.
SLOW_TEARDOWN = """\
import runpy, sys, time

class Slow:
    def __del__(self):
        time.sleep(60)

slow = Slow()
slow.cycle = slow  # collected by the teardown's last collections, when no thread runs
sys.argv = ["thermo-ode", *sys.argv[1:]]
runpy.run_module("thermo_ode.cli", run_name="__main__")
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_compiling_ends_the_run_at_once_without_the_interpreters_teardown(
    reference, tmp_path, cache_dir, signum
):
    config, _ = reference
    out = tmp_path / "out"
    driver = tmp_path / "driver.py"
    driver.write_text(SLOW_TEARDOWN)
    argv = [sys.executable, str(driver), "run", config, "--out", str(out), "--cache-dir", str(tmp_path / "cold")]
    result = _interrupt(argv, out, "compile", signum)
    code, stderr, seconds, sent = result
    assert sent and code == CODES[signum], stderr
    assert f"interrupted: finished chunks are kept in {out}; rerun the same command to resume" in stderr, stderr
    assert seconds < STOPPED_WITHIN, f"stopped {seconds:.1f} s after the signal"
    _assert_stopped_then_resumes(reference, out, result, signum, cache_dir)


def test_a_signal_waits_for_a_write_of_the_compilation_cache(tmp_path, monkeypatch):
    """JAX writes a cache entry in place, and never writes again one that exists: an entry cut
    short would be unreadable for good. The handler lets the write finish; the watch delivers
    the signal again after it, and ending the process at once waits for it too."""
    from jax._src import lru_cache

    from thermo_ode.cli import interrupts

    stop = interrupts.Interruption(program=False)
    cache, seen = lru_cache.LRUCache(str(tmp_path), max_size=-1), {}
    write_bytes = type(cache.path).write_bytes

    def writing(path, data):
        seen["in a write"] = interrupts._writing_cache(sys._getframe())
        seen["by another thread"] = interrupts._writing_cache()  # as the watch sees it
        stop._on_signal(signal.SIGINT, sys._getframe())  # raises Interrupted unless it waits
        return write_bytes(path, data)

    monkeypatch.setattr(type(cache.path), "write_bytes", writing)
    cache.put("key", b"entry")
    assert seen == {"in a write": True, "by another thread": True}
    assert stop.swallowed and stop.signum == signal.SIGINT  # the watch delivers it again
    assert not interrupts._writing_cache()
    with pytest.raises(interrupts.Interrupted):  # outside a write: at once
        stop._on_signal(signal.SIGINT, sys._getframe())


HOLDER = """\
import sys, time
from thermo_ode.sweeps import store
with store.writer_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(600)
"""


def test_show_and_plot_say_that_a_live_run_is_writing_the_store(reference, tmp_path, cache_dir):
    config, _ = reference
    out = tmp_path / "out"
    # 3 of the 4 chunks
    first = cli("run", config, "--out", str(out), "--chunks", "0:3", cache_dir=cache_dir)
    assert first.returncode == 0, first.stderr
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        shown = reader_cli("show", str(out))
        assert shown.returncode == 0, shown.stderr
        assert f"running: another thermo-ode run (pid {holder.pid} on " in shown.stdout, shown.stdout
        assert "is writing this store; 3/4 chunks so far" in shown.stdout, shown.stdout
        assert "interrupted" not in shown.stdout
        plotted = reader_cli("plot", str(out), "--figures", str(tmp_path / "figures"))
        assert plotted.returncode == 0, plotted.stderr
        assert f"pid {holder.pid}" in plotted.stderr and "3/4 chunks" in plotted.stderr, plotted.stderr
        assert "unfinished" in plotted.stderr, plotted.stderr
    finally:
        holder.kill()
        holder.wait()
    shown = reader_cli("show", str(out))  # nobody writes it now
    assert "running:" not in shown.stdout and "interrupted or in progress: 3/4 chunks" in shown.stdout, shown.stdout
    plotted = reader_cli("plot", str(out), "--figures", str(tmp_path / "figures"))
    assert plotted.returncode == 0 and "pid" not in plotted.stderr, plotted.stderr
