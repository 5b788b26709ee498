"""Loading a sweep config: YAML (`safe_load` only) validated against the schema, every problem
reported as `FILE:LINE:COL: dotted.key: what is wrong`, one line each, with a "did you mean"
hint for misspelt keys and paths. Pydantic checks types and single values; the cross-field
rules (`checks.semantic_problems`) are reported the same way."""

from __future__ import annotations

import difflib
import hashlib
import pathlib
import typing
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .checks import semantic_problems
from .schema import Config, resolved_json

# Names pydantic inserts into error paths for union members; they are not YAML keys.
UNION_TAGS = {
    "random_qk", "gaussian", "file", "list", "minilm", "uniform", "dirichlet",
    "values", "logspace-axis", "linspace-axis", "range-axis",
    "physical-time", "natural-t1", "relaxation_times-t1",
}


class ConfigError(Exception):
    """One or more problems, each already formatted as `FILE:LINE:COL: key: message`."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class LoadedConfig(typing.NamedTuple):
    config: Config
    text: str
    path: pathlib.Path | None  # None for text that did not come from a file

    @property
    def base_dir(self) -> pathlib.Path:
        return self.path.parent if self.path is not None else pathlib.Path.cwd()

    @property
    def digest(self) -> str:
        """Identity of a run: the resolved config (formatting and comments do not count)."""
        return hashlib.sha256(resolved_json(self.config).encode()).hexdigest()[:16]


def load(path) -> LoadedConfig:
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config: {exc.strerror or exc}{_did_you_mean(path)}"]) from None
    return parse(text, str(path), path)


def _did_you_mean(path: pathlib.Path) -> str:
    """A hint naming the closest existing config for a mistyped path."""
    candidates = [p for folder in (path.parent, path.parent / "configs") if folder.is_dir() for p in folder.glob("*.y*ml")]
    close = difflib.get_close_matches(str(path), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def parse(text: str, filename: str = "<config>", path: pathlib.Path | None = None) -> LoadedConfig:
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        raise ConfigError([f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{filename}:1:1: the config must be a mapping of sections, got {type(data).__name__}"])
    locator = _Locator(filename, root)
    duplicates = list(_duplicate_keys(root, ()))
    if duplicates:  # safe_load keeps the last silently; a repeated key is almost always a slip
        raise ConfigError([locator.line_at(mark, path, f"duplicate key (first at line {first.line + 1})") for mark, first, path in duplicates])
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda err: _line_of(locator.mark(tuple(err["loc"]))))
        raise ConfigError([_format_pydantic(error, locator) for error in errors]) from None
    loaded = LoadedConfig(config, text, path)
    problems = [locator.line(loc, message) for loc, message in semantic_problems(loaded)]
    if problems:
        raise ConfigError(problems)
    return loaded


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

    def mark(self, loc):
        node, mark = self.root, self.root.start_mark if self.root is not None else None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if k.value == part), None)
                if match is None:
                    continue  # a union tag pydantic inserts into the path, not a YAML key
                key, node = match
                mark = key.start_mark
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                mark = node.start_mark
        return mark

    def line(self, loc, message: str) -> str:
        return self.line_at(self.mark(loc), loc, message)

    def line_at(self, mark, loc, message: str) -> str:
        where = f"{self.filename}:{mark.line + 1}:{mark.column + 1}" if mark is not None else self.filename
        key = ".".join(str(p) for p in _user_path(loc)) or "(top level)"
        return f"{where}: {key}: {message}"


def _user_path(loc):
    """The path as the user wrote it: drop pydantic's union-member tags."""
    return [p for p in loc if not (isinstance(p, str) and p in UNION_TAGS)]


def _format_pydantic(error: dict, locator: _Locator) -> str:
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
    return [name for name in model.model_fields if name != "order"]


def _model_of(annotation):
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        for inner in typing.get_args(candidate):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def default_config_path() -> pathlib.Path:
    """The embedded default, shipped inside the package."""
    return pathlib.Path(__file__).parent.parent / "configs" / "default.yaml"
