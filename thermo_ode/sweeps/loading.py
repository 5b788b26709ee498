"""Loading a sweep config: YAML (`safe_load` only) validated against the schema, every problem
reported as `FILE:LINE:COL: dotted.key: what is wrong`, one line each, with a "did you mean"
hint for misspelt keys and paths. Pydantic checks types and single values; the cross-field
rules (`checks.semantic_problems`) are reported the same way."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import pathlib
import typing
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from . import limits
from .checks import axis_problems, memory_problems, semantic_problems, size_problems
from .energy_files import EnergiesError, fixed_energies
from .schema import Config, resolved_json

# Names pydantic inserts into error paths for union members; they are not YAML keys.
UNION_TAGS = {
    "random_qk",
    "gaussian",
    "file",
    "list",
    "minilm",
    "uniform",
    "dirichlet",
    "values",
    "logspace-axis",
    "linspace-axis",
    "range-axis",
    "physical-time",
    "natural-t1",
    "relaxation_times-t1",
}


MAX_REPORTED = 20  # problems listed; the rest are counted


class ConfigError(Exception):
    """A config with one or more problems, each formatted as `FILE:LINE:COL: key: message`.

    `problems` lists them (at most `MAX_REPORTED`, then a line counting the rest); the message
    is those lines.

    Examples:
        >>> from thermo_ode import sweeps
        >>> try:
        ...     sweeps.parse('''
        ... name: demo
        ... system: {tokens: 3, energies: {kind: gaussian}, temprature: 1.0}
        ... ''', "demo.yaml")
        ... except sweeps.ConfigError as error:
        ...     print(error)
        demo.yaml:3:...: system.temprature: unknown key; did you mean 'temperature'? (allowed: ...)
    """

    def __init__(self, problems: list[str], more: int = 0) -> None:
        more += max(len(problems) - MAX_REPORTED, 0)
        if more:  # a file of 300,000 unknown keys gets a readable answer, located in that file
            source = problems[0].split(":", 1)[0]
            problems = problems[:MAX_REPORTED] + [f"{source}: ... and {more:,} more problems like these"]
        super().__init__("\n".join(problems))
        self.problems = problems


class LoadedConfig(typing.NamedTuple):
    """A checked config with what it was read from: the input of `plan_sweep` and `run`.

    - `config`: the validated `Config`.
    - `text`: the YAML text as written; `path`: its file (None for text given directly).
    - `energies`: the fixed energies of the `file` and `list` kinds (numpy), else None.
    - `input_files`: each file the config reads, as written, with the SHA-256 of its bytes.

    Examples:
        >>> from thermo_ode import sweeps
        >>> loaded = sweeps.load(sweeps.default_config_path())
        >>> loaded.config.name, loaded.path.name, loaded.energies
        ('default', 'default.yaml', None)
        >>> len(loaded.digest)  # a run's identity
        16
    """

    config: Config
    text: str
    path: pathlib.Path | None  # None for text that did not come from a file
    energies: Any = None  # numpy (N,) or (Q, N) for the `file` and `list` kinds, read once
    input_files: dict[str, str] = {}  # path as written -> SHA-256 of the bytes read

    @property
    def base_dir(self) -> pathlib.Path:
        """The folder that paths in the config are relative to: the file's, else the working one."""
        return self.path.parent if self.path is not None else pathlib.Path.cwd()

    @property
    def digest(self) -> str:
        """Identity of a run: the resolved config (formatting and comments do not count) and
        the bytes of every input file it reads."""
        identity = resolved_json(self.config) + json.dumps(self.input_files, sort_keys=True)
        return hashlib.sha256(identity.encode()).hexdigest()[:16]


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
    try:
        root = _check_shape(text, filename)  # before building anything: depth and expanded size
        data = yaml.constructor.SafeConstructor().construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is None and isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
            line = text.count("\n", 0, exc.position) + 1
            where = f"{filename}:{line}:{exc.position - (text.rfind(chr(10), 0, exc.position) + 1) + 1}"
            raise ConfigError([f"{where}: not a YAML text file: character {exc.character!r} is not allowed"]) from None
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        problem = getattr(exc, "problem", None) or str(exc)
        if "nesting depth" in problem:  # libyaml's own limit, met before ours
            raise ConfigError(
                [f"{where}: nested more than {limits.MAX_YAML_DEPTH} levels deep; a config nests at most 4"]
            ) from None
        raise ConfigError([f"{where}: invalid YAML: {problem}"]) from None
    if isinstance(data, dict) and overrides:
        data = dict(data, **overrides)
    if not isinstance(data, dict):
        raise ConfigError([f"{filename}:1:1: the config must be a mapping of sections, got {type(data).__name__}"])
    locator = _Locator(filename, root)
    duplicates = list(_duplicate_keys(root, ()))
    if duplicates:  # safe_load keeps the last silently; a repeated key is almost always a slip
        raise ConfigError(
            [
                locator.line_at(mark, path, f"duplicate key (first at line {first.line + 1})")
                for mark, first, path in duplicates
            ]
        )
    odd = list(_non_text_keys(root, ()))
    if odd:  # YAML reads `yes:` as True and `7:` as 7; name them as written
        raise ConfigError(
            [
                locator.line_at(
                    key.start_mark,
                    path + (_written(key),),
                    f"a key must be a name; YAML reads "
                    f"{_written(key)!r} as {key.tag.rsplit(':', 1)[-1]} (no config key is named so)",
                )
                for key, path in odd
            ]
        )
    booleans = list(_booleans(root, ()))
    if booleans:  # no key takes one; `mass: yes` or `tokens: true` is a slip, not 1
        raise ConfigError(
            [
                locator.line_at(
                    node.start_mark,
                    path,
                    f"{node.value!r} is read by YAML as a boolean; no config key takes one (write a number or a name)",
                )
                for node, path in booleans
            ]
        )
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda err: _line_of(locator.mark(tuple(err["loc"]))))
        shown = [_format_pydantic(error, locator) for error in errors[:MAX_REPORTED]]
        raise ConfigError(shown, more=len(errors) - len(shown)) from None
    base_dir = path.parent if path is not None else pathlib.Path.cwd()
    problems = [locator.line(loc, message) for loc, message in size_problems(config)]
    if problems:  # before any sweep axis is built
        raise ConfigError(problems)
    energies = None
    files: dict[str, str] = {}
    if config.system.energies.kind in ("file", "list"):
        try:
            energies, files = fixed_energies(config, base_dir)
        except EnergiesError as exc:
            key = "path" if config.system.energies.kind == "file" else "values"
            raise ConfigError([locator.line(("system", "energies", key), str(exc))]) from None
    loaded = LoadedConfig(config, text, path, energies, files)
    # Each axis, then the sizes, before the rules that look at every point of the grid.
    problems = [locator.line(loc, message) for loc, message in axis_problems(config)]
    if not problems:
        problems = [locator.line(loc, message) for loc, message in memory_problems(config, sweep_sizes(loaded))]
    if not problems:
        problems = [locator.line(loc, message) for loc, message in semantic_problems(loaded)]
    if problems:
        raise ConfigError(problems)
    return loaded


def sweep_sizes(loaded: LoadedConfig) -> limits.Sizes:
    """The store's size and the memory a run of this (checked) config needs."""
    from .plan import plan_sweep

    plan = plan_sweep(loaded)
    return limits.sizes(plan.points, plan.queries, plan.saves, plan.tokens, len(plan.axes), plan.chunk_size)


# libyaml where PyYAML was built with it (its wheels are): some 20 times faster than the pure
# Python parser on a long list, with the same nodes and marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_shape(text: str, filename: str):
    """Refuse YAML nested deeper than any config, or whose aliases expand beyond any config's
    size (a billion-laughs file), from its events and node graph: nothing is expanded."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > limits.MAX_YAML_DEPTH:
                mark = event.start_mark
                raise ConfigError(
                    [
                        f"{filename}:{mark.line + 1}:{mark.column + 1}: nested more than {limits.MAX_YAML_DEPTH} "
                        "levels deep; a config nests at most 4"
                    ]
                )
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
    root = yaml.compose(text, Loader=_LOADER)
    counts: dict[int, int] = {}

    def expanded(node) -> int:  # children before parents, each node once (aliases share nodes)
        stack, open_ = [(node, False)], set()  # open_: nodes whose children are being counted
        while stack:
            current, ready = stack.pop()
            if id(current) in counts:
                continue
            children = (
                []
                if isinstance(current, yaml.ScalarNode)
                else (
                    [n for pair in current.value for n in pair]
                    if isinstance(current, yaml.MappingNode)
                    else current.value
                )
            )
            if ready:
                counts[id(current)] = 1 + sum(counts[id(c)] for c in children)
                open_.discard(id(current))
            elif id(current) in open_:  # reached again from inside itself
                mark = current.start_mark
                raise ConfigError(
                    [
                        f"{filename}:{mark.line + 1}:{mark.column + 1}: an alias that contains itself "
                        "(a recursive YAML structure); a config holds values"
                    ]
                )
            else:
                open_.add(id(current))
                stack.append((current, True))
                stack.extend((c, False) for c in children if id(c) not in counts)
        return counts[id(node)]

    if root is not None and expanded(root) > limits.MAX_YAML_NODES:
        raise ConfigError(
            [
                f"{filename}:1:1: its aliases expand to more than {limits.MAX_YAML_NODES:,} values "
                "(a YAML alias bomb?); write the values out"
            ]
        )
    return root


def _written(node) -> str:
    return (
        node.value
        if isinstance(node, yaml.ScalarNode)
        else node.start_mark.buffer[node.start_mark.index : node.end_mark.index]
        if node.start_mark.buffer
        else "?"
    )


def _non_text_keys(node, path):
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                yield key, path
            elif key.tag not in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:merge"):
                yield key, path
            else:
                yield from _non_text_keys(value, path + (key.value,))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _non_text_keys(item, path + (i,))


def _booleans(node, path):
    """Scalar values that YAML reads as booleans (`true`, `yes`, `off`, ...)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _booleans(value, path + (key.value,))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _booleans(item, path + (i,))
    elif isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:bool":
        yield node, path


def _duplicate_keys(node, path):
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key, value in node.value:
            if key.value in seen:
                yield key.start_mark, seen[key.value], path + (key.value,)
            else:
                seen[key.value] = key.start_mark
            yield from _duplicate_keys(value, path + (key.value,))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, path + (i,))


def _line_of(mark) -> tuple[int, int]:
    return (mark.line, mark.column) if mark is not None else (0, 0)


class _Locator:
    """Maps a key path to the YAML node it came from, for FILE:LINE:COL."""

    def __init__(self, filename: str, root):
        self.filename, self.root = filename, root
        self._keys: dict[int, dict] = {}  # id(mapping node) -> {key: (key node, value node)}, first of repeats

    def _entry(self, node, part):
        if id(node) not in self._keys:
            entries = {}
            for key, value in node.value:
                entries.setdefault(key.value, (key, value))
            self._keys[id(node)] = entries
        return self._keys[id(node)].get(part) if isinstance(part, typing.Hashable) else None

    def mark(self, loc):
        return self.resolve(loc)[0]

    def resolve(self, loc):
        """The mark of the deepest node of `loc` found in the YAML, and the path as the user
        wrote it (pydantic's union-member tags dropped; a tag can also be a key, like `values`)."""
        node, mark = self.root, self.root.start_mark if self.root is not None else None
        written = []
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                match = self._entry(node, part)
                if match is None:
                    if not (isinstance(part, str) and part in UNION_TAGS):  # a key the file lacks
                        node = None
                        written.append(part)
                    continue
                key, node = match
                mark = key.start_mark
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                mark = node.start_mark
            elif isinstance(part, str) and part in UNION_TAGS:
                continue
            written.append(part)
        return mark, written

    def line(self, loc, message: str) -> str:
        mark, written = self.resolve(loc)
        return self._format(mark, written, message)

    def line_at(self, mark, loc, message: str) -> str:
        return self._format(mark, _user_path(loc), message)

    def _format(self, mark, written, message: str) -> str:
        where = f"{self.filename}:{mark.line + 1}:{mark.column + 1}" if mark is not None else self.filename
        key = ".".join(str(p) if str(p).isprintable() else repr(p) for p in written) or "(top level)"
        return f"{where}: {key}: {message}"


def _user_path(loc):
    """The path as the user wrote it: drop pydantic's union-member tags."""
    return [p for p in loc if not (isinstance(p, str) and p in UNION_TAGS)]


def _format_pydantic(error: typing.Mapping, locator: _Locator) -> str:
    loc = tuple(error["loc"])
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        key = loc[-1]
        hint = difflib.get_close_matches(str(key), _allowed_keys(_user_path(loc[:-1])), n=1, cutoff=0.6)
        message = "unknown key" + (f"; did you mean '{hint[0]}'?" if hint else "")
        allowed = _allowed_keys(_user_path(loc[:-1]))
        if allowed:
            message += f" (allowed: {', '.join(allowed)})"
    elif error["type"] == "missing":
        message = "too few items" if loc and isinstance(loc[-1], int) else "required key is missing"
    elif error["type"] == "value_error":  # raised by a validator of ours: its message is the message
        message = str(error["ctx"]["error"])
    elif error["type"] == "union_tag_invalid":
        message = f"unknown kind {error['ctx']['tag']!r}; expected one of {error['ctx']['expected_tags']}"
    elif isinstance(error.get("input"), (int, float, str, bool)) and error["type"] != "literal_error":
        message = f"{message} (got {error['input']!r})"
    return locator.line(loc, message)


def _allowed_keys(path) -> list[str]:
    """Field names of the model at `path` (following the discriminated unions by `kind`)."""
    model: Any = Config
    for part in path:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return []
        model = _model_of(field.annotation)
        if model is None:
            return []
    return list(model.model_fields)


def _model_of(annotation):
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        for inner in typing.get_args(candidate):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def default_config_path() -> pathlib.Path:
    """The path of the embedded default config, shipped inside the package.

    It is what `thermo-ode run` runs without a config.

    Examples:
        >>> from thermo_ode import sweeps
        >>> path = sweeps.default_config_path()
        >>> path.name, path.is_file()
        ('default.yaml', True)
    """
    return pathlib.Path(__file__).parent.parent / "configs" / "default.yaml"
