"""Portable column types: timezone-aware UTC datetimes and zlib-compressed JSON."""

from __future__ import annotations

import datetime as dt
import json
import zlib
from typing import Any

from sqlalchemy import JSON, DateTime, LargeBinary
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

UTC = dt.UTC


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def iso(value: dt.datetime | None) -> str | None:
    """The one wire format for a moment, on every surface: ISO 8601 in UTC ending in ``Z`` (DRF's rendering)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores UTC; always returns an aware datetime (SQLite keeps no offset, so we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def compress_json(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, ensure_ascii=False).encode("utf-8"), 1)


def decompress_json(blob: bytes | None, default: Any = None) -> Any:
    if blob is None:
        return default
    return json.loads(zlib.decompress(blob).decode("utf-8"))


class CompressedJSON(TypeDecorator[Any]):
    """Large JSON (arguments, facts, result content, record values) kept zlib-compressed on disk."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes:
        return compress_json(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> Any:
        return decompress_json(value)


# Small JSON lists (task warnings, deprecations, exceptions) stay plain JSON so the database can count them.
JSON_LIST = JSON().with_variant(JSONB(), "postgresql")
