"""App secrets as the author declares them: ``Secret.from_name`` (a secret already on the server),
``Secret.from_dict`` and ``Secret.from_dotenv`` (values the deploy uploads). The manifest carries only
references (``secret_refs``: names and required keys); the values travel beside it as
``SecretDefinition``s under the client-only key ``__secret_definitions``, which the deploy strips
(``ara_sdk.deploy``). A dict or dotenv secret's name is derived from its *keys*, never its values, so a
rotated value keeps its name and the server replaces it in place.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ara_sdk.validation import DeclarationError, env_key, env_keys, secret_name

SECRET_DEFINITIONS_KEY = "__secret_definitions"
MAX_SECRET_NAME = 64


class SecretDefinition:
    """One declared secret: ``values`` is ``None`` for a reference to a secret already on the server."""

    def __init__(
        self,
        name: str,
        *,
        values: dict[str, Any] | None = None,
        required_keys: list[str] | None = None,
        source: str,
    ) -> None:
        self.name = secret_name(name)
        self.values = _values(values)
        self.required_keys = env_keys(required_keys)
        self.source = source

    def __repr__(self) -> str:  # never the values: a repr ends up in logs and tracebacks
        return f"SecretDefinition(name={self.name!r}, source={self.source!r}, keys={sorted(self.values or {})})"

    @classmethod
    def from_name(cls, name: str, required_keys: list[str] | None = None) -> SecretDefinition:
        return cls(name, required_keys=required_keys, source="name")

    @classmethod
    def from_dict(cls, env_dict: dict[str, Any]) -> SecretDefinition:
        if not isinstance(env_dict, dict) or not env_dict:
            raise DeclarationError("from_dict requires a non-empty env_dict")
        values = {str(k): "" if v is None else str(v) for k, v in env_dict.items()}
        return cls(_generated_name("dict", values), values=values, source="dict")

    @classmethod
    def from_dotenv(cls, filename: str = ".env") -> SecretDefinition:
        path = Path(filename)
        if not path.is_file():
            raise DeclarationError(f"Secret dotenv file not found: {path}")
        values = parse_dotenv(path.read_text(encoding="utf-8"))
        if not values:
            raise DeclarationError(f"Secret dotenv file has no key=value entries: {path}")
        return cls(_generated_name("dotenv", values), values=values, source="dotenv")

    def ref(self) -> dict[str, Any]:
        """What the manifest says about this secret (no values)."""
        out: dict[str, Any] = {"name": self.name}
        if self.required_keys:
            out["required_keys"] = list(self.required_keys)
        return out

    def same_as(self, other: SecretDefinition) -> bool:
        return (self.values, self.required_keys, self.source) == (other.values, other.required_keys, other.source)


class Secret:
    """The public constructors (``Secret.from_name("stripe")``, ``Secret.from_dict({...})``, ...)."""

    @staticmethod
    def from_name(name: str, required_keys: list[str] | None = None) -> SecretDefinition:
        return SecretDefinition.from_name(name, required_keys=required_keys)

    @staticmethod
    def from_dict(env_dict: dict[str, Any]) -> SecretDefinition:
        return SecretDefinition.from_dict(env_dict)

    @staticmethod
    def from_dotenv(filename: str = ".env") -> SecretDefinition:
        return SecretDefinition.from_dotenv(filename=filename)


def parse_dotenv(text: str) -> dict[str, str]:
    """``KEY=value`` lines; blank lines, ``#`` comments and lines without ``=`` skipped; one pair of matching
    quotes around a value removed."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key:
            values[key] = value
    return values


def runtime_secrets(items: list[Any] | None) -> tuple[list[dict[str, Any]], list[SecretDefinition]]:
    """``runtime(secrets=[...])`` as (``secret_refs``, definitions). Items are definitions, names or
    ``{"name", "required_keys"}``; an identical repeat is dropped; two different value sets under one name get
    ``-2``, ``-3``, ... suffixes; a repeated reference-only name keeps the first declaration."""
    if items is None:
        return [], []
    if not isinstance(items, list):
        raise DeclarationError("runtime(secrets=...) expects a list")
    refs: list[dict[str, Any]] = []
    kept: dict[str, SecretDefinition] = {}
    next_suffix: dict[str, int] = {}
    for item in items:
        placed = _place(_definition(item), kept, next_suffix)
        if placed is not None:
            kept[placed.name] = placed
            refs.append(placed.ref())
    return refs, list(kept.values())


def _place(
    candidate: SecretDefinition, kept: dict[str, SecretDefinition], next_suffix: dict[str, int]
) -> SecretDefinition | None:
    """``candidate`` under a free name, or None when an earlier declaration already covers it."""
    base = candidate.name
    while (existing := kept.get(candidate.name)) is not None:
        if existing.same_as(candidate) or existing.values is None or candidate.values is None:
            return None
        number = next_suffix.setdefault(base, 2)
        next_suffix[base] = number + 1
        candidate = SecretDefinition(
            _suffixed(base, number),
            values=candidate.values,
            required_keys=candidate.required_keys,
            source=candidate.source,
        )
    return candidate


def _definition(item: Any) -> SecretDefinition:
    if isinstance(item, SecretDefinition):
        return item
    if isinstance(item, str):
        return SecretDefinition.from_name(item)
    if isinstance(item, dict):
        required = item.get("required_keys")
        return SecretDefinition.from_name(str(item.get("name") or ""), required if isinstance(required, list) else None)
    raise DeclarationError("runtime(secrets=...) items must be SecretDefinition, str, or dict")


def _values(values: dict[str, Any] | None) -> dict[str, str] | None:
    if values is None:
        return None
    if not isinstance(values, dict):
        raise DeclarationError("Secret values must be a dict[str, str]")
    if not values:
        raise DeclarationError("Secret values cannot be empty")
    return {env_key(key): "" if value is None else str(value) for key, value in values.items()}


def _generated_name(prefix: str, values: dict[str, str]) -> str:
    fingerprint = json.dumps(sorted(values), separators=(",", ":"), ensure_ascii=True)
    return secret_name(f"sdk-{prefix}-{hashlib.sha256(fingerprint.encode()).hexdigest()[:12]}")


def _suffixed(base: str, number: int) -> str:
    suffix = f"-{number}"
    room = max(2, MAX_SECRET_NAME - len(suffix))
    trimmed = base[:room].rstrip("-_")
    if len(trimmed) < 2:
        trimmed = (base[:room] or "sdk").ljust(2, "x")
    return secret_name(f"{trimmed}{suffix}")
