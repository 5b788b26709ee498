"""Render the README's measured numbers from the results files they come from.

Every table or sentence of numbers in the README sits between
`<!-- generated: NAME -->` and `<!-- end: NAME -->` (in the README or a page under docs/) and is
rendered here from a results file (experiments/results/*.json, benchmarks/results/relaxation.json);
tests/test_readme.py checks that every block matches. After rerunning a script that writes a results file:

    python experiments/summarize.py            # print every block
    python experiments/summarize.py --write    # update the blocks in README.md and docs/
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import re

ROOT = pathlib.Path(__file__).parent.parent
RESULTS = ROOT / "experiments" / "results"
ORDER = [
    "softmax_equilibrium",
    "sqrt_dk_temperature",
    "constant_multiplier",
    "specific_heat",
    "equation_of_state",
    "rope_symmetry",
    "layer_trajectory",
]
BLOCK = re.compile(r"<!-- generated: (?P<name>[\w-]+) -->\n(?P<body>.*?)\n?<!-- end: (?P=name) -->", re.S)


def _load(path: pathlib.Path) -> dict:
    return json.loads(path.read_text())


def _g(x: float, digits: int = 2) -> str:
    """A measured value as it is printed everywhere: `digits` significant figures."""
    return f"{x:.{digits}g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.{digits - 1}e}"


def _cell(text: str) -> str:
    """Text for a markdown table cell: a `|` in it would end the cell."""
    return text.replace("|", "\\|")


def experiments() -> str:
    """The full table, for docs/experiments.md (links relative to docs/)."""
    lines = ["| experiment | claim (paper) | outcome (measured) | verdict | time |", "|---|---|---|---|---|"]
    for name in ORDER:
        r = _load(RESULTS / f"{name}.json")
        cells = [_cell(r["claim"]), _cell(r["outcome"])]
        lines.append(
            f"| [`{name}.py`](../experiments/{name}.py) ([figure](../{r['figure']})) | {cells[0]} | {cells[1]} | **{r['verdict']}** | {r['seconds']:.0f} s |"
        )
    return "\n".join(lines)


def experiment_figures() -> str:
    """Each experiment's figure under its verdict, for docs/experiments.md."""
    sections = []
    for name in ORDER:
        r = _load(RESULTS / f"{name}.json")
        sections.append(f"### `{name}.py`: {r['verdict']}\n\n![{name}](../{r['figure']})")
    return "\n\n".join(sections)


def verdicts() -> str:
    """The verdicts alone, for the README."""
    lines = ["| claim of the paper | verdict |", "|---|---|"]
    for name in ORDER:
        r = _load(RESULTS / f"{name}.json")
        lines.append(f"| {_cell(r['claim'])} | **{r['verdict']}** |")
    return "\n".join(lines)


def default_run() -> str:
    r = _load(RESULTS / "cli_runs.json")
    d, f = r["default"], r["default_float32"]
    return (
        f"All {d['converged']} of its {d['solves']} query rows converge to softmax (worst final Fisher–Rao "
        f"distance {_g(d['worst_final_distance'])}; with `--precision float32`, {f['converged']} converge, worst "
        f"{_g(f['worst_final_distance'])}). Measured by `python experiments/cli_runs.py` on {r['machine']}: "
        f"{d['cold']['seconds']} s with a cold compilation cache ({d['cold']['cache_compiled']} programs compiled), "
        f"{d['warm']['seconds']} s with a warm one ({d['warm']['cache_loaded']} loaded, "
        f"{d['warm']['cache_compiled']} compiled); peak memory {d['cold']['peak_mb']} MB."
    )


def _sweep_description(config_path: pathlib.Path) -> str:
    """The sweep axes of a shipped config, read through the schema alone (describing a config
    needs none of the packages running it may need, such as MiniLM's)."""
    import yaml

    from thermo_ode.sweeps.config.sweep_axes import SweepAxes

    data = yaml.safe_load(config_path.read_text())
    axes = SweepAxes.model_validate(data.get("sweep") or {}).axes()
    parts = []
    for key, values in axes.items():
        values = list(values)
        span = f"{_g(min(values), 3)}..{_g(max(values), 3)}" if len(values) > 2 else ", ".join(_g(v, 3) for v in values)
        parts.append(f"{key} {span} ({len(values)})")
    tokens = int(max(axes["tokens"])) if "tokens" in axes else data["system"]["tokens"]
    return " x ".join(parts) + f"; N = {tokens}"


def studies() -> str:
    r = _load(RESULTS / "cli_runs.json")
    lines = [
        f"Measured by `python experiments/cli_runs.py` on {r['machine']}, each in a fresh process with a cold compilation cache:",
        "",
        "| config | what it sweeps | points x rows | converged / not / failed | worst final distance | steps per solve | time, peak memory |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in r["studies"].items():
        outcome = f"{s['converged']} / {s['not_converged']} / {s['failed']}"
        worst = _g(s["worst_final_distance"])
        if s["thermal"]:
            outcome += f" ({s['thermal']} in a heat bath: <K> / equipartition = {s['equipartition']:.3f})"
            worst += " (deterministic rows)" if s["thermal"] < s["solves"] else ""
        lines.append(
            f"| `{name}.yaml` | {_sweep_description(ROOT / 'configs' / f'{name}.yaml')} | {s['points']} x {s['rows']} | {outcome} | "
            f"{worst if s['thermal'] < s['solves'] else '-'} | {s['steps_min']}..{s['steps_max']} | {s['seconds']} s, {s['peak_mb']} MB |"
        )
    return "\n".join(lines)


# The tolerance each oracle is asserted to in tests/ (the script reports the error itself).
ACCURACY_ASSERTED = {
    "equilibrium vs softmax(q.k/sqrt(d)), causal mask": "1e-12",
    "small-oscillation period vs 2 pi sqrt(m/T)": "0.2%",
    "H drift, damping 0, 50 periods, large amplitude": "1e-7",
    "|x|^2/4 - 1 of raw saved states (same run)": "1e-10",
    "decay rate vs linear theory (36 systems)": "1% (10% at zeta = 1)",
    "final distance to softmax (same 36)": "1e-6",
    "m = 0 vs exact rho0^a rho*^(1-a)": "1e-8",
    "mass collapse in natural time (m = 0.1, 1, 10)": "1e-8",
    "logit chart vs sphere chart": "1e-8",
    "autodiff Euler-Lagrange vs sphere chart": "1e-8",
}


def accuracy() -> str:
    r = _load(RESULTS / "core_accuracy.json")
    lines = [
        f"Measured by `python experiments/core_accuracy.py` (float64, {r['machine']}, {r['seconds']:.0f} s):",
        "",
        "| oracle | measured error | test asserts |",
        "|---|---|---|",
    ]
    for name, value in r["errors"].items():
        lines.append(f"| {_cell(name)} | {_g(value)} | {ACCURACY_ASSERTED[name]} |")
    return "\n".join(lines)


def langevin() -> str:
    r = _load(RESULTS / "integrators_and_bath.json")
    m1, m0 = r["density_m1"], r["density_m0"]
    small = {tb: r[f"small_bath_{tb}"] for tb in ("0.1", "0.01", "0.001")}
    variances = ", ".join(f"{v:.3f}" for v in small["0.001"]["mode_variance_over_tb"])
    offsets = ", ".join(_g(s["mean_offset"]) for s in small.values())
    e = r["equipartition"]
    return "\n".join(
        [
            f"Measured by `python experiments/integrators_and_bath.py` ({r['seconds']:.0f} s); `tests/test_langevin.py` asserts each:",
            "",
            "| prediction | measured | test asserts |",
            "|---|---|---|",
            f"| equipartition `<K> = (N-1) T_b/2`, N = 8, 64 systems | ratio {e['ratio']:.4f} (standard error {e['standard_error']:.4f}) | within 2% |",
            f"| stationary density N = 2, KS test against `prod rho^(-1/2) exp(-F/T_b)` | p = {m1['ks_n2']:.2f} (`gbaoab`, m = 1), {m0['ks_n2']:.2f} (`euler`, m = 0); flat measure p = {_g(m1['ks_n2_flat'])}, {_g(m0['ks_n2_flat'])} | p > 0.01; flat measure < 1e-10 |",
            f"| stationary density N = 3, chi-square over (rho_1, rho_2) | p = {m1['chi2_n3']:.2f} (m = 1), {m0['chi2_n3']:.2f} (m = 0); flat measure p = {_g(m1['chi2_n3_flat'])}, {_g(m0['chi2_n3_flat'])} | p > 0.01; flat measure < 1e-10 |",
            f"| mode variance / `(T_b/T)` at `T_b/T = 1e-3` | {variances} | within 5% |",
            f"| Fisher–Rao offset of the mean of `rho` from softmax at `T_b/T` = 0.1, 0.01, 0.001 | {offsets} | decreasing with `T_b` |",
            f"| RATTLE and g-BAOAB convergence order | {r['rattle_order']:.3f}, {r['gbaoab_order']:.3f} | 2 within 0.2 |",
            f"| worst `abs(H - H(0))` over 1e4 periods, `gamma = 0`: RATTLE vs Tsit5 at equal force evaluations | worst {_g(r['rattle_energy']['worst'])} (trend {_g(r['rattle_energy']['drift'])}) vs {_g(r['tsit5_fixed_energy']['worst'])} (trend {_g(r['tsit5_fixed_energy']['drift'])}) | RATTLE bounded, no trend |",
        ]
    )


def minilm() -> str:
    r = _load(RESULTS / "minilm_heads.json")
    by_t = ", ".join(_g(v) for v in r["worst_final_distance_by_temperature"].values())
    return (
        f"Measured by `python experiments/minilm_heads.py` ({r['seconds']:.0f} s): {r['converged']} of {r['rows']} query rows "
        f"converge, {r['failed']} fail; worst final distance per temperature {by_t}; at `T = sqrt(32)` the stored equilibria "
        f"and final states differ from the reference's attention by at most {_g(r['worst_final_rho_vs_reference'])}."
    )


BENCHMARK = ROOT / "benchmarks" / "results" / "relaxation.json"
METHOD_NAMES = {
    "thermo-ode": "thermo-ode",
    "thermo-ode-1-device": "thermo-ode, 1 device",
    "thermo-ode-groups": "thermo-ode, vmapped groups",
    "thermo-ode-refill": "thermo-ode, refill",
    "naive-diffrax": "naive diffrax",
    "scipy-dop853": "scipy DOP853",
    "torchdiffeq": "torchdiffeq",
}
# Issue 14's goals for the 4096 x 32 float64 workload: (label, key, goal, at least?)
GOALS = [
    ("x faster than the scipy DOP853 loop", "vs_scipy", 200, True),
    ("x faster than naive diffrax `vmap`", "vs_naive", 20, True),
    ("steps taken / steps computed", "useful", 0.95, True),
    ("system-steps per second", "rate", 1.5e6, True),
    ("fraction of the elementwise flop rate", "flops_fraction", 0.5, True),
]


def _timed(report, method, B, N, precision="float64"):
    return next(
        (
            r
            for r in report["rows"]
            if (r["method"], r["B"], r["N"], r["precision"]) == (method, B, N, precision) and "wall_s" in r
        ),
        None,
    )


def benchmark() -> str:
    r = _load(BENCHMARK)
    lines = [
        f"Measured by `python benchmarks/relaxation.py` in one run on {r['machine']}, jax {r['jax']}:",
        "",
        "| B x N | precision | method | devices | compile (s) | wall after compile (s) | steps (total) | system-steps/s | steps taken / computed | peak MB | worst final distance | x slower than thermo-ode |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    absent = sorted({METHOD_NAMES[row["method"]] for row in r["rows"] if row.get("skipped") == "not installed"})
    for row in r["rows"]:
        if row["method"] == "roofline" or row.get("skipped") == "not installed":
            continue
        head = f"| {row['B']} x {row['N']} | {row['precision']} | {METHOD_NAMES[row['method']]} |"
        if "wall_s" not in row:
            lines.append(f"{head} | {_cell(row['skipped'])} | | | | | | | | |")
            continue
        compile_s = (
            "-"
            if row["compile_s"] == 0
            else ("n/a" if row["compile_s"] is None or row["compile_s"] < 0 else f"{row['compile_s']:.2f}")
        )
        useful = f"{row['steps_total'] / row['steps_computed']:.3f}" if "steps_computed" in row else "-"
        lines.append(
            f"{head} {row.get('devices', 1)} | {compile_s} | {_g(row['wall_s'], 3)} | {_g(row['steps_total'], 3)} | {row['system_steps_per_s']:.2e} | "
            f"{useful} | {row['peak_rss_mb']:.0f} | {row['worst_distance']:.1e} | {_g(row['slowdown_vs_thermo_ode'], 3)} |"
        )
    if absent:
        lines += ["", f"Not installed on that machine, so not measured: {', '.join(absent)}."]
    return "\n".join(lines)


def _goal_values(report, B=4096, N=32) -> dict:
    ours = _timed(report, "thermo-ode", B, N)
    value = lambda method: (_timed(report, method, B, N) or {}).get("slowdown_vs_thermo_ode")
    return dict(
        vs_scipy=value("scipy-dop853"),
        vs_naive=value("naive-diffrax"),
        useful=ours["steps_total"] / ours["steps_computed"],
        rate=ours["system_steps_per_s"],
        flops_fraction=ours.get("flops_fraction"),
    )


def benchmark_goals() -> str:
    """The goals for 4096 x 32 float64, met or missed, from the same file."""
    r = _load(BENCHMARK)
    values = _goal_values(r)
    lines = ["| 4096 x 32, float64, rtol 1e-8 | goal | measured | |", "|---|---|---|---|"]
    for label, key, goal, at_least in GOALS:
        v = values[key]
        shown = (
            "not measured" if v is None else (f"{v:.1%}" if goal < 1 else (f"{v:.2e}" if goal > 1e3 else f"{v:.0f}"))
        )
        goal_shown = f"{goal:.0%}" if goal < 1 else (f"{goal:.1e}" if goal > 1e3 else f"{goal}")
        verdict = "" if v is None else ("met" if (v >= goal) == at_least else "**missed**")
        lines.append(f"| {label} | {'≥ ' if at_least else '≤ '}{goal_shown} | {shown} | {verdict} |")
    return "\n".join(lines)


def benchmark_findings() -> str:
    """Ratios, useful-step fractions and roofline fractions, from the same benchmark file."""
    r = _load(BENCHMARK)
    lines = []
    for roof in (row for row in r["rows"] if row["method"] == "roofline" and "flops_g_s" in row):
        lines.append(
            f"- Roofline, {roof['precision']}, measured in the same run on {roof['devices']} {roof['backend']} devices: a copy moves "
            f"{roof['bandwidth_gb_s']:.1f} GB/s, a fused elementwise polynomial runs at {roof['flops_g_s']:.0f} Gflop/s."
        )
    for row in r["rows"]:
        if row["method"] != "thermo-ode" or "wall_s" not in row or row["B"] == 1:
            continue
        B, N, precision = row["B"], row["N"], row["precision"]
        others = [
            (METHOD_NAMES[m], _timed(r, m, B, N, precision))
            for m in ("thermo-ode-1-device", "thermo-ode-groups", "naive-diffrax", "scipy-dop853")
        ]
        ratios = ", ".join(f"{name} {_g(o['slowdown_vs_thermo_ode'], 3)}x" for name, o in others if o)
        cost = row["step_cost"]
        lines.append(
            f"- {B} x {N}, {precision}: {100 * row['steps_total'] / row['steps_computed']:.1f}% of the steps computed were needed "
            f"(vmapped groups: {100 * row['steps_total'] / row['grouped_iterations']:.0f}%, one vmap: "
            f"{100 * row['steps_total'] / row['ungrouped_iterations']:.0f}%); slower than thermo-ode: {ratios}; one step "
            f"({cost['flops'] + cost['transcendentals']:.0f} flops as XLA counts them) at {100 * row['flops_fraction']:.0f}% of the elementwise flop rate."
        )
    return "\n".join(lines)


GPU_RESULTS = ROOT / "benchmarks" / "results" / "gpu-h200"
EARLIER_GPU_POOL_SCALE = 65536  # the accelerator default when the "thermo-ode" rows there ran


def _gpu_rows() -> list[dict]:
    """Every row of the GPU runs' files, in the order they ran, each with its pool per device."""
    rows = []
    for path in sorted(GPU_RESULTS.glob("*.json")):
        for row in _load(path)["rows"]:
            pool = (row.get("options") or {}).get("pool")
            if row["method"] == "thermo-ode":
                pool = f"{round(math.sqrt(EARLIER_GPU_POOL_SCALE * row['B']))} (earlier default)"
            elif row["method"] == "thermo-ode-refill" and pool is None:
                pool = re.search(r"pool-(\d+)$", path.stem)[1]  # a stopped run's file has no options
            rows.append(dict(row, pool=pool))
    return rows


def _fastest_refill(rows, B: int, precision: str) -> dict:
    """The fastest finished refill run of B systems in `precision` (over the pools tried)."""
    return min(
        (
            r
            for r in rows
            if r["method"] == "thermo-ode-refill" and "wall_s" in r and (r["B"], r["precision"]) == (B, precision)
        ),
        key=lambda r: r["wall_s"],
    )


def _naive(rows, B: int, precision: str) -> dict:
    return next(r for r in rows if r["method"] == "naive-diffrax" and (r["B"], r["precision"]) == (B, precision))


def _stopped_after(row) -> float:
    """The seconds after which an unfinished run was stopped ("stopped after 100 s")."""
    return float(re.search(r"stopped after ([\d.]+) s", row["skipped"])[1])


def gpu() -> str:
    """The GPU runs: every timed row, the roofline and what they say, from benchmarks/results/gpu-h200/."""
    from thermo_ode import rules

    log = (GPU_RESULTS / "log-1.txt").read_text()
    card = re.search(r"^(NVIDIA [^,]+), ([\d.]+), (\d+) MiB", log, re.M)
    versions = re.search(r" jax ([\d.]+) .* diffrax ([\d.]+) equinox ([\d.]+)", log)
    machine = _load(GPU_RESULTS / "run1-f64.json")["machine"]
    rows = _gpu_rows()
    roofs = {r["precision"]: r for r in rows if r["method"] == "roofline"}
    timed = [r for r in rows if r["method"] != "roofline"]
    order = lambda r: (
        -r["B"],
        r["precision"],
        list(METHOD_NAMES).index(r["method"]),
        int(str(r["pool"] or 0).split()[0]),
    )
    lines = [
        f"Measured on one {card[1]} ({int(card[3]) / 1024:.0f} GiB, driver {card[2]}; host: {machine}) with jax "
        f"{versions[1]} on CUDA, diffrax {versions[2]} and equinox {versions[3]}, by `benchmarks/relaxation.py` (each method "
        f"in its own process; the commands and their output are the logs in `benchmarks/results/gpu-h200/`):",
        "",
        "| B x N | precision | method | pool per device | compile (s) | wall after compile (s) | steps taken / computed | system-steps/s | worst final distance |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(timed, key=order):
        head = f"| {r['B']} x {r['N']} | {r['precision']} | {METHOD_NAMES[r['method']]} | {r['pool'] or '-'} |"
        if "wall_s" not in r:
            lines.append(f"{head} {_cell(r['skipped'])}, unfinished | | | | |")
            continue
        compile_s = "in the wall time" if r["compile_s"] is None else f"{r['compile_s']:.1f}"
        useful = f"{r['steps_total'] / r['steps_computed']:.3f}" if "steps_computed" in r else "-"
        lines.append(
            f"{head} {compile_s} | {_g(r['wall_s'], 3)} | {useful} | {r['steps_total'] / r['wall_s']:.2e} | {r['worst_distance']:.1e} |"
        )
    lines += ["", "What they say:", ""]
    for precision in ("float64", "float32"):
        ours, roof = _fastest_refill(timed, 10**6, precision), roofs[precision]
        stopped = _stopped_after(_naive(timed, 10**6, precision))
        rate = ours["steps_total"] / ours["wall_s"]
        cost = ours["step_cost"]
        lines.append(
            f"- **10^6 x 64, {precision}:** {_g(ours['wall_s'], 3)} s after compile (pool {ours['pool']}), the worst final Fisher–Rao "
            f"distance to softmax {ours['worst_distance']:.1e}; naive diffrax `vmap` had not finished after {stopped:.0f} s, so it is more "
            f"than {stopped / ours['wall_s']:.1f}x slower. At that step rate, one step's bytes and flops as XLA counts them come to "
            f"{rate * cost['bytes'] / (roof['bandwidth_gb_s'] * 1e9):.0%} of the copy bandwidth ({roof['bandwidth_gb_s']:.0f} GB/s, "
            f"reads and writes) and {rate * (cost['flops'] + cost['transcendentals']) / (roof['flops_g_s'] * 1e9):.1%} of the "
            f"elementwise flop rate ({roof['flops_g_s'] / 1e3:.1f} Tflop/s), both measured in the same run."
        )
    ours, theirs = _fastest_refill(timed, 10**5, "float64"), _naive(timed, 10**5, "float64")
    groups = next(r for r in timed if r["method"] == "thermo-ode-groups" and r["B"] == 10**5)
    lines.append(
        f"- **10^5 x 64, float64:** {_g(ours['wall_s'], 3)} s (pool {ours['pool']}); naive diffrax {_g(theirs['wall_s'], 3)} s "
        f"({theirs['wall_s'] / ours['wall_s']:.1f}x slower), vmapped groups {_g(groups['wall_s'], 3)} s "
        f"({groups['wall_s'] / ours['wall_s']:.1f}x)"
        + (
            ": on a GPU one vmap of the whole batch beats 32 groups run one after another."
            if groups["wall_s"] > theirs["wall_s"]
            else "."
        )
    )
    earlier = [r for r in timed if r["method"] == "thermo-ode" and r["precision"] == "float64"]
    lines.append(
        "- **The pool.** The earlier default, about `sqrt(65536 x systems)`, kept "
        + " and ".join(
            f"{r['steps_total'] / r['steps_computed']:.0%} of its slots busy at 10^{round(math.log10(r['B']))} systems"
            for r in earlier
        )
        + f"; pools of {_fastest_refill(timed, 10**5, 'float64')['pool']} and {_fastest_refill(timed, 10**6, 'float64')['pool']} "
        f"were fastest, so the default on an accelerator is now about `sqrt({rules.POOL_SCALE[False]} x systems per device)`."
    )
    return "\n".join(lines)


def gpu_summary() -> str:
    """Two sentences of the GPU runs, for the how-to page."""
    rows = _gpu_rows()
    wall = {precision: _fastest_refill(rows, 10**6, precision)["wall_s"] for precision in ("float64", "float32")}
    stopped = {precision: _stopped_after(_naive(rows, 10**6, precision)) for precision in ("float64", "float32")}
    return (
        f"On one NVIDIA H200, 10^6 systems of 64 tokens relax to softmax in {_g(wall['float64'], 2)} s after compile "
        f"in float64 and in {_g(wall['float32'], 2)} s in float32, where naive diffrax `vmap` had not finished after "
        f"{stopped['float64']:.0f} s and {stopped['float32']:.0f} s: the [benchmarks](../benchmarks.md#on-a-gpu) page has "
        "the table, the roofline and the pool sweep. No TPU has been measured."
    )


def profile() -> str:
    r = _load(ROOT / "benchmarks" / "results" / "profile_refill.json")
    t, logs = r["trace"], r["log_ns_per_element"]
    return (
        f"**Where the time goes**, measured by `python benchmarks/profile_refill.py` (a `jax.profiler` trace of one solve of "
        f"{t['B']} x {t['N']} on {t['devices']} devices, {t['pool']} slots each, on {r['machine']}; {t['wall_s']:.2f} s under the "
        f"trace): {t['kernels_per_iteration']:.0f} XLA kernels per loop iteration (the six stages, every token sum a kernel of its "
        f"own; then the controller, saves and refill bookkeeping), and {100 * t['dispatch_share']:.0f}% "
        f"of the executor's time is spent between kernels rather than in them (the trace's own overhead included). XLA's float64 `log` (the entropy's gradient, "
        f"six per token a step) runs at {logs['xla_float64']:.1f} ns per element here (numpy: {logs['numpy_float64']:.1f} ns; XLA "
        f"in float32: {logs['xla_float32']:.1f} ns): at that rate the logs alone would take {100 * t['log_share_of_kernel_time']:.0f}% "
        f"of the kernel time. {exact_code_cost()}"
    )


def exact_code_cost() -> str:
    r = _load(ROOT / "benchmarks" / "results" / "profile_refill.json")
    t, c = r["trace"], r["exact_cpu_code"]
    return (
        f"Exact CPU code (`use_exact_cpu_code`, no fused multiply-adds) costs {100 * (c['exact_over_fma'] - 1):.0f}% on "
        f"this workload: {c['exact_wall_s']:.2f} s against {c['fma_wall_s']:.2f} s for one solve of {t['B']} x {t['N']} "
        f"(`python benchmarks/profile_refill.py`, fresh processes side by side, on {r['machine']})."
    )


def sweep_memory() -> str:
    r = _load(ROOT / "benchmarks" / "results" / "sweep_memory.json")
    sizes = "; ".join(
        f"{row['points']:,} points: {row['wall_s']:.0f} s ({1e6 * row['wall_s'] / row['points']:.0f} µs per point), peak {row['peak_rss_mb']:.0f} MB, "
        f"{row['converged']:,} converged"
        for row in r["rows"]
    )
    return f"Measured by `python benchmarks/sweep_memory.py` on {r['machine']} ({r['rows'][0]['devices']} devices), end to end through the sweep runner and its store: {sizes}."


def store_scale() -> str:
    r = _load(ROOT / "benchmarks" / "results" / "store_scale.json")
    mib = 2**20
    head = (
        "| points | chunks | run (s) | files | store (MiB) | metadata (KiB) | open (s) | committed? (s) | verify (s) "
        "| netCDF copy (s) | netCDF (MiB) |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )

    def row(x, label=""):
        return (
            f"| {x['points']:,.0f}{label} | {x['chunks']:,.0f} | {x['run_s']:,.0f} | {x['files']:,.0f} | {x['bytes'] / mib:,.1f} | "
            f"{x['metadata_bytes'] / 1024:,.1f} | {x['open_s']:.2f} | {x['committed_s']:,.2f} | {x['verify_s']:,.1f} | "
            f"{x['export_s']:,.1f} | {x['netcdf_bytes'] / mib:,.1f} |"
        )

    rows = [row(x) for x in r["rows"]] + [row(r["projected"], " (extrapolated)")]
    return "\n".join(
        [
            head,
            *rows,
            "",
            f"Measured by `python benchmarks/store_scale.py` on {r['machine']}, "
            f"{r['workers']} Dask workers (`--workers {r['workers']} --no-netcdf`), one CPU device each.",
        ]
    )


RENDERERS = {
    "experiments": experiments,
    "verdicts": verdicts,
    "experiment-figures": experiment_figures,
    "default-run": default_run,
    "studies": studies,
    "accuracy": accuracy,
    "langevin": langevin,
    "minilm": minilm,
    "benchmark": benchmark,
    "benchmark-goals": benchmark_goals,
    "benchmark-findings": benchmark_findings,
    "sweep-memory": sweep_memory,
    "store-scale": store_scale,
    "profile": profile,
    "exact-code-cost": exact_code_cost,
    "gpu": gpu,
    "gpu-summary": gpu_summary,
}


def documents() -> list[pathlib.Path]:
    """The pages that hold generated blocks: the README and the docs."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def stale_blocks(text: str) -> list[str]:
    """Names of the generated blocks in `text` that differ from their rendering."""
    return [m["name"] for m in BLOCK.finditer(text) if m["body"] != RENDERERS[m["name"]]()]


def rewrite(text: str) -> str:
    return BLOCK.sub(
        lambda m: f"<!-- generated: {m['name']} -->\n{RENDERERS[m['name']]()}\n<!-- end: {m['name']} -->", text
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help="update the generated blocks of the README and docs/ in place"
    )
    args = parser.parse_args()
    if args.write:
        for page in documents():
            text = page.read_text()
            if rewrite(text) != text:
                page.write_text(rewrite(text))
                print(f"updated {page}")
    else:
        for name, render in RENDERERS.items():
            print(f"<!-- generated: {name} -->\n{render()}\n<!-- end: {name} -->\n")


if __name__ == "__main__":
    main()
