"""Catalog items share one shape: id, name, type, tags, labels and free-form properties."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from ara.db.base import Base
from ara.db.types import UTCDateTime, utcnow


def new_id() -> str:
    return str(uuid.uuid4())


class CatalogItem:
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), index=True)
    type: Mapped[str] = mapped_column(String(255), index=True, default="")
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ConfigItem(CatalogItem, Base):
    __tablename__ = "catalog_configs"


class Check(CatalogItem, Base):
    __tablename__ = "catalog_checks"


class Component(CatalogItem, Base):
    __tablename__ = "catalog_components"


KINDS: dict[str, type[CatalogItem]] = {"configs": ConfigItem, "checks": Check, "components": Component}
