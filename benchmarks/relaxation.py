"""Side-by-side benchmark: relax B random heads of N tokens to softmax.

    python benchmarks/relaxation.py                   # standard sizes, table + JSON
    python benchmarks/relaxation.py --sizes 1x16      # the CI smoke test
    python benchmarks/relaxation.py --json out.json --plot scaling.png
    python benchmarks/relaxation.py --preset gpu --json gpu.json      # on a GPU machine

Workload: energies from random q, k (d_k = 64); temperature log-spaced over [0.25, 4] x
sqrt(d_k) (around the attention default T = sqrt(d_k)); mass log-spaced over [0.1, 10];
damping ratio 0.5; uniform start; float64 with rtol 1e-8, atol 1e-10 (float32: rtol 1e-6,
atol 1e-8); every system integrated until it is within Fisher–Rao distance 1e-6 of softmax
(30 predicted relaxation times; each method's worst final distance is reported so accuracy
can be compared).

Methods, each in its own process (clean peak memory, cold compile):
- thermo-ode: `simulate` with its defaults, in natural time, each system to its own end time,
  after `thermo_ode.use_all_cores()` (one CPU device per core); thermo-ode-1-device without it;
- thermo-ode-groups: `simulate(engine="vmap", solver="tsit5")`: cost-sorted lockstep groups of
  vmapped diffrax Tsit5 solves;
- thermo-ode-refill: `simulate(engine="refill", solver="fused_tsit5")`, `--pool` slots;
- naive diffrax: `jax.vmap` of per-system Tsit5 solves of the same sphere equations in physical
  time, no projection, one common end time (the slowest system's), as a user would write it;
- scipy: `solve_ivp(DOP853)` per system over a subsample, scaled to B;
- torchdiffeq: batched `dopri5` on one (B, 2N) tensor, if torch and torchdiffeq are installed
  (`pip install torch==2.13.0 torchdiffeq`: the CPU build; an unpinned torch pulls CUDA);
- roofline: the machine's rates in the same run, through jax on the same backend and dtype:
  a large copy (memory bandwidth) and a fused elementwise polynomial (arithmetic rate).

The work of one step is XLA's own count (`cost_analysis` of the compiled, vmapped step of the
solver thermo-ode used: flops plus transcendentals, and bytes accessed), so the fractions of
the roofline printed at the end are the step's counted work at the measured rates.
"""

from __future__ import annotations

import argparse
import heapq
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
TOLERANCES = {"float64": (1e-8, 1e-10), "float32": (1e-6, 1e-8)}  # (rtol, atol)
RELAXATION_TIMES = 30.0
STANDARD_SIZES = ["1x16", "1024x32", "4096x32", "16384x64"]
SCIPY_SUBSAMPLE = 128  # systems; per-system costs are heavy-tailed, so a few would give a noisy estimate
THERMO_ODE = {  # simulate's keyword arguments for each thermo-ode method
    "thermo-ode": {},
    "thermo-ode-1-device": {},  # on one CPU device: without thermo_ode.use_all_cores()
    "thermo-ode-groups": dict(engine="vmap", solver="tsit5"),
    "thermo-ode-refill": dict(engine="refill", solver="fused_tsit5"),
}
VARIANTS = ("thermo-ode-1-device", "thermo-ode-groups", "thermo-ode-refill")  # run when named (or by a preset)
PRESETS = {  # --preset NAME: sizes, precisions, methods, seconds before a method is stopped
    # naive diffrax in float32 takes over ten thousand steps for some systems at these
    # tolerances (not finished at 10^6 x 64 after 45 s on an H200): the timeout bounds the run.
    "gpu": (
        ["100000x64", "1000000x64"],
        ["float64", "float32"],
        ["roofline", "thermo-ode", "thermo-ode-groups", "naive-diffrax"],
        120.0,
    ),
}


def workload(B: int, N: int, seed: int = 0):
    """Energies, temperature, mass, damping and end time of B systems of N tokens (float64)."""
    rng = np.random.default_rng(seed)
    # E = -q.k with k ~ N(0, I) is N(0, |q|^2) per token, independent across tokens given q:
    # drawn that way, a (10^6, 64) workload takes (B, N) normals instead of (B, N, d_k).
    q = rng.normal(size=(B, D_K))
    energies = -np.linalg.norm(q, axis=1)[:, None] * rng.normal(size=(B, N))
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


def _jax(precision: str, all_cores: bool = False):
    """jax in `precision`; with `all_cores`, one CPU device per core (as `thermo_ode.use_all_cores`)."""
    import jax

    if all_cores:
        from thermo_ode import use_all_cores

        use_all_cores()
    jax.config.update("jax_enable_x64", precision == "float64")
    return jax


ONCE_AFTER = 60.0  # seconds; the driver lowers it to a third of --timeout


def _timed_twice(solve):
    """(compile seconds, wall seconds after compile, result): the first call compiles. A first
    call longer than `ONCE_AFTER` seconds is not repeated: its time, compile included, is the
    wall time, and the compile time is None (not separated)."""
    start = time.perf_counter()
    result = solve()
    first = time.perf_counter() - start
    if first > ONCE_AFTER:
        return None, first, result
    start = time.perf_counter()
    result = solve()
    wall = time.perf_counter() - start
    return first - wall, wall, result


def run_thermo_ode(B, N, precision, method="thermo-ode", pool=None):
    jax = _jax(precision, all_cores=method != "thermo-ode-1-device")
    import thermo_ode as to

    rtol, atol = TOLERANCES[precision]
    E, T, m, g, t1 = workload(B, N)
    system = to.AttentionSystem(E, T, m, g)
    rho0 = np.full((B, N), 1.0 / N)
    options = dict(THERMO_ODE[method])
    if pool is not None:
        options["pool"] = pool

    def solve():
        traj = to.simulate(system, rho0, t1, saves=2, rtol=rtol, atol=atol, **options)
        jax.block_until_ready(traj.rho)
        return traj

    compile_s, wall, traj = _timed_twice(solve)
    steps = np.asarray(traj.num_steps)
    return dict(
        compile_s=compile_s,
        wall_s=wall,
        steps_total=int(steps.sum()),
        steps_max=int(steps.max()),
        devices=jax.local_device_count(),
        steps_computed=_steps_computed(system, t1, steps, options),
        grouped_iterations=_grouped_iterations(system, t1, steps),
        ungrouped_iterations=int(steps.max()) * B,
        worst_distance=float(np.asarray(traj.final_distance).max()),
        failed=int((np.asarray(traj.status) != 0).sum()),
        options={k: str(v) for k, v in options.items()},
        step_cost=step_cost(system, rho0, t1, options.get("solver")),
    )


def _steps_computed(system, t1, steps, options) -> int:
    """System-steps the engine computes, idle slots included: for refill, every device runs
    its loop as long as its busiest slot (slots take their queue in order, as the engine does);
    for grouped vmap, each group as long as its slowest member."""
    import jax

    from thermo_ode.batching import pool_size, predicted_cost, refill_queues

    if options.get("engine", "refill") != "refill":
        return _grouped_iterations(system, t1, steps)
    queues = refill_queues(predicted_cost(system, t1), jax.local_device_count())
    pool = pool_size(options.get("pool"), queues.shape[1])
    total = 0
    for queue in queues:
        free = [(0, slot) for slot in range(pool)]  # (iteration at which the slot is free, slot)
        end = 0
        for n in steps[queue]:
            start, slot = heapq.heappop(free)
            heapq.heappush(free, (start + int(n), slot))
            end = max(end, start + int(n))
        total += end * pool
    return total


def _grouped_iterations(system, t1, steps):
    """System-iterations a grouped vmapped solve computes: each group runs as long as its
    slowest member (the groups as `simulate(engine="vmap")` forms them)."""
    from thermo_ode.batching import cost_groups, predicted_cost

    groups = cost_groups(predicted_cost(system, t1))
    return int(steps[groups].max(1).sum() * groups.shape[1])


def step_cost(system, rho0, t1, solver, sample: int = 1024) -> dict:
    """XLA's count of the work of one step of one system (flops, transcendentals, bytes
    accessed), from the compiled vmapped step of `solver`'s method (simulate's default when
    None) over `sample` systems of the workload, in the sphere chart and natural time."""
    import diffrax
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from thermo_ode.charts import resolve_chart
    from thermo_ode.fused import FUSED_SOLVERS
    from thermo_ode.integration import Inputs, set_up
    from thermo_ode.options import Options, resolve_solver_choice

    sample = min(sample, len(t1))
    system = jax.tree.map(lambda a: a[:sample], system)
    rho0, t1 = jnp.asarray(rho0[:sample], system.dtype), jnp.asarray(t1[:sample], system.dtype)
    stepper = resolve_solver_choice(solver, False, True)
    # XLA counts a loop's body once, and diffrax's own Runge–Kutta steps loop over their
    # stages: count the same tableau with its stages written out.
    stepper = next((fused() for fused in FUSED_SOLVERS.values() if type(stepper) is fused.method), stepper)

    opts = Options(
        chart=resolve_chart("sphere"),
        solver=stepper,
        controller=diffrax.PIDController(rtol=1e-8, atol=1e-10),
        second_order=True,
        time="natural",
    )

    def setup(s, r, t):
        return set_up(s, Inputs(r, jnp.zeros_like(r), t, jnp.stack([0 * t, t])), opts)

    problems = eqx.filter_vmap(setup)(system, rho0, t1)
    states = eqx.filter_vmap(lambda p: p.solver.init(p.terms, 0 * p.dt0, p.dt0, p.y0, p.coefficients))(problems)

    def step(p, state):
        y1, error, _, state, _ = p.solver.step(p.terms, 0 * p.dt0, p.dt0, p.y0, p.coefficients, state, False)
        return y1, error, state

    arrays, static = eqx.partition((problems, states), eqx.is_array)
    batched = jax.jit(lambda arrays: eqx.filter_vmap(lambda tree: step(*eqx.combine(tree, static)))(arrays))
    analysis = batched.lower(arrays).compile().cost_analysis()
    analysis = analysis[0] if isinstance(analysis, (list, tuple)) else analysis
    per_system = lambda key: float(analysis.get(key, 0.0)) / sample
    return dict(
        flops=per_system("flops"),
        transcendentals=per_system("transcendentals"),
        bytes=per_system("bytes accessed"),
        solver=type(stepper).__name__,
    )


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


def run_naive_diffrax(B, N, precision):
    jax = _jax(precision)
    import diffrax
    import jax.numpy as jnp

    rtol, atol = TOLERANCES[precision]
    E, T, m, g, t1 = workload(B, N)
    common_t1 = float(t1.max())

    @jax.jit
    def solve(E, T, m, g):
        def one(E, T, m, g):
            x0 = jnp.full(N, 2.0 / np.sqrt(N), E.dtype)
            sol = diffrax.diffeqsolve(
                diffrax.ODETerm(_sphere_rhs_jax(E, T, m, g)),
                diffrax.Tsit5(),
                0.0,
                common_t1,
                None,
                (x0, jnp.zeros_like(x0)),
                saveat=diffrax.SaveAt(t1=True),
                stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
                max_steps=1_000_000,
                throw=False,
            )
            return sol.ys[0][-1], sol.stats["num_steps"], sol.result != diffrax.RESULTS.successful

        return jax.vmap(one)(E, T, m, g)

    args = [jnp.asarray(a) for a in (E, T, m, g)]
    compile_s, wall, (x, steps, status) = _timed_twice(lambda: jax.block_until_ready(solve(*args)))
    steps = np.asarray(steps)
    return dict(
        compile_s=compile_s,
        wall_s=wall,
        steps_total=int(steps.sum()),
        steps_max=int(steps.max()),
        worst_distance=float(softmax_distance(np.asarray(x, float), E, T).max()),
        failed=int((np.asarray(status) != 0).sum()),
    )


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


def run_scipy(B, N, precision):
    from scipy.integrate import solve_ivp

    if precision != "float64":
        raise SystemExit("scipy's solve_ivp computes in float64 only")
    rtol, atol = TOLERANCES[precision]
    E, T, m, g, t1 = workload(B, N)
    picks = np.unique(np.linspace(0, B - 1, min(B, SCIPY_SUBSAMPLE)).astype(int))
    steps, finals = [], []
    start = time.perf_counter()
    for i in picks:  # each system to its own end time: the most favourable way to use scipy
        y0 = np.concatenate([np.full(N, 2.0 / np.sqrt(N)), np.zeros(N)])
        sol = solve_ivp(
            _sphere_rhs_numpy(E[i], T[i], m[i], g[i]), (0, t1[i]), y0, method="DOP853", rtol=rtol, atol=atol
        )
        steps.append(sol.nfev / 12)  # DOP853: 12 evaluations per step
        finals.append(sol.y[:N, -1])
    per_system = (time.perf_counter() - start) / len(picks)
    worst = float(softmax_distance(np.array(finals), E[picks], T[picks]).max())
    return dict(
        compile_s=0.0,
        wall_s=per_system * B,
        measured_systems=len(picks),
        steps_total=float(np.mean(steps) * B),
        steps_max=float(np.max(steps)),
        worst_distance=worst,
        failed=0,
    )


def run_torchdiffeq(B, N, precision):
    import torch
    from torchdiffeq import odeint

    rtol, atol = TOLERANCES[precision]
    torch.set_default_dtype(getattr(torch, precision))
    E, T, m, g, t1 = workload(B, N)
    E, T, m, g = (torch.as_tensor(a, dtype=torch.get_default_dtype()) for a in (E, T, m, g))
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
        y = odeint(rhs, y0, torch.tensor([0.0, float(t1.max())]), method="dopri5", rtol=rtol, atol=atol)[-1]
    wall = time.perf_counter() - start
    steps = calls[0] / 6  # dopri5 (FSAL): about 6 evaluations per step, shared by the batch
    return dict(
        compile_s=0.0,
        wall_s=wall,
        steps_total=steps * B,
        steps_max=steps,
        worst_distance=float(
            softmax_distance(y[:, :N].double().numpy(), E.double().numpy(), T[:, 0].double().numpy()).max()
        ),
        failed=0,
    )


def run_roofline(B, N, precision):
    """The backend's rates in `precision` on all its local devices (one per core on a CPU):
    bytes/s of a large copy (read + write) and flops/s of a fused elementwise Horner
    polynomial (64 multiply-adds per element), best of 10."""
    jax = _jax(precision, all_cores=True)
    import jax.numpy as jnp
    from jax.sharding import NamedSharding, PartitionSpec

    spread = NamedSharding(jax.make_mesh((jax.local_device_count(),), ("d",)), PartitionSpec("d"))

    def best(fn, x):
        jax.block_until_ready(fn(x))
        times = []
        for _ in range(10):
            start = time.perf_counter()
            jax.block_until_ready(fn(x))
            times.append(time.perf_counter() - start)
        return min(times)

    cpu = jax.default_backend() == "cpu"
    big = jax.device_put(jnp.ones(2**25 if cpu else 2**28, precision), spread)
    copy_s = best(jax.jit(lambda a: a + 1), big)

    @jax.jit
    def horner(a):
        p = jnp.ones_like(a)
        for c in np.linspace(0.5, 1.5, 64):
            p = p * a + c
        return p

    small = jax.device_put(jnp.full(2**20 if cpu else 2**26, 0.5, precision), spread)
    horner_s = best(horner, small)
    return dict(
        bandwidth_gb_s=2 * big.nbytes / copy_s / 1e9,
        flops_g_s=2 * 64 * small.size / horner_s / 1e9,
        backend=jax.default_backend(),
        device=str(jax.devices()[0].device_kind),
        devices=jax.local_device_count(),
        jax=jax.__version__,
    )


METHODS = {
    **{name: run_thermo_ode for name in THERMO_ODE},
    "naive-diffrax": run_naive_diffrax,
    "scipy-dop853": run_scipy,
    "torchdiffeq": run_torchdiffeq,
    "roofline": run_roofline,
}


# --- driver ---------------------------------------------------------------------------------


def worker(method: str, B: int, N: int, precision: str, pool: int | None) -> dict:
    extra = dict(method=method, pool=pool) if method in THERMO_ODE else {}
    result = METHODS[method](B, N, precision, **extra)
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


def run_worker(method, B, N, precision, pool, timeout) -> dict:
    """One method in a fresh process: its result row, or a row saying why there is none."""
    row = dict(method=method, B=B, N=N, precision=precision)
    command = [sys.executable, __file__, "--worker", method, str(B), str(N), precision] + (
        [] if pool is None else ["--pool", str(pool)]
    )
    if timeout is not None:  # a first call past a third of the timeout is not repeated
        command += ["--once-after", str(min(ONCE_AFTER, timeout / 3))]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(row, skipped=f"stopped after {timeout:g} s")
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines()
        return dict(row, skipped=f"failed: {lines[-1] if lines else out.returncode}")
    row.update(json.loads(out.stdout.strip().splitlines()[-1]))
    if "wall_s" in row:
        row["system_steps_per_s"] = row["steps_total"] / row["wall_s"]
    return row


def add_ratios(rows) -> None:
    """Ratios within one run: each method against thermo-ode at the same size and precision,
    and a thermo-ode method's counted step work against the roofline of its precision."""
    for row in rows:
        if "wall_s" not in row:
            continue
        same = lambda r: (r["B"], r["N"], r["precision"]) == (row["B"], row["N"], row["precision"]) and "wall_s" in r
        ref = next((r for r in rows if r["method"] == "thermo-ode" and same(r)), None)
        if ref:
            row["slowdown_vs_thermo_ode"] = row["wall_s"] / ref["wall_s"]
        roof = next(
            (
                r
                for r in rows
                if r["method"] == "roofline" and r["precision"] == row["precision"] and "bandwidth_gb_s" in r
            ),
            None,
        )
        if roof and "step_cost" in row:
            rate, cost = row["system_steps_per_s"], row["step_cost"]
            row["flops_fraction"] = rate * (cost["flops"] + cost["transcendentals"]) / (roof["flops_g_s"] * 1e9)
            row["bandwidth_fraction"] = rate * cost["bytes"] / (roof["bandwidth_gb_s"] * 1e9)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--preset",
        choices=list(PRESETS),
        help=f"a named set of sizes, precisions, methods and timeout (gpu: {' '.join(PRESETS['gpu'][0])}, {PRESETS['gpu'][3]:g} s)",
    )
    parser.add_argument("--sizes", nargs="+", help=f"BxN sizes (default: {' '.join(STANDARD_SIZES)})")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), help=f"default: all but {', '.join(VARIANTS)}")
    parser.add_argument("--precisions", nargs="+", choices=list(TOLERANCES), help="default: float64")
    parser.add_argument("--pool", type=int, help="slots of the refill engine (default: simulate's)")
    parser.add_argument("--timeout", type=float, help="stop a method after this many seconds (reported as stopped)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--plot", help="write the scaling plot here (PNG)")
    parser.add_argument("--worker", nargs=4, metavar=("METHOD", "B", "N", "PRECISION"), help=argparse.SUPPRESS)
    parser.add_argument("--once-after", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        if args.once_after is not None:
            global ONCE_AFTER
            ONCE_AFTER = args.once_after
        method, B, N, precision = args.worker
        print(json.dumps(worker(method, int(B), int(N), precision, args.pool)))
        return
    sizes, precisions, methods, timeout = (
        PRESETS[args.preset]
        if args.preset
        else (STANDARD_SIZES, ["float64"], [m for m in METHODS if m not in VARIANTS], None)
    )
    sizes, precisions, methods = args.sizes or sizes, args.precisions or precisions, args.methods or methods
    args.timeout = args.timeout if args.timeout is not None else timeout

    rows = []
    for precision in precisions:
        if "roofline" in methods:
            rows.append(run_worker("roofline", 0, 0, precision, None, args.timeout))
        for size in sizes:
            B, N = (int(v) for v in size.lower().split("x"))
            for method in methods:
                if method == "roofline":
                    continue
                if not available(method):
                    rows.append(dict(method=method, B=B, N=N, precision=precision, skipped="not installed"))
                    continue
                row = run_worker(method, B, N, precision, args.pool, args.timeout)
                rows.append(row)
                if args.json:  # so far, in case the run is stopped
                    with open(args.json, "w") as fh:
                        json.dump(dict(rows=rows, complete=False), fh, indent=2)
                print(
                    f"  {precision} {method:18s} {B:>8d} x {N:<3d} "
                    + (f"wall {row['wall_s']:9.3f} s" if "wall_s" in row else row["skipped"]),
                    file=sys.stderr,
                    flush=True,
                )
    add_ratios(rows)
    report = dict(
        machine=f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}", rows=rows
    )
    roof = next((r for r in rows if r["method"] == "roofline" and "jax" in r), None)
    if roof:
        report["jax"] = f"{roof['jax']} on {roof['backend']} ({roof['device']})"
    print_table(report)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    if args.plot:
        plot_scaling(report, args.plot)


def print_table(report):
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    table = Table(title=f"relaxation benchmark: {report['machine']}, jax {report.get('jax', '(no roofline run)')}")
    for column in (
        "B x N",
        "precision",
        "method",
        "compile s",
        "wall s",
        "steps (total)",
        "steps max",
        "system-steps/s",
        "peak MB",
        "worst distance",
        "x slower than thermo-ode",
    ):
        table.add_column(column, justify="right")
    fmt = lambda v, f: "-" if v is None else format(v, f)
    for r in report["rows"]:
        if r["method"] == "roofline" and "skipped" not in r:
            continue
        if "skipped" in r:
            table.add_row(f"{r['B']} x {r['N']}", r["precision"], r["method"], r["skipped"], *[""] * 7)
            continue
        table.add_row(
            f"{r['B']} x {r['N']}",
            r["precision"],
            r["method"],
            fmt(r["compile_s"], ".2f"),
            fmt(r["wall_s"], ".3g"),
            fmt(r["steps_total"], ".3g"),
            fmt(r["steps_max"], ".0f"),
            fmt(r.get("system_steps_per_s"), ".3g"),
            fmt(r["peak_rss_mb"], ".0f"),
            fmt(r["worst_distance"], ".1e"),
            fmt(r.get("slowdown_vs_thermo_ode"), ".3g"),
        )
    console.print(table)
    for r in report["rows"]:
        if r["method"] == "roofline" and "bandwidth_gb_s" in r:
            console.print(
                f"roofline {r['precision']} on {r['devices']} {r['backend']} device(s) ({r['device']}): copy {r['bandwidth_gb_s']:.1f} GB/s, "
                f"fused elementwise {r['flops_g_s']:.1f} Gflop/s"
            )
        elif "step_cost" in r and "wall_s" in r:
            cost = r["step_cost"]
            console.print(
                f"{r['method']} {r['B']} x {r['N']} {r['precision']} on {r['devices']} device(s): steps taken / steps computed "
                f"{r['steps_total'] / r['steps_computed']:.3f} (grouped vmap {r['steps_total'] / r['grouped_iterations']:.2f}, "
                f"one vmap {r['steps_total'] / r['ungrouped_iterations']:.2f}); "
                f"one {cost['solver']} step counted {cost['flops'] + cost['transcendentals']:.0f} flops, {cost['bytes']:.0f} bytes"
                + (
                    f": {r['flops_fraction']:.1%} of the elementwise flop rate, {r['bandwidth_fraction']:.1%} of the copy bandwidth"
                    if "flops_fraction" in r
                    else ""
                )
            )


def plot_scaling(report, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    timed = [m for m in METHODS if m != "roofline"]
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.8, len(timed)))
    curves = lambda method: [
        r
        for r in report["rows"]
        if r["method"] == method and r["precision"] == "float64" and "wall_s" in r and r["B"] * r["N"] >= 1024 * 32
    ]
    for color, method in zip(colors, timed):
        if rows := curves(method):
            ax.loglog([r["B"] * r["N"] for r in rows], [r["wall_s"] for r in rows], "o-", color=color, label=method)
    if ref := curves("thermo-ode"):
        x = np.array([r["B"] * r["N"] for r in ref], float)
        ax.loglog(x, ref[0]["wall_s"] * x / x[0], "k:", label="linear in B x N")
    ax.set(
        xlabel="B x N (systems x tokens)", ylabel="wall time after compile (s)", title=f"Scaling on {report['machine']}"
    )
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=130)


if __name__ == "__main__":
    main()
