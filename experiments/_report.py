"""Shared by the experiment scripts: float64 on, and one result file + figure per experiment.

Each result (`experiments/results/NAME.json`) states the paper's claim, what was run, what
came out (with the numbers), and a plain verdict: supported / not supported / not testable as
stated. `python experiments/summarize.py` turns them into the README's table.

Every script starts with `OUT = options(__doc__)`: its command line, `--out DIR` (default: where
the committed results live), parsed before jax is imported so that `--help` is instant.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import time

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "results"
DOCS_FIGURES = ROOT / "docs" / "figures"
VERDICTS = ("supported", "not supported", "not testable as stated")
OUT = RESULTS  # where record() writes; set by options()


def options(doc: str, default: pathlib.Path | None = RESULTS) -> pathlib.Path | None:
    """Parse `--out DIR` (a script's only option), then switch jax to float64; return DIR.

    `default` is where the script writes without `--out` (None: it only prints)."""
    global OUT
    where = "only print" if default is None else os.path.relpath(default, ROOT) + "/"
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=default,
        metavar="DIR",
        help=f"write the results (JSON, figures) into DIR, created if missing (default: {where})",
    )
    OUT = parser.parse_args().out
    if OUT is not None:
        OUT.mkdir(parents=True, exist_ok=True)

    import jax

    jax.config.update("jax_enable_x64", True)
    return OUT


class Timer:
    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.start, 1)


def record(
    name: str, *, claim: str, run: str, outcome: str, verdict: str, numbers: dict, figure, timer: Timer
) -> pathlib.Path:
    import jax

    from thermo_ode.plotting import save

    assert all(v in VERDICTS for v in verdict.split("; ")), verdict
    OUT.mkdir(parents=True, exist_ok=True)
    figure_path = pathlib.Path(save(figure, OUT / name)[0]).resolve()
    result = {
        "experiment": name,
        "claim": claim,
        "run": run,
        "outcome": outcome,
        "verdict": verdict,
        "numbers": numbers,
        "figure": str(figure_path.relative_to(ROOT) if figure_path.is_relative_to(ROOT) else figure_path),
        "seconds": timer.seconds,
        "machine": f"{platform.machine()} {jax.default_backend()}, jax {jax.__version__}",
    }
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{name}: {verdict}\n  {outcome}\n  -> {path}, {figure_path} ({timer.seconds} s)")
    return path
