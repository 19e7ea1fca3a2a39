"""A Python signature as the JSON schema of its arguments: what the model sees for an ``@app.tool`` and what
the server may validate an agent's input against. Deliberately coarse (0.1.46's mapping): anything unknown
is a string."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

from ara_sdk.validation import DeclarationError

_SCALARS: dict[Any, str] = {str: "string", bool: "boolean", int: "integer", float: "number"}
_CONTAINERS: dict[Any, str] = {dict: "object", list: "array", tuple: "array", set: "array"}
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def annotation_schema(annotation: Any) -> dict[str, Any]:
    """``int`` -> integer, ``list[str]`` -> array, ...; string annotations (``from __future__ import
    annotations``) and everything else -> string, as 0.1.46 does."""
    kind = _kind(annotation, {**_SCALARS, **_CONTAINERS}) or _kind(getattr(annotation, "__origin__", None), _CONTAINERS)
    return {"type": kind or "string"}


def _kind(annotation: Any, table: dict[Any, str]) -> str | None:
    return next((name for typ, name in table.items() if annotation is typ), None)


def parameters_schema(fn: Callable[..., Any]) -> dict[str, Any]:
    """``{"type": "object", "properties", "required"}`` over the named parameters (``*args``/``**kw`` skipped);
    a JSON-serializable default is carried as ``default``."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in inspect.signature(fn).parameters.values():
        if param.kind not in _NAMED:
            continue
        schema = annotation_schema(param.annotation)
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
        elif _is_json(param.default):
            schema["default"] = param.default
        properties[param.name] = schema
    return {"type": "object", "properties": properties, "required": required}


def check_prompt_signature(fn: Callable[..., Any]) -> None:
    """An agent's prompt function takes the run's input and returns the prompt text."""
    params = [p for p in inspect.signature(fn).parameters.values() if p.kind in _NAMED]
    if len(params) != 1:
        raise DeclarationError("@app.agent requires exactly one input parameter")
    returns = inspect.signature(fn).return_annotation
    if isinstance(returns, str) and returns.strip().strip("'\"").lower() in {"str", "builtins.str"}:
        return
    if returns not in (inspect.Signature.empty, str):
        raise DeclarationError("@app.agent return annotation must be str (or omitted)")


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True
