"""The OpenAPI document: request bodies (read by hand in the handlers, after the caller is known) described from
their models, every error status with the body it really has, and one operation id per operation.

Handlers read their bodies themselves (``bodies.json_body``) so that FastAPI never parses or validates a body
before authentication; ``request_body`` puts the model into the document instead.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from ara.server.errors import drf_style_path

REF = "#/components/schemas/{model}"
_MODELS: dict[str, type[BaseModel]] = {}
_SCHEMAS: dict[str, dict[str, Any]] = {}

ERROR_STATUSES = {
    "400": "Bad input: the body names each bad field.",
    "401": "No or wrong credentials.",
    "403": "The caller may not do this.",
    "404": "No such object.",
    "409": "A conflict: the name exists, or the object's state forbids this.",
    "413": "The body is larger than server.max_body_bytes (or a YAML document over its cap).",
    "503": "The database is busy: nothing was written, send the request again (Retry-After).",
}
OWN_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "detail": {},
            },
        }
    },
}
# DRF's shapes: {"detail": "..."} or {"field": ["message", ...], ...}.
DRF_ERROR = {
    "type": "object",
    "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
}


def register_schema(name: str, schema: dict[str, Any]) -> str:
    """A hand-built schema (the records resources') under ``#/components/schemas/name``; returns the ref."""
    _SCHEMAS[name] = schema
    return REF.format(model=name)


def ref(model: type[BaseModel]) -> dict[str, str]:
    _MODELS[model.__name__] = model
    return {"$ref": REF.format(model=model.__name__)}


def request_body(
    model: type[BaseModel] | None = None,
    *,
    schema: dict[str, Any] | None = None,
    yaml: bool = False,
    required: bool = True,
) -> dict[str, Any]:
    """``openapi_extra`` for a route whose handler reads ``model`` (or ``schema``) from the body itself."""
    described = ref(model) if model is not None else schema or {}
    content: dict[str, Any] = {"application/json": {"schema": described}}
    if yaml:
        content["application/yaml"] = {"schema": described}
    return {"requestBody": {"required": required, "content": content}}


def error_response_doc(description: str) -> dict[str, Any]:
    """``responses={status: ...}`` for a route that answers a status beyond ``ERROR_STATUSES`` (410, 504)."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
    }


def _error_responses(path: str) -> dict[str, Any]:
    schema = {"$ref": REF.format(model="DrfError" if drf_style_path(path) else "Error")}
    return {
        status: {"description": text, "content": {"application/json": {"schema": schema}}}
        for status, text in ERROR_STATUSES.items()
    }


# Path parameters a created object's answer supplies, and the answer's field that holds them.
_CREATED_KEYS = {
    "run_id": "run_id",
    "username": "username",
    "key": "id",
    "item_id": "id",
    "playbook_id": "id",
    "permission_id": "id",
}


def _params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _links(document: dict[str, Any]) -> None:
    """OpenAPI links from each create (201) to the operations on what it created: ``POST /playbook`` answers
    ``id``, which ``GET /playbook/{playbook_id}`` takes. Clients and stateful fuzzers follow them."""
    paths = document.get("paths", {})
    schemas = document.get("components", {}).get("schemas", {})
    for source, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get("201")
        if not created:
            continue
        schema = created.get("content", {}).get("application/json", {}).get("schema", {})
        ref = schema.get("$ref", "")
        fields = set(schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))
        known = set(_params(source))
        links: dict[str, Any] = {}
        for target, target_operations in paths.items():
            new = [name for name in _params(target) if name not in known]
            if not target.startswith(source + "/") or len(new) != 1 or _CREATED_KEYS.get(new[0]) not in fields:
                continue
            parameters = {new[0]: f"$response.body#/{_CREATED_KEYS[new[0]]}"}
            parameters.update({name: f"$request.path.{name}" for name in known})
            for method, operation in target_operations.items():
                name = operation.get("operationId") or f"{method}_{target}"
                links[name] = {"operationId": name, "parameters": parameters}
        if links:
            created["links"] = links


def _finish(document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for model in list(_MODELS.values()):
        schema = model.model_json_schema(ref_template=REF, mode="validation")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    components.update(_SCHEMAS)
    components["Error"] = OWN_ERROR
    components["DrfError"] = DRF_ERROR
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    seen: set[str] = set()
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's default; our validation errors are 400s
            for status, response in _error_responses(path).items():
                responses.setdefault(status, response)
            # Several methods on one route share a name; the method keeps their ids apart.
            base = operation.get("operationId") or f"{method}_{path}"
            operation_id = base if base not in seen else f"{base}_{method}"
            seen.add(operation_id)
            operation["operationId"] = operation_id
    _links(document)
    return document


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description="Ara: ARA-compatible records (/api/v1) and playbook runs. Timestamps are ISO 8601 "
                "in UTC ending in Z.",
                routes=app.routes,
            )
            app.openapi_schema = _finish(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
