"""Catalog CRUD and the selector matching playbooks use to decide which resources they apply to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.catalog.models import KINDS, CatalogItem
from ara.catalog.schemas import MAX_ID, MAX_NAME
from ara.db.types import iso
from ara.errors import NotFound, ValidationFailed

FIELDS = ("name", "type", "tags", "labels", "properties")


def model_for(kind: str) -> type[CatalogItem]:
    try:
        return KINDS[kind]
    except KeyError:
        raise NotFound(f"no catalog of {kind!r} (use configs, checks or components)") from None


def clean_item(body: Any, *, partial: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationFailed({"body": ["expected a JSON object"]})
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for field in FIELDS:
        if field not in body:
            if field == "name" and not partial:
                errors["name"] = ["This field is required."]
            continue
        value = body[field]
        if field in ("name", "type"):
            if not isinstance(value, str) or (field == "name" and not value.strip()):
                errors[field] = ["must be a non-empty string" if field == "name" else "must be a string"]
                continue
            if len(value) > MAX_NAME:
                errors[field] = [f"Ensure this field has no more than {MAX_NAME} characters."]
                continue
        elif not isinstance(value, dict):
            errors[field] = ["must be an object"]
            continue
        values[field] = value
    if "id" in body and not partial:
        if (
            not isinstance(body["id"], str | int)
            or isinstance(body["id"], bool)
            or not 0 < len(str(body["id"])) <= MAX_ID
        ):
            errors["id"] = [f"must be a string of 1 to {MAX_ID} characters"]
        else:
            values["id"] = str(body["id"])
    if errors:
        raise ValidationFailed(errors)
    return values


def as_dict(item: CatalogItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "type": item.type,
        "tags": item.tags or {},
        "labels": item.labels or {},
        "properties": item.properties or {},
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
    }


def get_item(session: Session, kind: str, item_id: str) -> CatalogItem:
    item = session.get(model_for(kind), item_id)
    if item is None:
        raise NotFound(f"{kind} item {item_id} not found")
    return item


def find_item(session: Session, item_id: str) -> tuple[str, CatalogItem] | None:
    for kind, model in KINDS.items():
        item = session.get(model, item_id)
        if item is not None:
            return kind, item
    return None


def create_item(session: Session, kind: str, body: Any) -> CatalogItem:
    model = model_for(kind)
    values = clean_item(body, partial=False)
    if "id" in values and session.get(model, values["id"]) is not None:
        raise ValidationFailed({"id": [f"{kind} item {values['id']} already exists"]})
    item = model(**values)
    session.add(item)
    session.flush()
    return item


def update_item(session: Session, kind: str, item_id: str, body: Any, *, partial: bool) -> CatalogItem:
    item = get_item(session, kind, item_id)
    for key, value in clean_item(body, partial=partial).items():
        if key != "id":
            setattr(item, key, value)
    session.flush()
    return item


def delete_item(session: Session, kind: str, item_id: str) -> None:
    session.delete(get_item(session, kind, item_id))


def list_items(session: Session, kind: str) -> list[CatalogItem]:
    model = model_for(kind)
    return list(session.scalars(select(model).order_by(model.name, model.id)))


def matches(item: CatalogItem, selector: Any) -> bool:
    """Every criterion the selector gives must hold: type in ``types``, ``name`` (``*`` wildcards), ``tags``
    equal, and each ``labelSelector`` term (``k=v``, ``k!=v``, ``k``, ``!k``)."""
    import fnmatch

    if selector.types and item.type not in selector.types:
        return False
    if selector.name and not fnmatch.fnmatchcase(item.name, selector.name):
        return False
    tags = item.tags or {}
    if any(str(tags.get(k)) != str(v) for k, v in selector.tags.items()):
        return False
    labels = {**(item.labels or {}), **tags}
    for term in filter(None, (t.strip() for t in selector.labelSelector.split(","))):
        if "!=" in term:
            key, value = (p.strip() for p in term.split("!=", 1))
            if str(labels.get(key)) == value:
                return False
        elif "=" in term:
            key, value = (p.strip() for p in term.split("=", 1))
            if str(labels.get(key.rstrip("="))) != value.lstrip("="):
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True
