"""The config reference, rendered from the schema's own JSON schema (`schema.Config`), so that
the documentation of every key, type, default, range and meaning cannot drift from what the
loader accepts. The documentation site builds its config reference page from `markdown()`."""

from __future__ import annotations

import json
from typing import Any

from .schema import Config

__all__ = ["markdown"]

# Where each nested model is documented, by its dotted key in a config.
_SECTIONS = {
    "SystemConfig": "system",
    "SweepAxes": "sweep",
    "Integrate": "integrate",
    "Verify": "verify",
}


def _ref_name(prop: dict) -> str | None:
    ref = prop.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def _bounds(prop: dict) -> list[str]:
    words = []
    for key, sign in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in prop:
            words.append(f"{sign} {prop[key]:g}" if isinstance(prop[key], float) else f"{sign} {prop[key]}")
    if "minLength" in prop:
        words.append(f"at least {prop['minLength']} character")
    if "maxLength" in prop:
        words.append(f"at most {prop['maxLength']} characters")
    if "pattern" in prop:
        words.append(f"matching `{prop['pattern']}`")
    return words


def _spell(prop: dict, defs: dict) -> str:
    """How a value of this property is written in YAML."""
    name = _ref_name(prop)
    if name in _SECTIONS:
        return f"a mapping (`{_SECTIONS[name]}`)"
    if name is not None:  # a one-key mapping such as {natural: tau} or {logspace: [a, b, n]}
        ((key, inner),) = defs[name]["properties"].items()
        return f"`{{{key}: ...}}` with {_spell(inner, defs)}"
    if "discriminator" in prop:
        kinds = ", ".join(f"`{kind}`" for kind, _ in _kinds(prop, defs))
        return f"a mapping with `kind`: {kinds}"
    for union in ("anyOf", "oneOf"):
        if union in prop:
            options = [option for option in prop[union] if option.get("type") != "null"]
            return " or ".join(_spell(option, defs) for option in options)
    if "enum" in prop:
        return ", ".join(f"`{value}`" for value in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    kind = prop.get("type", "")  # "" (not None) for no type: a str key for the lookup below
    if kind == "array":
        if "prefixItems" in prop:
            return "[" + ", ".join(_spell(item, defs) for item in prop["prefixItems"]) + "]"
        return f"a list of {_spell(prop.get('items', {}), defs)}"
    words = {"number": "number", "integer": "integer", "string": "text", "boolean": "true/false"}.get(kind, "value")
    bounds = _bounds(prop)
    return f"{words} {', '.join(bounds)}" if bounds else words


def _default(prop: dict, required: bool) -> str:
    if required:
        return "required"
    if "default" not in prop:  # a section: each of its keys has its own default
        return "its keys' defaults"
    if prop["default"] is None:
        return "unset (see meaning)"
    return f"`{json.dumps(prop['default'])}`"


def _table(model: dict, prefix: str, defs: dict, *, axes: bool = False) -> str:
    required = set(model.get("required", []))
    rows = ["| key | value | default | meaning |", "|---|---|---|---|"]
    for key, prop in model.get("properties", {}).items():
        if key == "kind":
            continue
        dotted = f"{prefix}.{key}" if prefix else key
        meaning = prop.get("description", "")
        if axes:  # every sweep key takes the same spellings, listed above the table
            rows.append(f"| `{dotted}` | an axis | not swept | {meaning} |")
        else:
            rows.append(f"| `{dotted}` | {_spell(prop, defs)} | {_default(prop, key in required)} | {meaning} |")
    return "\n".join(rows)


def _kinds(prop: dict, defs: dict) -> list[tuple[str, dict]]:
    """The members of a union discriminated by `kind`, as (kind, model)."""
    mapping = prop.get("discriminator", {}).get("mapping", {})
    return [(kind, defs[ref.rsplit("/", 1)[-1]]) for kind, ref in mapping.items()]


def markdown() -> str:
    """The config reference as markdown: one table per section of a config, and one per `kind`."""
    schema: dict[str, Any] = Config.model_json_schema()
    defs = schema["$defs"]
    parts = [schema.get("description", ""), _table(schema, "", defs)]
    system = defs["SystemConfig"]
    parts += [f"## `system`\n\n{system.get('description', '')}", _table(system, "system", defs)]
    parts.append("### `system.energies`\n\nOne of these, chosen by `kind`:")
    for kind, model in _kinds(system["properties"]["energies"], defs):
        parts += [f"#### `kind: {kind}`\n\n{model.get('description', '')}", _table(model, "system.energies", defs)]
    parts.append("## `initial`\n\nThe start `rho(0)`, one of these, chosen by `kind`:")
    for kind, model in _kinds(schema["properties"]["initial"], defs):
        parts += [f"### `kind: {kind}`\n\n{model.get('description', '')}", _table(model, "initial", defs)]
    sweep = defs["SweepAxes"]
    spellings = "\n".join(
        f"- `{{{key}: ...}}`: {defs[name].get('description', '')}"
        for name, key in (("Logspace", "logspace"), ("Linspace", "linspace"), ("Range", "range"))
    )
    parts += [
        f"## `sweep`\n\n{sweep.get('description', '')} Each axis is a list of values or one of:\n\n{spellings}",
        _table(sweep, "sweep", defs, axes=True),
    ]
    times = "\n".join(
        f"- `{{{key}: ...}}`: {defs[name].get('description', '')}"
        for name, key in (("NaturalTime", "natural"), ("RelaxationTimes", "relaxation_times"))
    )
    integrate = defs["Integrate"]
    parts += [
        f"## `integrate`\n\n{integrate.get('description', '')} A time is a number (physical time) or:\n\n{times}",
        _table(integrate, "integrate", defs),
    ]
    verify = defs["Verify"]
    parts += [f"## `verify`\n\n{verify.get('description', '')}", _table(verify, "verify", defs)]
    return "\n\n".join(part for part in parts if part) + "\n"
