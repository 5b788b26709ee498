"""Shared by the experiment scripts: float64 on, and one result file + figure per experiment.

Each result (`experiments/results/NAME.json`) states the paper's claim, what was run, what
came out (with the numbers), and a plain verdict: supported / not supported / not testable as
stated. `python experiments/summarize.py` turns them into the README's table.
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import time

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

RESULTS = pathlib.Path(__file__).parent / "results"
VERDICTS = ("supported", "not supported", "not testable as stated")


class Timer:
    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.start, 1)


def record(name: str, *, claim: str, run: str, outcome: str, verdict: str, numbers: dict, figure, timer: Timer) -> pathlib.Path:
    from thermo_ode.plotting import save

    assert all(v in VERDICTS for v in verdict.split("; ")), verdict
    RESULTS.mkdir(exist_ok=True)
    figure_path = save(figure, RESULTS / name)[0]
    result = {
        "experiment": name,
        "claim": claim,
        "run": run,
        "outcome": outcome,
        "verdict": verdict,
        "numbers": numbers,
        "figure": os.path.relpath(figure_path, RESULTS.parent.parent),
        "seconds": timer.seconds,
        "machine": f"{platform.machine()} {jax.default_backend()}, jax {jax.__version__}",
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{name}: {verdict}\n  {outcome}\n  -> {path}, {figure_path} ({timer.seconds} s)")
    return path
