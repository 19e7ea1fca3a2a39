"""Wire models of the catalog routes (``/api/v1/catalog/{kind}``); timestamps are ISO 8601 UTC ending in ``Z``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

MAX_NAME = 255  # VARCHAR(255) columns
MAX_ID = 36


class CatalogItemCreate(BaseModel):
    id: str | None = Field(default=None, min_length=1, max_length=MAX_ID, description="Chosen by the server if absent.")
    name: str = Field(min_length=1, max_length=MAX_NAME)
    type: str = Field(default="", max_length=MAX_NAME)
    tags: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, Any] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)


class CatalogItemUpdate(BaseModel):
    """``PUT`` needs ``name``; ``PATCH`` changes only the fields given."""

    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    type: str | None = Field(default=None, max_length=MAX_NAME)
    tags: dict[str, Any] | None = None
    labels: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None


class CatalogItemRead(BaseModel):
    id: str
    name: str
    type: str
    tags: dict[str, Any]
    labels: dict[str, Any]
    properties: dict[str, Any]
    created_at: str | None
    updated_at: str | None
