"""`thermo-ode validate CONFIG`: everything `run` would refuse, without running (no jax), and
the sizes a run needs. `run` loads its config and checks the machine the same way."""

from __future__ import annotations

import pathlib
import sys
import typing

from .exit_codes import EXIT_OK, EXIT_USAGE
from .paths import path_problem

if typing.TYPE_CHECKING:
    from ..sweeps import LoadedConfig


def load_config(path, precision=None) -> LoadedConfig | None:
    """The checked config at `path` (the embedded default if None), after printing its notes
    (a key both fixed and swept); None after printing its problems, one located line each."""
    from ..sweeps.config import loading

    try:
        loaded = loading.load(
            path if path is not None else loading.default_config_path(),
            overrides={"precision": precision} if precision else None,
        )
    except loading.ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return None
    for line in loaded.notes:
        print(f"note: {line}", file=sys.stderr)
    return loaded


def output_folder(args, loaded: LoadedConfig) -> pathlib.Path:
    """`--out`, else results/<name>."""
    return pathlib.Path(args.out or pathlib.Path("results") / loaded.config.name)


def command(args) -> int:
    loaded = load_config(args.config, args.precision)
    if loaded is None:
        return EXIT_USAGE
    from ..sweeps import plan as planning
    from ..sweeps import store
    from ..sweeps.config.machine import machine_fit

    plan = planning.plan_sweep(loaded)
    axes = ", ".join(f"{k}[{len(v)}]" for k, v in plan.axes.items()) or "no sweep"
    out_dir = output_folder(args, loaded)
    problem = path_problem(args, out_dir)
    problem, lines = (problem, []) if problem else machine_fit(loaded, out_dir, args.netcdf)
    if not problem:
        found = store.other_run(out_dir, loaded.digest)
        problem = f"--out: `run` would refuse it: {found}" if found else ""
    if problem:
        print(f"{args.config}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"{args.config}: ok: '{loaded.config.name}', {plan.points} points ({axes}) x {plan.queries} rows x {plan.tokens} tokens, {plan.chunks} chunks"
    )
    for line in lines:
        print(f"  {line}")
    return EXIT_OK
