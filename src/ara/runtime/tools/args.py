"""Tool arguments checked against the tool's own JSON schema, the one the model sees: CLI ``--arg k=v`` values
arrive as strings, so integers and booleans are coerced; a missing required argument, an unknown one or a value of
the wrong type is a ``ToolFailed`` naming it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ara.errors import ToolFailed
from ara.runtime.tools.base import Tool, ToolContext

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def coerce(tool: str, parameters: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = parameters.get("properties", {})
    if not isinstance(args, dict):
        raise ToolFailed(f"{tool}: arguments must be a JSON object")
    unknown = sorted(set(args) - set(properties))
    if unknown:
        raise ToolFailed(f"{tool}: unknown argument {unknown[0]!r} (accepted: {', '.join(properties)})")
    for name in parameters.get("required", ()):
        if args.get(name) is None:
            raise ToolFailed(f"{tool}: missing required argument {name!r}")
    out: dict[str, Any] = {}
    for name, value in args.items():
        if value is None:
            continue
        out[name] = _value(tool, name, properties[name], value)
    return out


def _value(tool: str, name: str, schema: dict[str, Any], value: Any) -> Any:
    kind = schema.get("type")
    if kind == "string":
        if not isinstance(value, str):
            raise ToolFailed(f"{tool}: argument {name!r} must be a string")
        return value
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ToolFailed(f"{tool}: argument {name!r} must be true or false, not {value!r}")
    if kind in ("integer", "number"):
        number = _number(value, integer=kind == "integer")
        if number is None:
            raise ToolFailed(f"{tool}: argument {name!r} must be {'an integer' if kind == 'integer' else 'a number'}")
        if "minimum" in schema and number < schema["minimum"]:
            raise ToolFailed(f"{tool}: argument {name!r} must be at least {schema['minimum']}")
        return number
    return value


def _number(value: Any, *, integer: bool) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if integer and value.is_integer() else (None if integer else value)
    if isinstance(value, str):
        try:
            return int(value.strip()) if integer else float(value.strip())
        except ValueError:
            return None
    return None


def builtin(
    name: str, description: str, parameters: dict[str, Any], run: Callable[[ToolContext, dict[str, Any]], Any]
) -> Tool:
    """A builtin ``Tool`` whose ``run`` receives arguments already checked and coerced."""
    schema = {"type": "object", "additionalProperties": False, **parameters}
    return Tool(name, description, schema, lambda ctx, args: run(ctx, coerce(name, schema, args)))
