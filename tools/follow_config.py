"""Follow the loaded config through a sweep: which functions of thermo_ode run, in the order
each is first called, and how often that path returns to a file it had already left.

    python tools/follow_config.py [CONFIG] [--list]   (default: the embedded default config)

Two paths are counted, from loading the config to the end of `sweeps.run` (each function once,
at its first call): every function of the package that runs, and those among them that receive
the loaded config (the `LoadedConfig` or its validated `Config`) as an argument. A return is a
step into a file that the path had entered before and left since: a layout whose steps each
call only the ones below them (config -> load/check -> plan -> run chunks -> store -> summary)
returns rarely.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile


def follow(config: pathlib.Path | None) -> list[tuple[str, str, bool]]:
    """`(file, function, receives the config)` of each function of the package that runs while
    the config is loaded and swept, in the order of their first calls."""
    import jax

    import thermo_ode
    from thermo_ode import sweeps

    jax.config.update("jax_enable_x64", True)
    package = str(pathlib.Path(thermo_ode.__file__).parent)
    first: dict[tuple[str, str], bool] = {}
    watched: list[object] = []

    def profile(frame, event, arg):
        code = frame.f_code
        if event != "call" or not code.co_filename.startswith(package) or code.co_name.startswith("<"):
            return
        where = (str(pathlib.Path(code.co_filename).relative_to(package)), code.co_qualname)
        names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        receives = any(frame.f_locals.get(n) is w for n in names for w in watched)
        first[where] = first.get(where, False) or receives

    path = config or sweeps.default_config_path()
    sys.setprofile(profile)
    try:
        loaded = sweeps.load(path)
        watched += [loaded, loaded.config]
        with tempfile.TemporaryDirectory() as out:
            sweeps.run(loaded, out)
    finally:
        sys.setprofile(None)
    return [(f, name, receives) for (f, name), receives in first.items()]


def returns(files: list[str]) -> tuple[int, dict[str, int]]:
    """Steps into a file the path had entered before and left since, and entries per file."""
    left: set[str] = set()
    entries: dict[str, int] = {}
    count, current = 0, None
    for f in files:
        if f != current:
            count += f in left
            entries[f] = entries.get(f, 0) + 1
            if current is not None:
                left.add(current)
            current = f
    return count, entries


def report(label: str, calls: list[tuple[str, str, bool]]) -> str:
    files = [f for f, _, _ in calls]
    count, entries = returns(files)
    most = ", ".join(f"{f} {n}" for f, n in sorted(entries.items(), key=lambda kv: -kv[1])[:4])
    return f"{label}: {len(calls)} functions in {len(set(files))} files, {count} returns to a file it had left (most entries: {most})"


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--list"]
    calls = follow(pathlib.Path(args[0]) if args else None)
    if "--list" in sys.argv:
        for f, name, receives in calls:
            print(f"  {'*' if receives else ' '} {f}: {name}")
    print(report("every function that runs", calls))
    print(report("those in the sweeps package", [c for c in calls if c[0].startswith("sweeps/")]))
    print(report("those receiving the loaded config", [c for c in calls if c[2]]))


if __name__ == "__main__":
    main()
