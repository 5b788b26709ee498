"""Problems located in the YAML file they come from: `ConfigError`, the map from a key path to
the node it was written at (`FILE:LINE:COL: dotted.key: message`), and pydantic's validation
errors said in those terms, with a "did you mean" hint for misspelt keys."""

from __future__ import annotations

import difflib
import typing
from typing import Any

import yaml
from pydantic import BaseModel

from .schema import Config

# Names pydantic inserts into error paths for union members; they are not YAML keys. Those of
# the discriminated unions are listed; a member that has no tag of ours is named by its schema
# (`list[list[float]]`, `function-after[...]`, `tagged-union[...]`), with a bracket no key holds.
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


def line_of(mark) -> tuple[int, int]:
    """`(line, column)` of a mark, `(0, 0)` for none: the order problems are reported in."""
    return (mark.line, mark.column) if mark is not None else (0, 0)


class Locator:
    """Maps a key path to the YAML node it came from, for FILE:LINE:COL."""

    def __init__(self, filename: str, root):
        self.filename, self.root = filename, root
        # id(mapping node) -> {key: (key node, value node)}. A key repeats only where a merge
        # (`<<:`) brought it in: the last is the one that counts (the key written beside it).
        self._keys: dict[int, dict] = {}

    def _entry(self, node, part):
        if id(node) not in self._keys:
            entries = {}
            for key, value in node.value:
                entries[key.value] = (key, value)
            self._keys[id(node)] = entries
        return self._keys[id(node)].get(part) if isinstance(part, typing.Hashable) else None

    def mark(self, loc):
        """Where `loc` (or the deepest part of it the file holds) is written."""
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
                    if not _is_tag(part):  # a key the file lacks
                        node = None
                        written.append(part)
                    continue
                key, node = match
                mark = key.start_mark
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                mark = node.start_mark
            elif _is_tag(part):
                continue
            written.append(part)
        return mark, written

    def line(self, loc, message: str) -> str:
        """`FILE:LINE:COL: dotted.key: message` for the key path `loc`."""
        mark, written = self.resolve(loc)
        return self._format(mark, written, message)

    def lines(self, problems: typing.Iterable[tuple[tuple, str]]) -> list[str]:
        """Each `(key path, message)` as its located line."""
        return [self.line(loc, message) for loc, message in problems]

    def line_at(self, mark, loc, message: str) -> str:
        """The same line at a mark known already (a YAML node's)."""
        return self._format(mark, _user_path(loc), message)

    def _format(self, mark, written, message: str) -> str:
        where = f"{self.filename}:{mark.line + 1}:{mark.column + 1}" if mark is not None else self.filename
        return f"{where}: {dotted(written)}: {message}"


def dotted(path) -> str:
    """A key path as the config reads it: `system.energies.values[2]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = str(part) if str(part).isprintable() else repr(part)
            text += f".{name}" if text else name
    return text or "(top level)"


def _user_path(loc):
    """The path as the user wrote it: drop pydantic's union-member tags."""
    return [p for p in loc if not _is_tag(p)]


def _is_tag(part) -> bool:
    return isinstance(part, str) and (part in UNION_TAGS or "[" in part)


def closest_members(errors: list) -> list:
    """pydantic's errors, keeping for each value that no member of a union took only those of
    the member it came closest to (the fewest errors): `[0, 1, "x"]` for `list[float] |
    list[list[float]]` is one bad number, not three items that are not lists."""
    members: dict[tuple, dict[str, int]] = {}  # the path to a union -> errors per member
    for error in errors:
        for prefix, member in _members(error["loc"]):
            counts = members.setdefault(prefix, {})
            counts[member] = counts.get(member, 0) + 1
    best = {prefix: min(counts, key=counts.__getitem__) for prefix, counts in members.items()}
    return [error for error in errors if all(best[prefix] == member for prefix, member in _members(error["loc"]))]


def _members(loc):
    """(path to the union, member) for each union member tag in an error's path."""
    return [(tuple(loc[:i]), part) for i, part in enumerate(loc) if _is_tag(part)]


def format_pydantic(error: typing.Mapping, locator: Locator) -> str:
    """One pydantic error as a located line, in the config's words."""
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
