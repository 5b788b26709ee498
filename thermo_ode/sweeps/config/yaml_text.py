"""The YAML text of a config, checked before any value is built from it: parsed by libyaml,
nested no deeper and expanding (through aliases) to no more values than a config could, and
each key a name written once (a key beside a merge, `<<: *anchor`, overrides the merged one, as
YAML says), with no value YAML reads as a boolean."""

from __future__ import annotations

import yaml

from . import limits
from .located import ConfigError, Locator

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


def _duplicate_keys(node, path, seen_nodes=None):
    """Keys written twice in one mapping, on the tree as written: a merge (`<<: *anchor`) adds
    its keys only when the tree is built, and a key written beside it overrides them, as YAML
    says. Each node is looked at once (an alias shares its anchor's)."""
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key, value in node.value:
            if key.value in seen:
                yield key.start_mark, seen[key.value], path + (key.value,)
            else:
                seen[key.value] = key.start_mark
            yield from _duplicate_keys(value, path + (key.value,), seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, path + (i,), seen_nodes)


def read_yaml(text: str, filename: str):
    """The YAML node tree of `text` (with merged keys in their mappings, as built) and the plain
    data built from it, or a located `ConfigError` for text that is not YAML, has the shape of
    no config or a key written twice in one mapping."""
    try:
        root = _check_shape(text, filename)  # before building anything: depth and expanded size
        # Before the tree is built: building it merges `<<:` keys into their mappings (in place).
        duplicates = list(_duplicate_keys(root, ()))
        if duplicates:  # safe_load keeps the last silently; a repeated key is almost always a slip
            locator = Locator(filename, root)
            raise ConfigError(
                [
                    locator.line_at(mark, path, f"duplicate key (first at line {first.line + 1})")
                    for mark, first, path in duplicates
                ]
            )
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
    return root, data


def key_problems(root, locator: Locator) -> list[str]:
    """The first of these found, each located: keys that are not names, values YAML reads as
    booleans (repeated keys are refused by `read_yaml`, on the tree as written)."""
    odd = list(_non_text_keys(root, ()))
    if odd:  # YAML reads `yes:` as True and `7:` as 7; name them as written
        return [
            locator.line_at(
                key.start_mark,
                path + (_written(key),),
                f"a key must be a name; YAML reads "
                f"{_written(key)!r} as {key.tag.rsplit(':', 1)[-1]} (no config key is named so)",
            )
            for key, path in odd
        ]
    # No key takes a boolean; `mass: yes` or `tokens: true` is a slip, not 1.
    return [
        locator.line_at(
            node.start_mark,
            path,
            f"{node.value!r} is read by YAML as a boolean; no config key takes one (write a number or a name)",
        )
        for node, path in _booleans(root, ())
    ]
