"""Where the refill engine's time goes on this machine: a `jax.profiler` trace of one solve.

    python benchmarks/profile_refill.py [--size 4096x32] [--pool 256] [--json F]

Runs the benchmark workload (benchmarks/relaxation.py) through `simulate` on one CPU device
per core, float64, compiles it, then traces a second run and reads the trace: XLA kernels
executed per loop iteration, the share of the executor's time spent outside kernels
(dispatch), and the time of XLA's `log` per element in both precisions next to numpy's, with
the share of kernel time the step's logs would take at that rate (XLA's count of
transcendentals per step). Then the cost of exact CPU code: the same solve timed in fresh
processes with and without `thermo_ode.use_exact_cpu_code()` (no fused multiply-adds),
alternately, the best of each.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from relaxation import step_cost, workload  # noqa: E402

import thermo_ode as to  # noqa: E402

to.use_all_cores()
if sys.argv[-1:] == ["exact"]:  # a --time-only worker of exact_code_cost
    to.use_exact_cpu_code()
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

jax.config.update("jax_enable_x64", True)


def per_element_ns(fn, x, repeats: int = 20) -> float:
    fn(x)
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn(x)
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / repeats / x.size * 1e9


def log_rates() -> dict:
    """ns per element of a log over 2^20 numbers: XLA (one device) and numpy, both precisions."""
    rates = {}
    for dtype in ("float64", "float32"):
        x = np.random.default_rng(0).uniform(0.01, 1.0, 2**20).astype(dtype)
        rates[f"xla_{dtype}"] = per_element_ns(jax.jit(jnp.log), jnp.asarray(x))
        rates[f"numpy_{dtype}"] = per_element_ns(np.log, x)
    return rates


def trace_solve(B: int, N: int, pool: int | None) -> dict:
    E, T, m, g, t1 = workload(B, N)
    system = to.AttentionSystem(E, T, m, g)
    rho0 = np.full((B, N), 1.0 / N)
    solve = lambda: jax.block_until_ready(to.simulate(system, rho0, t1, saves=2, pool=pool))
    solve()  # compiles
    with tempfile.TemporaryDirectory() as folder:
        jax.profiler.start_trace(folder)
        start = time.perf_counter()
        traj = solve()
        wall = time.perf_counter() - start
        jax.profiler.stop_trace()
        events = json.load(gzip.open(glob.glob(f"{folder}/**/*.trace.json.gz", recursive=True)[0]))["traceEvents"]
    complete = [e for e in events if e.get("ph") == "X"]
    executor = sum(e["dur"] for e in complete if e["name"] == "ThunkExecutor::Execute")
    kernels = [
        e
        for e in complete
        if not e["name"].startswith(("$", "ThunkExecutor", "end: "))
        and "Pjit" not in e["name"]
        and "Execute" not in e["name"]
        and "trace" not in e["name"].lower()
    ]
    counts = collections.Counter(e["name"] for e in kernels)
    # Kernels of the loop body run once per iteration on each device: the most common count.
    per_iteration_runs = collections.Counter(counts.values()).most_common(1)[0][0]
    steps = np.asarray(traj.num_steps)
    return dict(
        B=B,
        N=N,
        devices=jax.local_device_count(),
        pool=pool,
        wall_s=wall,
        steps_total=int(steps.sum()),
        kernel_runs=len(kernels),
        kernel_us=sum(e["dur"] for e in kernels),
        executor_us=executor,
        loop_iterations_x_devices=per_iteration_runs,
        kernels_per_iteration=len(kernels) / per_iteration_runs,
        step_cost=step_cost(system, rho0, t1, None),
    )


def timed_solve(B: int, N: int, pool: int | None, repeats: int = 3) -> float:
    """The best wall time of `repeats` solves after the compile (s)."""
    E, T, m, g, t1 = workload(B, N)
    system = to.AttentionSystem(E, T, m, g)
    rho0 = np.full((B, N), 1.0 / N)
    solve = lambda: jax.block_until_ready(to.simulate(system, rho0, t1, saves=2, pool=pool))
    solve()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        solve()
        best = min(best, time.perf_counter() - start)
    return best


def exact_code_cost(size: str, pool: int | None, rounds: int = 2) -> dict:
    """Wall times of one solve in fresh processes, with fused multiply-adds and without
    (`use_exact_cpu_code`), alternately; the best of `rounds` each."""
    walls: dict[str, list[float]] = {"fma": [], "exact": []}
    for _ in range(rounds):
        for kind in walls:
            command = [sys.executable, __file__, "--size", size] + ([] if pool is None else ["--pool", str(pool)])
            env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
            out = subprocess.run(command + ["--time-only", kind], capture_output=True, text=True, check=True, env=env)
            walls[kind].append(json.loads(out.stdout.splitlines()[-1])["wall_s"])
    fma, exact = min(walls["fma"]), min(walls["exact"])
    return dict(fma_wall_s=fma, exact_wall_s=exact, exact_over_fma=exact / fma)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="4096x32")
    parser.add_argument("--pool", type=int, default=256, help="slots per device (default %(default)s)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--time-only", choices=("fma", "exact"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    B, N = (int(v) for v in args.size.lower().split("x"))
    if args.time_only:
        print(json.dumps(dict(wall_s=timed_solve(B, N, args.pool))))
        return
    result = dict(
        machine=f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        jax=jax.__version__,
        trace=trace_solve(B, N, args.pool),
        log_ns_per_element=log_rates(),
        exact_cpu_code=exact_code_cost(args.size, args.pool),
    )
    trace = result["trace"]
    trace["dispatch_share"] = 1 - trace["kernel_us"] / trace["executor_us"]
    logs = trace["step_cost"]["transcendentals"] * trace["steps_total"]
    trace["log_share_of_kernel_time"] = logs * result["log_ns_per_element"]["xla_float64"] / 1e3 / trace["kernel_us"]
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
