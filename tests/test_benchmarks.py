"""The benchmark runs at its smallest size (a smoke test: timings are not asserted)."""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).parent.parent


def test_relaxation_benchmark_smoke(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "relaxation.py"), "--sizes", "1x16", "--methods", "thermo-ode", "naive-diffrax", "scipy-dop853",
         "--json", str(out), "--plot", str(tmp_path / "scaling.png")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    rows = {r["method"]: r for r in report["rows"]}
    assert set(rows) == {"thermo-ode", "naive-diffrax", "scipy-dop853"}
    for method, row in rows.items():
        assert row["worst_distance"] < 1e-6, method  # every method reached softmax: equal accuracy
        assert row["wall_s"] > 0 and row["peak_rss_mb"] > 0
    assert rows["thermo-ode"]["slowdown_vs_thermo_ode"] == 1.0
    assert report["copy_bandwidth_gb_s"] > 0
