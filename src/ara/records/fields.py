"""Validation of request bodies with Django REST framework's rules and messages (ARA's clients parse them).

A resource declares its writable fields once; ``clean`` applies them for create (POST), full update (PUT)
and partial update (PATCH). Unknown keys are ignored, as DRF does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ara.db.types import UTC
from ara.errors import ValidationFailed

REQUIRED = "This field is required."
NULL = "This field may not be null."
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1  # integer fields are INTEGER columns (Django's IntegerField range)
DATETIME_FORMAT = (
    "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


@dataclass(frozen=True)
class Field:
    """One writable field. ``kind`` is one of: str, text, int, bool, datetime, choice, json, fk, fk_list, labels."""

    kind: str
    required: bool = False
    nullable: bool = False
    blank: bool = True
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    default: Any = None
    # For fk / fk_list: the column the value is stored in (``playbook`` -> ``playbook_id``).
    column: str | None = None


def parse_datetime(value: Any) -> dt.datetime | None:
    """ISO 8601 in, aware UTC out; ``None`` when it does not parse."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is past datetime.max in UTC
        return None


def text_error(value: str, *, nul: bool = True) -> str | None:
    """DRF's CharField refusals: NUL (PostgreSQL cannot store it) and lone surrogates (not UTF-8)."""
    if nul and "\x00" in value:
        return "Null characters are not allowed."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"Surrogate characters are not allowed: U+{ord(value[exc.start]):X}."
    return None


def range_error(number: int, bound: int) -> str | None:
    """Outside ``[-bound - 1, bound]``: DRF's messages for a value the column cannot hold."""
    if number > bound:
        return f"Ensure this value is less than or equal to {bound}."
    if number < -bound - 1:
        return f"Ensure this value is greater than or equal to {-bound - 1}."
    return None


def _clean_value(name: str, field: Field, value: Any) -> tuple[Any, str | None]:
    """Returns (cleaned value, error message or None)."""
    if value is None:
        return (None, None) if field.nullable else (None, NULL)
    kind = field.kind
    if kind in ("str", "text", "choice"):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return None, "Not a valid string."
        value = str(value)
        if problem := text_error(value):
            return None, problem
        if kind == "choice":
            if value not in field.choices:
                return None, f'"{value}" is not a valid choice.'
            return value, None
        if not field.blank and not value.strip():
            return None, "This field may not be blank."
        if field.max_length is not None and len(value) > field.max_length:
            return None, f"Ensure this field has no more than {field.max_length} characters."
        return value, None
    if kind in ("int", "fk"):
        number = _as_int(value)
        if number is None:
            return None, "A valid integer is required." if kind == "int" else _fk_type_error(value)
        if kind == "int" and (problem := range_error(number, INT32_MAX)):
            return None, problem
        if kind == "fk" and range_error(number, INT64_MAX):
            return None, f'Invalid pk "{value}" - object does not exist.'  # a key past int64 names no row
        return number, None
    if kind == "bool":
        parsed = _parse_bool(value)
        return (parsed, None) if parsed is not None else (None, "Must be a valid boolean.")
    if kind == "datetime":
        parsed_dt = parse_datetime(value)
        if parsed_dt is None:
            return None, DATETIME_FORMAT
        return parsed_dt, None
    if kind == "json":
        return value, None
    if kind == "fk_list":
        if not isinstance(value, list):
            return None, f'Expected a list of items but got type "{type(value).__name__}".'
        ids = []
        for item in value:
            cleaned, error = _clean_value(name, Field("fk"), item)
            if error:
                return None, error
            ids.append(cleaned)
        return ids, None
    if kind == "labels":
        if not isinstance(value, list):
            return None, f'Expected a list of items but got type "{type(value).__name__}".'
        names = []
        for item in value:
            if not isinstance(item, str) or not item.strip() or text_error(item):
                return None, "Invalid value."
            if len(item) > 255:
                return None, "Ensure this field has no more than 255 characters."
            names.append(item)
        return names, None
    raise ValueError(f"unknown field kind {kind!r}")


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 100:
        try:
            return int(value)
        except ValueError:  # digits int() does not take, such as '²'
            return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _fk_type_error(value: Any) -> str:
    return f"Incorrect type. Expected pk value, received {type(value).__name__}."


def _parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in (1, 0):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "t", "yes", "y", "on", "1"):
            return True
        if lowered in ("false", "f", "no", "n", "off", "0"):
            return False
    return None


def clean(fields: Mapping[str, Field], body: Any, *, partial: bool) -> dict[str, Any]:
    """Validate ``body`` against ``fields``; returns only the fields given (plus defaults on create/PUT)."""
    if not isinstance(body, Mapping):
        raise ValidationFailed(
            {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(body).__name__}."]}
        )
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in body:
            if partial:
                continue
            if field.required:
                errors[name] = [REQUIRED]
            elif field.default is not None:
                cleaned[name] = field.default() if callable(field.default) else field.default
            continue
        value, error = _clean_value(name, field, body[name])
        if error:
            errors[name] = [error]
        else:
            cleaned[name] = value
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def bool_param(value: str) -> bool | None:
    """django-filter's BooleanWidget: true/false in any case, 1/0; anything else means 'no filter'."""
    return {"true": True, "false": False, "1": True, "0": False}.get(value.strip().lower())


def all_given(names: Iterable[str], body: Mapping[str, Any]) -> bool:
    return all(name in body for name in names)
