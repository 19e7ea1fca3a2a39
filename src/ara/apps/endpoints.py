"""The endpoint gateway's rules: which endpoint a label names, the one method it answers, its authentication,
and what its request becomes as the agent's input.

Authentication modes (``fastapi_endpoint(auth=...)``), each against the secret the server minted at deploy:
``none``; ``header`` (the declared header, ``X-Ara-Endpoint-Secret`` by default, equals the secret); ``bearer``
(``Authorization: Bearer <secret>``); ``hmac`` (``X-Ara-Timestamp`` unix seconds within the allowed skew, and
``X-Ara-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>``). Every comparison is constant
time, and a refusal says which headers are expected, never which part was wrong."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ara.apps import manifest as manifests
from ara.errors import MethodNotAllowed, NotFound, Unauthenticated

MODES = ("none", "header", "bearer", "hmac")
DEFAULT_HEADER = "X-Ara-Endpoint-Secret"
TIMESTAMP_HEADER = "X-Ara-Timestamp"
SIGNATURE_HEADER = "X-Ara-Signature"
#: What a refused caller reads, per mode: the headers to send, nothing about which one failed.
_REFUSALS = {
    "header": "this endpoint needs its secret in the {header} header",
    "bearer": "this endpoint needs its secret as Authorization: Bearer <secret>",
    "hmac": f"this endpoint needs a current {TIMESTAMP_HEADER} and a valid {SIGNATURE_HEADER}",
}


@dataclass(frozen=True)
class Endpoint:
    label: str
    method: str
    mode: str
    header_name: str
    agent_id: str | None


class Refused(Unauthenticated):
    """A 401 whose ``challenge`` (the ``WWW-Authenticate`` value) names the endpoint's scheme, not HTTP basic (a
    browser must not offer a password dialog for a webhook URL)."""

    def __init__(self, template: str, endpoint: Endpoint) -> None:
        super().__init__(template.format(header=endpoint.header_name))
        scheme = {"bearer": "Bearer", "hmac": "Ara-HMAC-SHA256"}.get(endpoint.mode, "Ara-Endpoint-Secret")
        self.challenge = f'{scheme} realm="ara-endpoint"'


def find_endpoint(manifest: dict[str, Any], label: str) -> Endpoint:
    """The endpoint ``label`` of ``interfaces.fastapi_endpoints[]``; NotFound otherwise."""
    for row in manifests.endpoints(manifest):
        if str(row["label"]) != label:
            continue
        auth = row.get("auth") if isinstance(row.get("auth"), dict) else {}
        mode = str(auth.get("mode") or "none").lower()
        header = str(auth.get("header_name") or "").strip() or DEFAULT_HEADER
        method = str(row.get("method") or "POST").upper()
        return Endpoint(label, method, mode, header, str(row.get("agent_id") or "") or None)
    raise NotFound(f"app has no endpoint {label!r}")


def check_method(endpoint: Endpoint, method: str) -> None:
    """Only the declared method reaches the agent (the answer's ``Allow`` header names it)."""
    if method.upper() != endpoint.method:
        raise MethodNotAllowed(
            f"endpoint {endpoint.label!r} answers {endpoint.method} only", {"allowed": [endpoint.method]}
        )


def needs_secret(endpoint: Endpoint) -> bool:
    return endpoint.mode != "none"


def signature(secret: str, timestamp: str, raw: bytes) -> str:
    """``sha256=<hex>`` of ``"<timestamp>." + raw`` keyed by the secret (what an hmac caller sends)."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()


def check_auth(
    endpoint: Endpoint, secret: str | None, headers: Mapping[str, str], raw: bytes, *, now: float, skew: int
) -> None:
    """Unauthenticated (401) unless the request carries what the endpoint's mode asks; an endpoint whose
    secret is missing (never minted) refuses everyone but ``none``."""
    if endpoint.mode == "none":
        return
    refusal = Refused(_REFUSALS.get(endpoint.mode, "this endpoint refuses every caller"), endpoint)
    if endpoint.mode not in MODES or not secret:
        raise refusal
    if endpoint.mode == "header":
        good = _same(headers.get(endpoint.header_name.lower(), ""), secret)
    elif endpoint.mode == "bearer":
        scheme, _, value = headers.get("authorization", "").partition(" ")
        good = _same(value.strip(), secret) & (scheme.lower() == "bearer")
    else:
        stamp = headers.get(TIMESTAMP_HEADER.lower(), "").strip()
        provided = headers.get(SIGNATURE_HEADER.lower(), "").strip()
        if provided[:7].lower() == "sha256=":
            provided = "sha256=" + provided[7:].lower()
        good = _same(provided, signature(secret, stamp, raw)) & _fresh(stamp, now, skew)
    if not good:
        raise refusal


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _fresh(stamp: str, now: float, skew: int) -> bool:
    # ASCII digits only: ``str.isdigit`` also takes '²', which ``int`` refuses (a 500 before).
    return re.fullmatch(r"[0-9]{1,12}", stamp) is not None and abs(now - int(stamp)) <= skew


def run_input(body: dict[str, Any]) -> dict[str, Any]:
    """The agent sees the body's fields at the top of its input, and the whole body as ``input["input"]``."""
    return {**body, "input": body}
