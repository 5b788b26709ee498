"""Loading a sweep config: YAML (`safe_load` only) validated against the schema, every problem
reported as `FILE:LINE:COL: dotted.key: what is wrong`, one line each, with a "did you mean"
hint for misspelt keys and paths. The YAML text is checked first (`yaml_text`), then pydantic
checks types and single values, then the rules over the grid (`grid_checks`) and those that
involve several keys (`checks`); `located` turns each into its line."""

from __future__ import annotations

import difflib
import os
import pathlib
from typing import Any

from pydantic import ValidationError

from . import limits
from .checks import fixed_and_swept, semantic_problems
from .energy_files import EnergiesError, fixed_energies
from .grid_checks import axis_problems, memory_problems, size_problems
from .loaded_config import LoadedConfig
from .located import MAX_REPORTED, ConfigError, Locator, closest_members, dotted, format_pydantic, line_of
from .schema import Config
from .yaml_text import key_problems, read_yaml

__all__ = ["ConfigError", "LoadedConfig", "default_config_path", "load", "parse"]


def load(path: str | os.PathLike[str], overrides: dict[str, Any] | None = None) -> LoadedConfig:
    """Read and check a config file.

    `overrides` replace top-level keys (the CLI's `--precision`) before the checks, so they are
    checked like the file's own. Raises `ConfigError` listing every problem found.

    Examples:
        >>> from thermo_ode import sweeps
        >>> loaded = sweeps.load(sweeps.default_config_path(), overrides={"precision": "float32"})
        >>> loaded.config.name, loaded.config.precision, list(loaded.config.sweep.order)
        ('default', 'float32', ['temperature', 'mass', 'seed'])
    """
    path = pathlib.Path(path)
    try:
        if path.stat().st_size > limits.MAX_CONFIG_BYTES:
            raise ConfigError(
                [
                    f"{path}: {limits.human(path.stat().st_size)}, more than the {limits.human(limits.MAX_CONFIG_BYTES)} "
                    "a config may hold (large inputs belong in an energies file: kind file)"
                ]
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config: {exc.strerror or exc}{_did_you_mean(path)}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            [f"{path}:{line}:{column}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); a config is a YAML text file"]
        ) from None
    return parse(text, str(path), path, overrides)


def _did_you_mean(path: pathlib.Path) -> str:
    """A hint naming the closest existing config for a mistyped path."""
    candidates = [
        p for folder in (path.parent, path.parent / "configs") if folder.is_dir() for p in folder.glob("*.y*ml")
    ]
    close = difflib.get_close_matches(str(path), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def parse(
    text: str, filename: str = "<config>", path: pathlib.Path | None = None, overrides: dict[str, Any] | None = None
) -> LoadedConfig:
    """Check a config given as YAML text; `filename` names it in the problems reported.

    `path` is the file it came from, if any (paths in the config are relative to its folder);
    `overrides` replace top-level keys before the checks. Raises `ConfigError` listing every
    problem, each located as `FILE:LINE:COL`.

    Examples:
        >>> from thermo_ode import sweeps
        >>> loaded = sweeps.parse('''
        ... name: demo
        ... system: {tokens: 3, energies: {kind: list, values: [0.0, 1.0, 2.0]}, temperature: 1.0}
        ... sweep: {damping_ratio: [0.5, 2.0]}
        ... ''')
        >>> loaded.config.system.tokens, loaded.config.integrate.saves  # defaults filled in
        (3, 121)
        >>> loaded.energies.tolist()
        [0.0, 1.0, 2.0]
    """
    root, data = read_yaml(text, filename)
    if isinstance(data, dict) and overrides:
        data = dict(data, **overrides)
    if not isinstance(data, dict):
        raise ConfigError([f"{filename}:1:1: the config must be a mapping of sections, got {type(data).__name__}"])
    locator = Locator(filename, root)
    problems = key_problems(root, locator)
    if problems:
        raise ConfigError(problems)
    config = _validated(data, locator)
    problems = locator.lines(size_problems(config))
    if problems:  # before any sweep axis is built
        raise ConfigError(problems)
    loaded = _with_fixed_energies(LoadedConfig(config, text, path, None, {}), locator)
    # Each axis, then the sizes, before the rules that look at every point of the grid.
    problems = locator.lines(axis_problems(config))
    if not problems:
        problems = locator.lines(memory_problems(config, limits.sweep_sizes(loaded)))
    if not problems:
        problems = locator.lines(semantic_problems(loaded))
    if problems:
        raise ConfigError(problems)
    return loaded._replace(notes=tuple(_fixed_and_swept(config, locator)))


def _fixed_and_swept(config: Config, locator: Locator) -> list[str]:
    """A key both fixed and swept, located at its axis and naming the fixed one's line: which
    one a point takes is said, not left to be guessed."""
    return [
        locator.line(
            axis,
            f"replaces {dotted(fixed)} (line {line_of(locator.mark(fixed))[0] + 1}): "
            "every point takes the swept value, the fixed one is not used",
        )
        for axis, fixed in fixed_and_swept(config)
    ]


def _validated(data: dict, locator: Locator) -> Config:
    """The data as a `Config`, or every type and value problem pydantic finds, in file order."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        errors = sorted(closest_members(exc.errors()), key=lambda err: line_of(locator.mark(tuple(err["loc"]))))
        lines: dict[str, None] = {}  # members that tie can say the same of one value: said once
        for shown, error in enumerate(errors):
            if len(lines) == MAX_REPORTED:
                raise ConfigError(list(lines), more=len(errors) - shown) from None
            lines[format_pydantic(error, locator)] = None
        raise ConfigError(list(lines)) from None


def _with_fixed_energies(loaded: LoadedConfig, locator: Locator) -> LoadedConfig:
    """`loaded` with the energies of the `file` and `list` kinds read (once) and checked."""
    kind = loaded.config.system.energies.kind
    if kind not in ("file", "list"):
        return loaded
    try:
        energies, files = fixed_energies(loaded.config, loaded.base_dir)
    except EnergiesError as exc:
        key = "path" if kind == "file" else "values"
        raise ConfigError([locator.line(("system", "energies", key), str(exc))]) from None
    return loaded._replace(energies=energies, input_files=files)


def default_config_path() -> pathlib.Path:
    """The path of the embedded default config, shipped inside the package.

    It is what `thermo-ode run` runs without a config.

    Examples:
        >>> from thermo_ode import sweeps
        >>> path = sweeps.default_config_path()
        >>> path.name, path.is_file()
        ('default.yaml', True)
    """
    return pathlib.Path(__file__).parents[2] / "configs" / "default.yaml"
