"""JSON Schemas of the records API, generated from each resource's declared fields and filters (nothing is
written per resource): what a create/update body may hold, what an object looks like, which query parameters a
list takes. Shapes are ARA's (DRF's), so they are described, not changed: fields accept what DRF accepts (a
number for a string field, ``"true"`` for a boolean), and objects may carry more than their writable fields.
"""

from __future__ import annotations

from typing import Any

from ara.records.fields import INT32_MAX, INT64_MAX, Field
from ara.records.filters import Filter, filter_bound
from ara.records.resources.base import Resource

DATETIME = {"type": "string", "format": "date-time"}
_NUMBER_TEXT = {"type": "string", "pattern": r"^-?[0-9]+$"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def field_request_schema(field: Field) -> dict[str, Any]:
    kind = field.kind
    schema: dict[str, Any]
    if kind in ("str", "text"):
        text: dict[str, Any] = {"type": "string"}
        if field.max_length is not None:
            text["maxLength"] = field.max_length
        if not field.blank:
            text["minLength"] = 1
        schema = {"anyOf": [text, {"type": "number"}]}
    elif kind == "choice":
        schema = {"type": "string", "enum": list(field.choices)}
    elif kind == "int":
        schema = {"type": "integer", "minimum": -INT32_MAX - 1, "maximum": INT32_MAX}
    elif kind == "fk":
        schema = {"anyOf": [{"type": "integer", "minimum": 1, "maximum": INT64_MAX}, _NUMBER_TEXT]}
    elif kind == "bool":
        schema = {"anyOf": [{"type": "boolean"}, {"type": "string"}, {"type": "integer", "enum": [0, 1]}]}
    elif kind == "datetime":
        schema = dict(DATETIME)
    elif kind == "json":
        schema = {}
    elif kind == "fk_list":
        schema = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": INT64_MAX}}
    elif kind == "labels":
        schema = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 255}}
    else:
        raise ValueError(f"unknown field kind {kind!r}")
    return _nullable(schema) if field.nullable else schema


def request_schema(resource: Resource, *, partial: bool) -> dict[str, Any]:
    """A create (``partial=False``, required fields listed) or partial-update body; unknown keys are ignored."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: field_request_schema(field) for name, field in resource.fields.items()},
    }
    required = [name for name, field in resource.fields.items() if field.required]
    if required and not partial:
        schema["required"] = required
    return schema


_OBJECT_OR_ID = {"anyOf": [{"type": "integer"}, {"type": "object"}, {"type": "null"}]}


def _field_response_schema(field: Field) -> dict[str, Any]:
    """What the field looks like in an answer: a key may come back as an id or as the nested object."""
    kind = field.kind
    if kind in ("str", "text", "choice"):
        return _nullable({"type": "string"})
    if kind == "int":
        return _nullable({"type": "integer"})
    if kind == "bool":
        return {"type": "boolean"}
    if kind == "datetime":
        return _nullable(dict(DATETIME))
    if kind == "fk":
        return _OBJECT_OR_ID
    if kind in ("fk_list", "labels"):
        return {"type": "array", "items": _OBJECT_OR_ID}
    return {}


def object_schema(resource: Resource) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "id": {"type": "integer"},
        "created": _nullable(dict(DATETIME)),
        "updated": _nullable(dict(DATETIME)),
    }
    properties.update({name: _field_response_schema(field) for name, field in resource.fields.items()})
    return {"type": "object", "properties": properties}


def list_schema(item_ref: str) -> dict[str, Any]:
    link = _nullable({"type": "string"})
    return {
        "type": "object",
        "required": ["count", "next", "previous", "results"],
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "next": link,
            "previous": link,
            "results": {"type": "array", "items": {"$ref": item_ref}},
        },
    }


def _filter_schema(flt: Filter) -> dict[str, Any]:
    kind = flt.kind
    if kind == "choice":
        return {"type": "array", "items": {"type": "string", "enum": list(flt.choices)}}
    if kind in ("number", "gt", "lt", "json_len_gt", "json_len_lt"):
        largest = filter_bound(flt)
        return {"type": "integer", "minimum": -largest - 1, "maximum": largest}
    if kind == "uuid":
        return {"type": "string", "format": "uuid"}
    if kind == "bool":
        return {"type": "string", "enum": ["true", "false", "1", "0"]}
    if kind in ("lte", "gte"):
        return dict(DATETIME)
    return {"type": "string"}


def list_parameters(resource: Resource) -> list[dict[str, Any]]:
    """Filters, ordering and paging as documented query parameters. Unknown parameters are ignored (DRF);
    a value that is not a count falls back to the default page, one past int64 is a 400."""
    params = [
        {"name": name, "in": "query", "required": False, "schema": _filter_schema(flt)}
        for name, flt in resource.filters.items()
    ]
    orders = sorted(resource.orders)
    params += [
        {
            "name": "order",
            "in": "query",
            "required": False,
            "description": f"Comma-separated, '-' for descending: {', '.join(orders)}",
            "schema": {"type": "string"},
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": INT64_MAX},
        },
        {
            "name": "offset",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 0, "maximum": INT64_MAX},
        },
    ]
    return params
