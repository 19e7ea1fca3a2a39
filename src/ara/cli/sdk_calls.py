"""What ``ara auth`` and ``ara runtime`` share: a client built from the user key, JSON printed as received
(indent 2, as ara-sdk prints it), ``--arg k=v`` pairs, and every failure as one line with exit code 2.

These commands speak the ara-sdk wire through ``ara_sdk`` (base install only: no server stack). They read
``ARA_API_KEY`` as the user API key, as ara-sdk does; the records commands read it as a client-certificate key
file only when it names one (``ClientSettings``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer

from ara.cli.errors import errors_handled, fail
from ara_sdk import AraApiError, AraRuntimeClient, AraSdkError


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


def parse_pairs(items: Sequence[str] | None, flag: str = "--arg") -> dict[str, str]:
    """``["k=v", ...]`` as a dict of strings (the SDK sends ``--arg`` values as strings, never parsed)."""
    pairs: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=f"'{flag}'")
        pairs[key.strip()] = value
    return pairs


@contextmanager
def sdk_errors() -> Iterator[None]:
    """``Error: <status> <message>`` for a refusal, ``Error: <message>`` otherwise; exit 2, never a traceback
    (anything unforeseen is one line too, as in every command: ``errors_handled``)."""
    with errors_handled():
        try:
            yield
        except AraApiError as exc:
            fail(f"{exc.status} {exc.message}")
        except (AraSdkError, ValueError) as exc:
            fail(str(exc))


@contextmanager
def runtime_client() -> Iterator[AraRuntimeClient]:
    """The user's client (``ARA_API_BASE_URL``/``ARA_API_KEY`` or ``ara auth login``), errors handled."""
    with sdk_errors():
        client = AraRuntimeClient.from_env()
        try:
            yield client
        finally:
            client.close()
