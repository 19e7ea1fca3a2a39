"""Playbook definitions: save (validated), read, replace, soft-delete, and list those that apply to a resource."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ara.catalog.service import find_item, matches
from ara.crypto import SecretBox, is_sealed
from ara.db.types import iso, utcnow
from ara.errors import AlreadyExists, NotFound, ValidationFailed
from ara.playbooks.models import PlaybookDefinition
from ara.playbooks.spec import PlaybookSpec, parse_definition
from ara.redaction import REDACTED

SELECTOR_FIELDS = {"configs": "config_id", "checks": "check_id", "components": "component_id"}


def spec_of(definition: PlaybookDefinition) -> PlaybookSpec:
    return PlaybookSpec.model_validate(definition.spec)


_LIVE_SPEC = select(PlaybookDefinition.spec).where(
    PlaybookDefinition.id == bindparam("id"), PlaybookDefinition.deleted_at.is_(None)
)


def live_spec(session: Session, playbook_id: str) -> dict[str, Any]:
    """A live definition's stored spec, read as a value (what starting a run needs: loading the object cost a
    quarter of a run's POST); 404 as ``get_definition``. A Core read: saving or deleting a definition flushes it."""
    spec = session.connection().execute(_LIVE_SPEC, {"id": playbook_id}).scalar()
    if spec is None:
        raise NotFound(f"playbook {playbook_id} not found")
    return spec  # type: ignore[no-any-return]


def get_definition(session: Session, playbook_id: str, *, include_deleted: bool = False) -> PlaybookDefinition:
    definition = session.get(PlaybookDefinition, playbook_id)
    if definition is None or (definition.deleted_at is not None and not include_deleted):
        raise NotFound(f"playbook {playbook_id} not found")
    return definition


def _by_name(session: Session, name: str) -> PlaybookDefinition | None:
    return session.scalar(
        select(PlaybookDefinition).where(PlaybookDefinition.name == name, PlaybookDefinition.deleted_at.is_(None))
    )


def sealed_spec(spec: PlaybookSpec, box: SecretBox) -> dict[str, Any]:
    """The spec as stored: connection URLs, webhook credentials and secret parameters' defaults encrypted."""
    data = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)

    def seal(value: str) -> str:
        return value if is_sealed(value) else box.seal(value)

    for parameter in data.get("parameters", []):
        if parameter.get("type") == "secret" and isinstance(parameter.get("default"), str):
            parameter["default"] = seal(parameter["default"])

    for action in data.get("actions", []):
        if "sql" in action:
            action["sql"]["connection"] = seal(action["sql"]["connection"])
    auth = (data.get("on", {}).get("webhook") or {}).get("authentication") or {}
    if "basic" in auth:
        auth["basic"]["password"] = seal(auth["basic"]["password"])
    if "github" in auth:
        auth["github"]["token"] = seal(auth["github"]["token"])
    return data


def _apply(definition: PlaybookDefinition, name: str, spec: PlaybookSpec, box: SecretBox) -> None:
    definition.name = name
    definition.spec = sealed_spec(spec, box)
    definition.title = spec.title or name
    definition.description = spec.description
    definition.category = spec.category
    definition.icon = spec.icon


def save_definition(
    session: Session,
    document: Any,
    *,
    box: SecretBox,
    created_by: str | None,
    source: str = "api",
    upsert: bool = False,
) -> tuple[PlaybookDefinition, bool]:
    """Create a definition (or, with ``upsert``, replace the live one of that name). Returns (row, created)."""
    name, spec = parse_definition(document)
    existing = _by_name(session, name)
    if existing is not None and not upsert:
        raise AlreadyExists(f"a playbook named {name!r} already exists ({existing.id})")
    definition = existing or PlaybookDefinition(created_by=created_by, source=source)
    _apply(definition, name, spec, box)
    if existing is None:
        session.add(definition)
    session.flush()
    return definition, existing is None


def replace_definition(session: Session, playbook_id: str, document: Any, *, box: SecretBox) -> PlaybookDefinition:
    definition = get_definition(session, playbook_id)
    if isinstance(document, dict) and "spec" not in document and "actions" in document:
        document = {"name": definition.name, "spec": document}  # a bare spec replaces the spec only
    if isinstance(document, dict) and "name" not in document and "kind" not in document:
        document = {**document, "name": definition.name}
    name, spec = parse_definition(document)
    clash = _by_name(session, name)
    if clash is not None and clash.id != definition.id:
        raise AlreadyExists(f"a playbook named {name!r} already exists ({clash.id})")
    _apply(definition, name, spec, box)
    session.flush()
    return definition


def delete_definition(session: Session, playbook_id: str) -> None:
    """Soft delete: runs keep pointing at it, lists stop showing it (flushed: ``live_spec`` reads with Core)."""
    get_definition(session, playbook_id).deleted_at = utcnow()
    session.flush()


def list_definitions(
    session: Session, *, config_id: str | None = None, check_id: str | None = None, component_id: str | None = None
) -> list[PlaybookDefinition]:
    """All live definitions, or those whose selectors match the one resource given (two given -> 400)."""
    given = {k: v for k, v in (("config_id", config_id), ("check_id", check_id), ("component_id", component_id)) if v}
    if len(given) > 1:
        raise ValidationFailed({key: ["give at most one of config_id, check_id, component_id"] for key in given})
    definitions = list(
        session.scalars(
            select(PlaybookDefinition)
            .where(PlaybookDefinition.deleted_at.is_(None))
            .order_by(PlaybookDefinition.name, PlaybookDefinition.id)
        )
    )
    if not given:
        return definitions
    field, resource_id = next(iter(given.items()))
    kind = next(k for k, f in SELECTOR_FIELDS.items() if f == field)
    found = find_item(session, resource_id)
    if found is None or found[0] != kind:
        raise NotFound(f"{kind[:-1]} {resource_id} not found")
    item = found[1]
    return [d for d in definitions if any(matches(item, sel) for sel in getattr(spec_of(d), kind))]


def as_dict(definition: PlaybookDefinition) -> dict[str, Any]:
    spec = spec_of(definition)
    return {
        "id": definition.id,
        "name": definition.name,
        "title": definition.title,
        "description": definition.description,
        "category": definition.category,
        "icon": definition.icon,
        "source": definition.source,
        "spec": redacted_spec(definition.spec),
        "parameters": [p.model_dump(mode="json", exclude_defaults=True) for p in spec.parameters],
        "created_by": definition.created_by,
        "created_at": iso(definition.created_at),
        "updated_at": iso(definition.updated_at),
        "deleted_at": iso(definition.deleted_at),
    }


def redacted_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Connection URLs, webhook credentials and secret parameters' defaults are never returned."""
    out = dict(spec)
    out["parameters"] = [
        {**p, "default": REDACTED} if p.get("type") == "secret" and p.get("default") not in (None, "") else p
        for p in spec.get("parameters", [])
    ]
    actions = []
    for action in spec.get("actions", []):
        action = dict(action)
        if "sql" in action:
            action["sql"] = {**action["sql"], "connection": REDACTED}
        actions.append(action)
    out["actions"] = actions
    webhook = (spec.get("on") or {}).get("webhook")
    if webhook and webhook.get("authentication"):
        out["on"] = {**spec["on"], "webhook": {**webhook, "authentication": REDACTED}}
    return out
