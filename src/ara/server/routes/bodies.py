"""Request bodies parsed by hand, in the handler (after the caller is known), with limits a parser alone lacks.

JSON: no ``NaN``/``Infinity`` (not JSON, and PostgreSQL refuses them), no lone surrogates (not encodable as
UTF-8), no nesting beyond what the parser can recurse. YAML (definitions only): a size cap, and a budget on the
nodes the document *expands* to, so an alias bomb (a few hundred bytes naming a billion nodes) is refused before
anything walks it. Our own routes also refuse NUL characters (PostgreSQL cannot store them in text).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, TypeVar

import yaml
from fastapi import Request
from pydantic import BaseModel, ValidationError

from ara.errors import BodyNotJson, PayloadTooLarge, ValidationFailed
from ara.records.fields import text_error

M = TypeVar("M", bound=BaseModel)
MAX_YAML_BYTES = 1024 * 1024  # a definition is a few KB; YAML is parsed in full before it can be judged
MAX_NODES = 200_000  # values a definition may expand to (aliases counted every time they are used)
MAX_DEPTH = 64
# Parser events a YAML definition may hold: 500 actions take about 5,000; the cap keeps the worst accepted
# document well under a second (PyYAML's constructor is Python even over libyaml).
MAX_YAML_EVENTS = 20_000
TOO_DEEP = "nested too deeply"
# A \uD800-\uDFFF escape; valid pairs decode to one character, so only then is a walk needed.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """JSON as the standard demands it; ``BodyNotJson`` (DRF's 'JSON parse error - ...') otherwise."""
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except RecursionError:
        raise BodyNotJson(TOO_DEEP) from None
    except ValueError as exc:  # includes UnicodeDecodeError (invalid UTF-8)
        raise BodyNotJson(str(exc)) from None
    if _SURROGATE_ESCAPE.search(raw):
        where = find_bad_string(value, nul=False)
        if where is not None:
            raise BodyNotJson(f"{where[1]} (at {where[0] or 'the top level'})")
    return value


def find_bad_string(value: Any, *, nul: bool = True) -> tuple[str, str] | None:
    """(dotted path, message) of the first string (key or value) holding a lone surrogate (or NUL), else None."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = text_error(item, nul=nul)
            if problem:
                return path, problem
        elif isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{key}" if path else str(key)
                problem = text_error(key, nul=nul) if isinstance(key, str) else None
                if problem:
                    return path or "body", problem
                stack.append((where, child))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}" if path else str(i), child) for i, child in enumerate(item))
    return None


def check_bounded(value: Any, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a value that expands to too many nodes or nests too deeply, or holds NUL or lone surrogates.

    Walks at most ``max_nodes`` nodes, so a YAML alias bomb costs the same as a large honest document."""
    seen = 0
    stack: list[tuple[str, Any, int]] = [("", value, 0)]
    while stack:
        path, item, depth = stack.pop()
        seen += 1
        if seen > max_nodes:
            raise ValidationFailed({"body": [f"the document expands to more than {max_nodes} values"]})
        if depth > max_depth:
            raise ValidationFailed({"body": [f"the document nests deeper than {max_depth} levels (at {path})"]})
        if isinstance(item, str):
            problem = text_error(item, nul=True)
            if problem:
                raise ValidationFailed({path or "body": [problem]})
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValidationFailed({path or "body": [f"{item} is not a number JSON can hold"]})
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and (problem := text_error(key, nul=True)):
                    raise ValidationFailed({path or "body": [problem]})
                stack.append((f"{path}.{key}" if path else str(key), child, depth + 1))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}" if path else str(i), child, depth + 1) for i, child in enumerate(item))


_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10-20x faster
_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _check_events(raw: bytes) -> None:
    """One pass over the parser's events (no objects built): refuse deep nesting and too many values before
    composing, so neither PyYAML's recursive composer nor a huge document gets to run."""
    depth = events = 0
    for event in yaml.parse(raw, Loader=_Loader):
        events += 1
        if events > MAX_YAML_EVENTS:
            raise ValidationFailed({"body": [f"the document holds more than {MAX_YAML_EVENTS} YAML values"]})
        if isinstance(event, _OPENS):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise ValidationFailed({"body": [f"the document nests deeper than {MAX_DEPTH} levels (line {line})"]})
        elif isinstance(event, _CLOSES):
            depth -= 1


def parse_yaml(raw: bytes) -> Any:
    if len(raw) > MAX_YAML_BYTES:
        raise PayloadTooLarge(f"a YAML document may be at most {MAX_YAML_BYTES} bytes (send JSON for more)")
    try:
        _check_events(raw)
        return yaml.load(raw, Loader=_Loader)  # noqa: S506 - a safe loader
    except RecursionError:
        raise ValidationFailed({"body": ["the document nests too deeply"]}) from None
    except yaml.YAMLError as exc:
        raise ValidationFailed({"body": [f"neither JSON nor YAML: {exc}"]}) from None


def validated(model: type[M], value: Any) -> M:
    """``value`` as ``model``, or a 400 naming each bad field (``params``, ``teams.0``)."""
    if not isinstance(value, dict):
        raise ValidationFailed({"body": ["expected a JSON object"]})
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for item in exc.errors(include_url=False):
            where = ".".join(str(part) for part in item["loc"]) or "body"
            errors.setdefault(where, []).append(item["msg"].removeprefix("Value error, "))
        raise ValidationFailed(errors) from None


async def json_body(request: Request, *, allow_yaml: bool = False, default: Any = None) -> Any:
    """A body for our own routes: JSON (or YAML where allowed), bounded, without NUL or lone surrogates."""
    raw = await request.body()
    if not raw.strip():
        return default
    try:
        value = parse_json(raw)
    except BodyNotJson as exc:
        if not allow_yaml or exc.reason == TOO_DEEP:  # a JSON document too deep is no YAML either
            raise ValidationFailed({"body": [f"invalid JSON: {exc.reason}"]}) from None
        value = parse_yaml(raw)
    check_bounded(value)
    return value


async def json_object(request: Request) -> dict[str, Any]:
    """A JSON object body (empty: ``{}``); anything else is a 400 naming ``body``."""
    body = await json_body(request, default={})
    if not isinstance(body, dict):
        raise ValidationFailed({"body": ["expected a JSON object"]})
    return body
