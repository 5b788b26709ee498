"""Measure `thermo-ode run` as a user meets it: the embedded default with a cold and then a warm
compilation cache (and once in float32), and every study in configs/, each in a fresh process.

Run: python experiments/cli_runs.py [--out DIR]
Writes DIR/cli_runs.json (default experiments/results/), which the README's numbers about these
runs are rendered from (`python experiments/summarize.py`). Run it on a quiet machine: it
measures wall time and peak memory.
"""

from __future__ import annotations

from _report import options

OUT = options(__doc__)

import json
import os
import pathlib
import platform
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).parent.parent

# Runs the CLI in this process and reports its own peak resident memory on stderr.
_MEASURED = (
    "import resource, sys; from thermo_ode.cli import main; rc = main(sys.argv[1:]); "
    "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(rc)"
)


def run_cli(args: list[str], cwd: pathlib.Path) -> dict:
    """One `thermo-ode` command in a fresh process: exit code, wall time, peak memory, cache use."""
    import time

    env = dict(os.environ, COLUMNS="200")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _MEASURED, *args], cwd=cwd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"thermo-ode {' '.join(args)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}")
    peak_kb = int(re.search(r"PEAK_KB (\d+)", out.stderr).group(1))
    cache = re.search(r"(\d+) programs? loaded, (\d+) programs? compiled", out.stdout)
    loaded, compiled = (int(cache.group(1)), int(cache.group(2))) if cache else (0, 0)
    return dict(seconds=round(seconds, 1), peak_mb=round(peak_kb / 1024), cache_loaded=loaded, cache_compiled=compiled)


def store_facts(out_dir: pathlib.Path) -> dict:
    """What the finished store says: counts, worst final distance, step counts."""
    import numpy as np

    from thermo_ode.sweeps import open_results, summarize

    summary = summarize(out_dir)
    ds = open_results(out_dir, grid=False)
    steps = np.asarray(ds["num_steps"])
    return dict(
        points=int(ds.sizes["point"]),
        rows=int(ds.sizes["query"]),
        solves=summary.points,
        converged=summary.converged,
        not_converged=summary.not_converged,
        failed=summary.failed,
        thermal=summary.thermal,
        equipartition=summary.equipartition,
        worst_final_distance=summary.worst_final_distance,
        steps_min=int(steps.min()),
        steps_max=int(steps.max()),
    )


def main() -> None:

    from thermo_ode.sources import model_dir

    try:
        model_dir()
        have_weights = True
    except ImportError:
        have_weights = False
    result: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        cold = run_cli(["run", "--out", "default", "--cache-dir", "cache"], work)
        warm = run_cli(["run", "--out", "default-again", "--cache-dir", "cache"], work)
        result["default"] = dict(cold=cold, warm=warm, **store_facts(work / "default"))
        print("default:", result["default"])
        single = run_cli(["run", "--precision", "float32", "--out", "default-float32", "--cache-dir", "cache"], work)
        result["default_float32"] = dict(single, **store_facts(work / "default-float32"))
        print("default in float32:", result["default_float32"])
        result["studies"] = {}
        for config in sorted((ROOT / "configs").glob("*.yaml")):
            name = config.stem
            if name == "default":
                continue
            if "kind: minilm" in config.read_text() and not have_weights:
                print(f"{name}: skipped (needs the MiniLM weights)")
                continue
            measured = run_cli(["run", str(config), "--out", name, "--cache-dir", f"cache-{name}"], work)
            result["studies"][name] = dict(measured, **store_facts(work / name))
            print(f"{name}:", result["studies"][name])
    path = OUT / "cli_runs.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
