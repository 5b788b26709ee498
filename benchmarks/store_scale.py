"""How the store grows with the sweep: measured through Dask, extrapolated to 10^8 points.

    python benchmarks/store_scale.py --points 100000 1000000 [--workers 2] [--json F]

Runs the config of `sweep_memory.py` (N = 8 random heads, temperature x seed grid, 2 saves,
chunks of 4096 points) with `thermo-ode run --workers W --no-netcdf` at each size, then
measures, in this process: the files and bytes of results.zarr (and of its metadata, the
zarr.json files), the time to open it with `open_results`, to read which chunks are committed,
to verify every checksum, and to write the netCDF copy. Each quantity is extrapolated linearly
in the number of points from the largest size measured (files, bytes and reading times grow
with the chunks; opening reads metadata only). Needs the [dask] extra.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from sweep_memory import CONFIG  # noqa: E402  one workload for both benchmarks

TARGET = 10**8


def measure(points: int, workers: int, folder: pathlib.Path) -> dict:
    import zarr

    from thermo_ode.sweeps import store
    from thermo_ode.sweeps.store import grid  # noqa: F401  imported here, not timed in the first open

    config = folder / f"scale-{points}.yaml"
    config.write_text(CONFIG.format(points=points, seeds=points // 10))
    out = folder / f"run-{points}"
    start = time.perf_counter()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "thermo_ode.cli",
            "run",
            str(config),
            "--out",
            str(out),
            "--workers",
            str(workers),
            "--no-netcdf",
        ],
        capture_output=True,
        text=True,
    )
    run_s = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"run of {points} points failed:\n{run.stdout}\n{run.stderr}")
    files = [p for p in store.store_path(out).rglob("*") if p.is_file()]
    metadata = [p for p in files if p.name == "zarr.json"]

    def timed(action):
        start = time.perf_counter()
        value = action()
        return value, time.perf_counter() - start

    _, open_s = timed(lambda: store.open_results(out))
    group = zarr.open_group(store.store_path(out), mode="r")
    done, committed_s = timed(lambda: store.committed(group))
    check, verify_s = timed(lambda: store.verify(group))
    assert check.intact and done.all()
    netcdf, export_s = timed(lambda: store.export_netcdf(out))
    return dict(
        points=points,
        chunks=int(done.size),
        run_s=run_s,
        files=len(files),
        bytes=sum(p.stat().st_size for p in files),
        metadata_files=len(metadata),
        metadata_bytes=sum(p.stat().st_size for p in metadata),
        open_s=open_s,
        committed_s=committed_s,
        verify_s=verify_s,
        export_s=export_s,
        netcdf_bytes=netcdf.stat().st_size,
    )


LINEAR = ("chunks", "run_s", "files", "bytes", "committed_s", "verify_s", "export_s", "netcdf_bytes")


def extrapolate(row: dict, points: int) -> dict:
    """Linear in points for what grows with the chunks; opening and metadata stay as measured."""
    scale = points / row["points"]
    return {key: (value * scale if key in LINEAR else value) for key, value in row.items()} | {"points": points}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for points in args.points:
            rows.append(measure(points, args.workers, pathlib.Path(folder)))
    projected = extrapolate(rows[-1], TARGET)
    mib = 2**20
    print(
        f"{'points':>11} {'chunks':>7} {'run s':>8} {'files':>9} {'store MiB':>10} {'meta KiB':>9} {'open s':>7} "
        f"{'committed s':>11} {'verify s':>9} {'netCDF s':>9} {'netCDF MiB':>10}"
    )
    for r, label in [(r, "") for r in rows] + [(projected, "  (extrapolated)")]:
        print(
            f"{r['points']:>11.0f} {r['chunks']:>7.0f} {r['run_s']:>8.1f} {r['files']:>9.0f} {r['bytes'] / mib:>10.1f} "
            f"{r['metadata_bytes'] / 1024:>9.1f} {r['open_s']:>7.2f} {r['committed_s']:>11.2f} {r['verify_s']:>9.1f} "
            f"{r['export_s']:>9.1f} {r['netcdf_bytes'] / mib:>10.1f}{label}"
        )
    if args.json:
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        pathlib.Path(args.json).write_text(
            json.dumps(dict(machine=machine, workers=args.workers, rows=rows, projected=projected), indent=2)
        )


if __name__ == "__main__":
    main()
