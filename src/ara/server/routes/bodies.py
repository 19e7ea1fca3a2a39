"""Request bodies for our own (non-records) routes: JSON, or YAML where a definition is sent."""

from __future__ import annotations

import json
from typing import Any

import yaml
from fastapi import Request

from ara.errors import ValidationFailed


async def json_body(request: Request, *, allow_yaml: bool = False, default: Any = None) -> Any:
    raw = await request.body()
    if not raw.strip():
        return default
    try:
        return json.loads(raw)
    except ValueError as exc:
        if not allow_yaml:
            raise ValidationFailed({"body": [f"invalid JSON: {exc}"]}) from None
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ValidationFailed({"body": [f"neither JSON nor YAML: {exc}"]}) from None
