"""The benchmark runs at its smallest size (a smoke test: timings are not asserted)."""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).parent.parent


def test_relaxation_benchmark_smoke(tmp_path):
    out = tmp_path / "bench.json"
    methods = ["roofline", "thermo-ode", "thermo-ode-groups", "naive-diffrax", "scipy-dop853"]
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "relaxation.py"),
            "--sizes",
            "8x16",
            "--methods",
            *methods,
            "--json",
            str(out),
            "--plot",
            str(tmp_path / "scaling.png"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    rows = {r["method"]: r for r in report["rows"]}
    assert set(rows) == set(methods)
    roofline = rows.pop("roofline")
    assert roofline["bandwidth_gb_s"] > 0 and roofline["flops_g_s"] > 0 and roofline["precision"] == "float64"
    for method, row in rows.items():
        assert row["worst_distance"] < 1e-6, method  # every method reached softmax: equal accuracy
        assert row["failed"] == 0 and row["wall_s"] > 0 and row["peak_rss_mb"] > 0
    assert rows["thermo-ode"]["slowdown_vs_thermo_ode"] == 1.0
    cost = rows["thermo-ode"]["step_cost"]
    assert (
        cost["solver"] == "FusedTsit5" and cost["flops"] > 16 * 6 and cost["transcendentals"] >= 16 * 6
    )  # six stages' logs
    assert 0 < rows["thermo-ode"]["flops_fraction"] and 0 < rows["thermo-ode"]["bandwidth_fraction"]
