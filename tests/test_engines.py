"""Sweeps on real engines: a Dask scheduler with worker processes, a local Dask cluster, and two
jax.distributed processes. Each must give the store of a one-process run, bit for bit; a killed
Dask worker loses nothing, and a killed jax.distributed job resumes."""

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import zarr
from runs import assert_identical, cli, raw, write_config
from test_sweep_run import SMALL

from thermo_ode.sweeps.store import open_results, store_path

pytest.importorskip("distributed", reason="the Dask engine needs the [dask] extra")

# 48 points in 24 chunks: long enough to kill something mid-sweep.
LONGER = SMALL.replace("{logspace: [-1, 1, 6]}", "{logspace: [-1, 1, 24]}")


@pytest.fixture(scope="module")
def references(once, cache_dir):
    """One-process runs, one device per chunk (as each worker and process has here), made once
    for all workers."""

    def make(folder):
        for name, text in (("small", SMALL), ("longer", LONGER)):
            config = write_config(folder / f"{name}.yaml", text)
            result = cli("run", config, "--out", str(folder / name), "--devices", "1", cache_dir=cache_dir)
            assert result.returncode == 0, result.stderr

    folder = once("engine-references", make)
    return {name: (str(folder / f"{name}.yaml"), raw(folder / name)) for name in ("small", "longer")}


def committed(out) -> int:
    try:
        return int((np.asarray(zarr.open_group(store_path(out), mode="r")["chunk_checksum"][:]) != "").sum())
    except Exception:
        return 0


def wait_for(condition, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"waited {seconds} s for {what}")


def start(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dask_scheduler_and_two_workers_equal_one_process_and_survive_a_killed_worker(tmp_path, references, cache_dir):
    scheduler_file = str(tmp_path / "scheduler.json")
    scheduler = start(
        "distributed.cli.dask_scheduler",
        "--scheduler-file",
        scheduler_file,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--no-dashboard",
    )
    workers = []
    try:
        wait_for(lambda: os.path.exists(scheduler_file), 60, "the scheduler")
        # No nanny: a killed worker stays dead, and the scheduler must move its tasks.
        workers = [
            start(
                "distributed.cli.dask_worker",
                "--scheduler-file",
                scheduler_file,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--name",
                f"w{i}",
            )
            for i in range(2)
        ]
        import json

        address = json.load(open(scheduler_file))["address"]
        config, expected = references["small"]
        result = cli("run", config, "--out", str(tmp_path / "a"), "--scheduler", address, cache_dir=cache_dir)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "dashboard" in result.stdout
        assert_identical(raw(tmp_path / "a"), expected)
        attrs = open_results(tmp_path / "a").attrs
        assert (attrs["engine"], attrs["backend"], attrs["device_count"]) == ("dask", "cpu", 1)

        # Kill one worker once chunks are being committed: the other finishes the sweep.
        config, expected = references["longer"]
        out = tmp_path / "b"
        client = start(
            "thermo_ode.cli", "run", config, "--out", str(out), "--scheduler", address, "--cache-dir", cache_dir
        )
        wait_for(lambda: committed(out) >= 1 or client.poll() is not None, 240, "a committed chunk")
        workers[0].send_signal(signal.SIGKILL)
        assert workers[0].wait() == -signal.SIGKILL
        assert committed(out) < 24, "the sweep finished before a worker could be killed"
        # A second run on the same --out meanwhile is refused, naming the holder.
        second = cli("run", config, "--out", str(out), cache_dir=cache_dir)
        assert (
            second.returncode == 2
            and "being written by another process" in second.stderr
            and f"pid {client.pid}" in second.stderr
        )
        output, _ = client.communicate(timeout=300)
        assert client.returncode == 0, output
        assert_identical(raw(out), expected)
    finally:
        for proc in workers + [scheduler]:
            proc.kill()
            proc.communicate()


def test_local_dask_cluster_equals_one_process(tmp_path, references, cache_dir):
    config, expected = references["small"]
    result = cli("run", config, "--out", str(tmp_path / "out"), "--workers", "2", cache_dir=cache_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dask: 2 workers" in result.stdout
    assert_identical(raw(tmp_path / "out"), expected)


def test_more_workers_than_chunks_start_one_a_chunk_and_say_so(tmp_path, cache_dir):
    """A chunk is one task: a worker beyond the sweep's chunks would only idle (--workers 2 on a
    one-chunk sweep ran slower than one process). The launcher starts one a chunk, in a line."""
    config = write_config(tmp_path / "one-chunk.yaml", SMALL.replace("chunk_size: 2", "chunk_size: 12"))
    result = cli("run", config, "--out", str(tmp_path / "out"), "--workers", "2", cache_dir=cache_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "note: --workers 2: 1 chunk to run, 1 worker would idle; starting 1" in result.stderr, result.stderr
    assert "dask: 1 worker;" in result.stdout and "1/1 chunks" in result.stdout, result.stdout


def _jax_process(config, out, cache_dir, port, i):
    """The arguments of process `i` of a two-process jax.distributed job, for `start`."""
    return [
        "thermo_ode.cli",
        "run",
        config,
        "--out",
        str(out),
        "--distributed",
        "--coordinator",
        f"127.0.0.1:{port}",
        "--num-processes",
        "2",
        "--process-id",
        str(i),
        "--devices",
        "1",
        "--heartbeat-timeout",
        "5",
        "--cache-dir",
        cache_dir,
    ]


def _jax_job(config, out, cache_dir, port, **popen):
    return [start(*_jax_process(config, out, cache_dir, port, i), **popen) for i in range(2)]


def test_killed_jax_distributed_job_ends_and_resumes_to_the_one_process_store(tmp_path, references, cache_dir):
    config, expected = references["longer"]
    out = tmp_path / "out"
    job = _jax_job(config, out, cache_dir, free_port())
    wait_for(lambda: committed(out) >= 1 or job[0].poll() is not None, 240, "a committed chunk")
    job[1].send_signal(signal.SIGKILL)
    output, _ = job[0].communicate(timeout=120)  # JAX's health check ends the survivor
    assert job[0].returncode != 0, output
    job[1].communicate()
    done = committed(out)
    assert 1 <= done < 24, f"{done} chunks committed: the job was not killed mid-sweep"
    resumed = _jax_job(config, out, cache_dir, free_port())
    outputs = [p.communicate(timeout=300)[0] for p in resumed]
    assert [p.returncode for p in resumed] == [0, 0], outputs
    assert "sweep summary" in outputs[0] and "process 0 writes the summary" in outputs[1]
    assert (out / "results.nc").exists()
    assert_identical(raw(out), expected)  # as a one-process run, though two processes wrote it, twice
    assert open_results(out).attrs["engine"] == "jax.distributed, 2 processes"


def test_process_1_waits_for_a_coordinator_that_starts_late(tmp_path, references, cache_dir):
    """Process 1 started first: it waits for process 0's coordinator to listen, then the job
    runs as usual."""
    config, expected = references["small"]
    out = tmp_path / "out"
    port = free_port()
    first = start(*_jax_process(config, out, cache_dir, port, 1))
    time.sleep(3)  # less than the 10 s it waits
    second = start(*_jax_process(config, out, cache_dir, port, 0))
    outputs = [p.communicate(timeout=300)[0] for p in (second, first)]
    assert [second.returncode, first.returncode] == [0, 0], outputs
    assert_identical(raw(out), expected)


@pytest.mark.parametrize(
    "engine, message",
    [
        (
            ["--distributed", "--num-processes", "2", "--process-id", "1", "--coordinator"],
            "--coordinator: nothing listening at 127.0.0.1:",
        ),
        (["--scheduler"], "--scheduler: nothing listening at tcp://127.0.0.1:"),
    ],
    ids=["coordinator", "scheduler"],
)
def test_an_address_with_nothing_listening_is_refused_naming_it(tmp_path, engine, message):
    """Not a silent wait of minutes (jax.distributed) or half a minute (Dask): exit 2 naming
    the address, after a wait of seconds."""
    config = write_config(tmp_path / "c.yaml", SMALL)
    port = free_port()  # bound, then let go: nothing listens there
    address = f"127.0.0.1:{port}" if "--coordinator" in engine else f"tcp://127.0.0.1:{port}"
    result = subprocess.run(
        [sys.executable, "-m", "thermo_ode.cli", "run", config, "--out", str(tmp_path / "out"), *engine, address],
        capture_output=True,
        text=True,
        timeout=120,  # only a hang trips it
    )
    assert result.returncode == 2, result.stderr
    assert f"{message}{port} (Connection refused; waited" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--coordinator", "127.0.0.1:1"], "--coordinator: only with --distributed"),
        (["--distributed", "--coordinator", "127.0.0.1:1"], "missing --num-processes, --process-id"),
        (
            ["--distributed", "--coordinator", "h:1", "--num-processes", "2", "--process-id", "2"],
            "--process-id: 2 is not below",
        ),
        (["--workers", "2", "--chunks", "0:1"], "not allowed with argument"),
        (["--workers", "0"], "--workers: must be >= 1"),
    ],
)
def test_engine_options_are_checked(tmp_path, args, message):
    from thermo_ode import cli as command_line

    config = write_config(tmp_path / "c.yaml", SMALL)
    result = subprocess.run(
        [sys.executable, "-m", "thermo_ode.cli", "run", config, "--out", str(tmp_path / "out"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == command_line.EXIT_USAGE and message in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_slurm_example_asks_for_one_single_threaded_worker_per_job(tmp_path):
    pytest.importorskip("dask_jobqueue")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(root, "examples", "dask_slurm.py"),
            "c.yaml",
            str(tmp_path),
            "--cpus",
            "32",
            "--gpus",
            "1",
            "--print-job-script",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    script = result.stdout
    assert "#SBATCH --cpus-per-task=32" in script and "#SBATCH --gpus=1" in script
    assert "dask_worker" in script and "--nthreads 1" in script
