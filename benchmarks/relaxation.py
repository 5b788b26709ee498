"""Side-by-side benchmark: relax B random heads of N tokens to softmax.

    python benchmarks/relaxation.py                   # standard sizes, table + JSON
    python benchmarks/relaxation.py --sizes 1x16      # the CI smoke test
    python benchmarks/relaxation.py --json out.json --plot scaling.png

Workload (issue 5): energies from random q, k (d_k = 64); temperature log-spaced over
[0.25, 4] x sqrt(d_k) (around the attention default T = sqrt(d_k)); mass log-spaced over
[0.1, 10]; damping ratio 0.5; uniform start; float64, rtol 1e-8, atol 1e-10; every system
integrated until it is within Fisher–Rao distance 1e-6 of softmax (30 predicted relaxation
times; each method's worst final distance is reported so accuracy can be compared).

Methods, each in its own process (clean peak memory, cold compile):
- thermo-ode: `simulate` in natural time, each system to its own end time, one vmapped program;
- naive diffrax: `jax.vmap` of per-system Tsit5 solves of the same sphere equations in physical
  time, no projection, one common end time (the slowest system's), as a user would write it;
- scipy: `solve_ivp(DOP853)` per system over a subsample, scaled to B;
- torchdiffeq: batched `dopri5` on one (B, 2N) tensor, if torch and torchdiffeq are installed
  (`pip install torch==2.13.0 torchdiffeq`: the CPU build; an unpinned torch pulls CUDA).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

D_K = 64
ZETA = 0.5
RTOL, ATOL = 1e-8, 1e-10
RELAXATION_TIMES = 30.0
STANDARD_SIZES = ["1x16", "1024x32", "4096x32", "16384x64"]
SCIPY_SUBSAMPLE = 8


def workload(B: int, N: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    q, k = rng.normal(size=(B, D_K)), rng.normal(size=(B, N, D_K))
    energies = -np.einsum("bd,bnd->bn", q, k)
    temperature = np.sqrt(D_K) * np.geomspace(0.25, 4.0, B)[rng.permutation(B)]
    mass = np.geomspace(0.1, 10.0, B)[rng.permutation(B)]
    damping = 2 * ZETA * np.sqrt(mass * temperature)
    omega0 = np.sqrt(temperature / mass)
    t1 = RELAXATION_TIMES / (ZETA * omega0)  # underdamped: rate = zeta omega0
    return energies, temperature, mass, damping, t1


def softmax_distance(x, energies, temperature):
    """Fisher–Rao distance from the sphere point x to softmax(-E/T), in numpy."""
    logits = -energies / temperature[:, None]
    star = np.exp(logits - logits.max(-1, keepdims=True))
    star /= star.sum(-1, keepdims=True)
    rho = x**2 / np.sum(x**2, -1, keepdims=True)
    chord = np.linalg.norm(np.sqrt(rho) - np.sqrt(star), axis=-1)
    return 4 * np.arcsin(np.clip(chord / 2, 0, 1))


# --- the methods (each run in a worker process) -----------------------------------------------


def run_thermo_ode(B, N):
    import jax

    jax.config.update("jax_enable_x64", True)
    import thermo_ode as to

    E, T, m, g, t1 = workload(B, N)
    system = to.AttentionSystem(E, T, m, g)
    rho0 = np.full((B, N), 1.0 / N)

    def solve():
        traj = to.simulate(system, rho0, t1, saves=2, rtol=RTOL, atol=ATOL)
        jax.block_until_ready(traj.rho)
        return traj

    start = time.perf_counter()
    solve()
    first = time.perf_counter() - start
    start = time.perf_counter()
    traj = solve()
    wall = time.perf_counter() - start
    steps = np.asarray(traj.num_steps)
    return dict(compile_s=first - wall, wall_s=wall, steps_total=int(steps.sum()), steps_max=int(steps.max()),
                lockstep_iterations=_grouped_iterations(system, t1, steps), ungrouped_iterations=int(steps.max()) * B,
                worst_distance=float(np.asarray(traj.final_distance).max()), failed=int((np.asarray(traj.status) != 0).sum()))


def _grouped_iterations(system, t1, steps):
    """System-iterations the grouped vmapped solve computes: each group runs as long as its
    slowest member (the groups as `simulate` forms them)."""
    from thermo_ode.simulation import cost_groups, predicted_cost

    groups = cost_groups(predicted_cost(system, t1))
    return int(steps[groups].max(1).sum() * groups.shape[1])


def _sphere_rhs_jax(E, T, m, g):
    import jax.numpy as jnp
    from jax.scipy.special import xlogy

    def rhs(t, y, args):
        x, v = y
        grad = 0.5 * (x * (E + T) + T * xlogy(x, 0.25 * x * x))
        f = -grad - g * v
        mu = -(m * jnp.dot(v, v) + jnp.dot(x, f)) / jnp.dot(x, x)
        return v, (f + mu * x) / m

    return rhs


def run_naive_diffrax(B, N):
    import jax

    jax.config.update("jax_enable_x64", True)
    import diffrax
    import jax.numpy as jnp

    E, T, m, g, t1 = workload(B, N)
    common_t1 = float(t1.max())

    @jax.jit
    def solve(E, T, m, g):
        def one(E, T, m, g):
            x0 = jnp.full(N, 2.0 / np.sqrt(N))
            sol = diffrax.diffeqsolve(
                diffrax.ODETerm(_sphere_rhs_jax(E, T, m, g)), diffrax.Tsit5(), 0.0, common_t1, None, (x0, jnp.zeros(N)),
                saveat=diffrax.SaveAt(t1=True), stepsize_controller=diffrax.PIDController(rtol=RTOL, atol=ATOL),
                max_steps=1_000_000, throw=False,
            )
            return sol.ys[0][-1], sol.stats["num_steps"], sol.result != diffrax.RESULTS.successful

        return jax.vmap(one)(E, T, m, g)

    args = [jnp.asarray(a) for a in (E, T, m, g)]
    start = time.perf_counter()
    jax.block_until_ready(solve(*args))
    first = time.perf_counter() - start
    start = time.perf_counter()
    x, steps, status = jax.block_until_ready(solve(*args))
    wall = time.perf_counter() - start
    steps = np.asarray(steps)
    return dict(compile_s=first - wall, wall_s=wall, steps_total=int(steps.sum()), steps_max=int(steps.max()),
                lockstep_iterations=int(steps.max()) * B, worst_distance=float(softmax_distance(np.asarray(x), E, T).max()),
                failed=int((np.asarray(status) != 0).sum()))


def _sphere_rhs_numpy(E, T, m, g):
    def rhs(t, y):
        n = len(y) // 2
        x, v = y[:n], y[n:]
        rho = x * x / 4
        log_rho = np.log(np.where(rho > 0, rho, 1.0))
        f = -0.5 * x * (E + T * log_rho + T) - g * v
        mu = -(m * v @ v + x @ f) / (x @ x)
        return np.concatenate([v, (f + mu * x) / m])

    return rhs


def run_scipy(B, N):
    from scipy.integrate import solve_ivp

    E, T, m, g, t1 = workload(B, N)
    picks = np.unique(np.linspace(0, B - 1, min(B, SCIPY_SUBSAMPLE)).astype(int))
    steps, finals = [], []
    start = time.perf_counter()
    for i in picks:  # each system to its own end time: the most favourable way to use scipy
        y0 = np.concatenate([np.full(N, 2.0 / np.sqrt(N)), np.zeros(N)])
        sol = solve_ivp(_sphere_rhs_numpy(E[i], T[i], m[i], g[i]), (0, t1[i]), y0, method="DOP853", rtol=RTOL, atol=ATOL)
        steps.append(sol.nfev / 12)  # DOP853: 12 evaluations per step
        finals.append(sol.y[:N, -1])
    per_system = (time.perf_counter() - start) / len(picks)
    worst = float(softmax_distance(np.array(finals), E[picks], T[picks]).max())
    return dict(compile_s=0.0, wall_s=per_system * B, measured_systems=len(picks), steps_total=float(np.mean(steps) * B),
                steps_max=float(np.max(steps)), lockstep_iterations=None, worst_distance=worst, failed=0)


def run_torchdiffeq(B, N):
    import torch
    from torchdiffeq import odeint

    torch.set_default_dtype(torch.float64)
    E, T, m, g, t1 = workload(B, N)
    E, T, m, g = (torch.as_tensor(a) for a in (E, T, m, g))
    T, m, g = T[:, None], m[:, None], g[:, None]
    calls = [0]

    def rhs(t, y):
        calls[0] += 1
        x, v = y[:, :N], y[:, N:]
        rho = x * x / 4
        f = -0.5 * (x * (E + T) + T * torch.xlogy(x, rho)) - g * v
        mu = -(m[:, 0] * (v * v).sum(1) + (x * f).sum(1)) / (x * x).sum(1)
        return torch.cat([v, (f + mu[:, None] * x) / m], 1)

    y0 = torch.cat([torch.full((B, N), 2.0 / np.sqrt(N)), torch.zeros(B, N)], 1)
    start = time.perf_counter()
    with torch.no_grad():
        y = odeint(rhs, y0, torch.tensor([0.0, float(t1.max())]), method="dopri5", rtol=RTOL, atol=ATOL)[-1]
    wall = time.perf_counter() - start
    steps = calls[0] / 6  # dopri5 (FSAL): about 6 evaluations per step, shared by the batch
    return dict(compile_s=0.0, wall_s=wall, steps_total=steps * B, steps_max=steps, lockstep_iterations=steps * B,
                worst_distance=float(softmax_distance(y[:, :N].numpy(), E.numpy(), T[:, 0].numpy()).max()), failed=0)


METHODS = {"thermo-ode": run_thermo_ode, "naive-diffrax": run_naive_diffrax, "scipy-dop853": run_scipy, "torchdiffeq": run_torchdiffeq}


def copy_bandwidth_gb_s(megabytes: int = 256) -> float:
    """Memory bandwidth of this machine as numpy sees it: read + write of a large copy."""
    a = np.ones(megabytes * 2**20 // 8)
    b = np.empty_like(a)
    best = np.inf
    for _ in range(5):
        start = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - start)
    return 2 * a.nbytes / best / 1e9


def bytes_per_system_step(N: int) -> int:
    """Model of the memory traffic of one Tsit5 step of one system in float64: 6 vector-field
    evaluations (each reads x, v, E and writes two N-vectors), 7 stage combinations reading up
    to 7 stage vectors of size 2N, and the error estimate. A lower bound: it assumes no spill."""
    field = 6 * 5 * N
    combinations = sum(range(1, 8)) * 2 * N + 7 * 2 * N
    return 8 * (field + combinations)


# --- driver ---------------------------------------------------------------------------------


def worker(method: str, B: int, N: int) -> dict:
    result = METHODS[method](B, N)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def available(method: str) -> bool:
    if method != "torchdiffeq":
        return True
    try:
        import torch  # noqa: F401
        import torchdiffeq  # noqa: F401
    except ImportError:
        return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=STANDARD_SIZES, help="BxN sizes (default: %(default)s)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--plot", help="write the scaling plot here (PNG)")
    parser.add_argument("--worker", nargs=3, metavar=("METHOD", "B", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        method, B, N = args.worker
        print(json.dumps(worker(method, int(B), int(N))))
        return

    rows = []
    for size in args.sizes:
        B, N = (int(v) for v in size.lower().split("x"))
        for method in args.methods:
            if not available(method):
                rows.append(dict(method=method, B=B, N=N, skipped="not installed"))
                continue
            out = subprocess.run([sys.executable, __file__, "--worker", method, str(B), str(N)], capture_output=True, text=True,
                                 env=dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "")))
            if out.returncode != 0:
                rows.append(dict(method=method, B=B, N=N, skipped=f"failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}"))
                continue
            row = dict(method=method, B=B, N=N, **json.loads(out.stdout.strip().splitlines()[-1]))
            row["system_steps_per_s"] = row["steps_total"] / row["wall_s"] if row["wall_s"] > 0 else None
            rows.append(row)
            print(f"  {method:14s} {B:>7d} x {N:<3d} wall {row['wall_s']:9.3f} s", file=sys.stderr)
    # Measured after the workers: Linux keeps a process's peak RSS across exec, so a large
    # allocation here first would show up as every worker's peak.
    bandwidth = copy_bandwidth_gb_s()
    for row in rows:
        if row.get("method") == "thermo-ode" and "wall_s" in row:
            row["bandwidth_fraction"] = bytes_per_system_step(row["N"]) * row["steps_total"] / row["wall_s"] / (bandwidth * 1e9)
    for row in rows:
        ref = next((r for r in rows if r["method"] == "thermo-ode" and r["B"] == row["B"] and r["N"] == row["N"] and "wall_s" in r), None)
        if ref and "wall_s" in row:
            row["slowdown_vs_thermo_ode"] = row["wall_s"] / ref["wall_s"]
    report = dict(machine=f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}", copy_bandwidth_gb_s=bandwidth, rows=rows)
    try:
        import jax

        report["jax"] = f"{jax.__version__} on {jax.default_backend()}"
    except ImportError:
        pass
    print_table(report)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    if args.plot:
        plot_scaling(report, args.plot)


def print_table(report):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"relaxation benchmark: {report['machine']}, copy bandwidth {report['copy_bandwidth_gb_s']:.1f} GB/s")
    for column in ("B x N", "method", "compile s", "wall s", "steps (total)", "steps max", "system-steps/s", "peak MB", "worst distance", "x slower than thermo-ode"):
        table.add_column(column, justify="right")
    fmt = lambda v, f: "-" if v is None else format(v, f)
    for r in report["rows"]:
        if "skipped" in r:
            table.add_row(f"{r['B']} x {r['N']}", r["method"], r["skipped"], *[""] * 7)
            continue
        table.add_row(
            f"{r['B']} x {r['N']}", r["method"], fmt(r["compile_s"], ".2f"), fmt(r["wall_s"], ".3g"), fmt(r["steps_total"], ".3g"),
            fmt(r["steps_max"], ".0f"), fmt(r.get("system_steps_per_s"), ".3g"), fmt(r["peak_rss_mb"], ".0f"),
            fmt(r["worst_distance"], ".1e"), fmt(r.get("slowdown_vs_thermo_ode"), ".3g"),
        )
    Console().print(table)
    for r in report["rows"]:
        if r.get("bandwidth_fraction") is not None:
            print(f"thermo-ode {r['B']} x {r['N']}: modelled traffic {r['bandwidth_fraction']:.1%} of the copy bandwidth; "
                  f"steps taken / steps computed {r['steps_total'] / r['lockstep_iterations']:.2f} with cost-sorted groups "
                  f"({r['steps_total'] / r['ungrouped_iterations']:.2f} if the batch ran as one vmap)")


def plot_scaling(report, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.8, len(METHODS)))
    for color, method in zip(colors, METHODS):
        rows = [r for r in report["rows"] if r["method"] == method and "wall_s" in r and r["B"] * r["N"] >= 1024 * 32]
        if rows:
            size = [r["B"] * r["N"] for r in rows]
            ax.loglog(size, [r["wall_s"] for r in rows], "o-", color=color, label=method)
    if any(r["method"] == "thermo-ode" and "wall_s" in r for r in report["rows"]):
        ref = [r for r in report["rows"] if r["method"] == "thermo-ode" and "wall_s" in r and r["B"] * r["N"] >= 1024 * 32]
        if ref:
            x = np.array([r["B"] * r["N"] for r in ref], float)
            ax.loglog(x, ref[0]["wall_s"] * x / x[0], "k:", label="linear in B x N")
    ax.set(xlabel="B x N (systems x tokens)", ylabel="wall time after compile (s)", title=f"Scaling on {report['machine']}")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=130)


if __name__ == "__main__":
    main()
