"""Peak memory of a sweep is bounded by its chunk, not by its size.

    python benchmarks/sweep_memory.py --points 10000 100000 [1000000] [--json F]

Runs the same config (N = 8 random heads, temperature x seed grid, 2 saves) at several sweep
sizes, each in a fresh process through the sweep runner, and prints the peak resident memory
and the time per point, on one CPU device per core (as the CLI runs). The stores go to a
temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys
import tempfile
import time

CONFIG = """\
name: memory-{points}
system:
  tokens: 8
  energies: {{kind: random_qk, d_k: 64, seed: 0}}
  damping_ratio: 0.5
sweep:
  temperature: {{logspace: [0.3, 1.2, 10]}}
  seed: {{range: [0, {seeds}]}}
integrate: {{t1: {{relaxation_times: 30}}, saves: 2, chunk_size: 4096}}
"""


def worker(points: int) -> dict:
    import jax

    from thermo_ode import sweeps, use_all_cores

    devices = use_all_cores()  # as the CLI does
    jax.config.update("jax_enable_x64", True)

    loaded = sweeps.parse(CONFIG.format(points=points, seeds=points // 10))
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = sweeps.run(loaded, f"{out}/run", devices=devices)
        wall = time.perf_counter() - start
    return dict(
        points=summary.points,
        converged=summary.converged,
        wall_s=wall,
        devices=devices,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", nargs="+", type=int, default=[10_000, 100_000])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return
    rows = []
    for points in args.points:
        out = subprocess.run(
            [sys.executable, __file__, "--worker", str(points)], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(r)
        print(
            f"{r['points']:>9d} points: peak {r['peak_rss_mb']:7.0f} MB, {r['wall_s']:7.1f} s "
            f"({1e6 * r['wall_s'] / r['points']:.0f} us/point), {r['converged']} converged"
        )
    if args.json:
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        pathlib.Path(args.json).write_text(json.dumps(dict(machine=machine, rows=rows), indent=2))


if __name__ == "__main__":
    main()
