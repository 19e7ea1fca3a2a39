"""What the playbook-run and catalog commands share: ``NAME=VALUE`` options and playbook names as ids."""

from __future__ import annotations

from typing import Any

from ara.cli.errors import fail_usage
from ara.clients.base import AraClient


def key_values(pairs: list[str] | None, flag: str) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` -> ``{"a": "1", "b": "x=y"}``; a pair without ``=`` or a name is a usage error."""
    values: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail_usage(f"{flag} wants NAME=VALUE, got {pair!r}")
        values[name.strip()] = value
    return values


def playbook_id_for(client: AraClient, reference: str) -> str:
    """A definition's id from its id or its (unique, live) name, asking the API once."""
    definitions: list[dict[str, Any]] = client.get("/playbook/list")
    for definition in definitions:
        if reference == definition["id"]:
            return reference
    named = [d["id"] for d in definitions if d["name"] == reference]
    if not named:
        # Perhaps deleted or hidden from the list: let the API answer for the id itself.
        return reference
    return str(named[0])
