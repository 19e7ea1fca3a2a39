"""The name rules an app declaration obeys, with 0.1.46's exact messages (authors see the same errors with
either SDK, and the server may trust a manifest's names because both SDKs enforced them)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from ara_sdk.errors import DeclarationError

ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
SECRET_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}[a-z0-9]$")
PROJECT_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# The server injects these itself (session ids, endpoint secrets ``ARA_ENDPOINT_<LABEL>_SECRET``): an author's
# env must not shadow them.
RESERVED_ENV_KEYS = frozenset({"SESSION_ID", "USER_ID", "APP_ID"})
RESERVED_ENV_PREFIXES = ("ARA_", "MODAL_")
SLUG_MAX_LENGTH = 120


def slugify(value: Any) -> str:
    """Lowercase alphanumerics, every other run of characters one dash (``"09:30"`` -> ``"09-30"``)."""
    out: list[str] = []
    dash = False
    for ch in str(value or "").strip().lower():
        if ch.isalnum():
            out.append(ch)
            dash = False
        elif not dash:
            out.append("-")
            dash = True
    return "".join(out).strip("-")[:SLUG_MAX_LENGTH]


def project_name(value: Any) -> str:
    name = str(value or "").strip()
    if not name or not PROJECT_NAME_RE.match(name):
        raise DeclarationError(
            "project_name must match [a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])? "
            "(lowercase letters, digits, hyphens only; no underscores)"
        )
    return name


def secret_name(value: Any) -> str:
    name = str(value or "").strip().lower()
    if not name or not SECRET_NAME_RE.match(name):
        raise DeclarationError("Secret name must match [a-z0-9][a-z0-9_-]{0,62}[a-z0-9]")
    return name


def env_key(value: Any) -> str:
    key = str(value or "").strip()
    if not key:
        raise DeclarationError("Environment key cannot be empty")
    if not ENV_KEY_RE.match(key):
        raise DeclarationError(f"Invalid environment key: {key}")
    if key in RESERVED_ENV_KEYS or key.startswith(RESERVED_ENV_PREFIXES):
        raise DeclarationError(f"Reserved environment key is not allowed: {key}")
    return key


def env_keys(keys: list[str] | None) -> list[str]:
    """Validated keys, first occurrence kept (``required_keys=``)."""
    if not keys:
        return []
    if not isinstance(keys, list):
        raise DeclarationError("required_keys must be a list[str]")
    return unique_strings(env_key(key) for key in keys)


def unique_strings(items: Iterable[Any] | None) -> list[str]:
    """Stripped, non-empty, first occurrence kept (skills, handoff targets)."""
    out: list[str] = []
    for item in items or []:
        text = str(item or "").strip()
        if text and text not in out:
            out.append(text)
    return out


def stripped(items: Iterable[Any] | None) -> list[str]:
    """Stripped and non-empty, duplicates kept (command arguments, package lists)."""
    return [str(item).strip() for item in items or [] if str(item).strip()]


def ensure_json(value: Any, *, context: str) -> None:
    try:
        json.dumps(value)
    except TypeError as exc:
        raise DeclarationError(f"{context} must be JSON-serializable") from exc
