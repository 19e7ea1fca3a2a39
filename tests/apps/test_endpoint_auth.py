"""The endpoint gateway's rules without a server: which endpoint a label names, the one method it answers, and each
authentication mode's acceptance and refusals (the HTTP tests in ``test_endpoints.py`` drive them end to end)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from ara.apps.endpoints import check_auth, check_method, find_endpoint, run_input
from ara.errors import MethodNotAllowed, NotFound, Unauthenticated

SECRET = "endpoint-secret-1234"
NOW = 1_800_000_000.0
BODY = b'{"ticket": 7}'


def manifest(mode: str, header_name: str = "", method: str = "POST") -> dict[str, Any]:
    row = {
        "type": "fastapi_endpoint",
        "method": method,
        "path": "/hook",
        "label": "hook",
        "docs": False,
        "auth": {"mode": mode, "header_name": header_name, "secret_env": "ARA_ENDPOINT_HOOK_SECRET"},
        "agent_id": "digest",
        "workflow_id": "digest",
    }
    return {"interfaces": {"fastapi_endpoints": [row]}}


def signed(stamp: str, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"x-ara-timestamp": stamp, "x-ara-signature": f"sha256={digest}"}


def check(mode: str, headers: dict[str, str], *, header_name: str = "", body: bytes = BODY) -> None:
    endpoint = find_endpoint(manifest(mode, header_name), "hook")
    check_auth(endpoint, SECRET, headers, body, now=NOW, skew=300)


def test_the_label_names_the_endpoint_and_its_agent() -> None:
    endpoint = find_endpoint(manifest("hmac"), "hook")
    assert (endpoint.method, endpoint.mode, endpoint.agent_id) == ("POST", "hmac", "digest")
    with pytest.raises(NotFound):
        find_endpoint(manifest("hmac"), "other")


def test_only_the_declared_method_passes() -> None:
    endpoint = find_endpoint(manifest("none", method="PUT"), "hook")
    check_method(endpoint, "put")
    with pytest.raises(MethodNotAllowed) as refused:
        check_method(endpoint, "POST")
    assert refused.value.detail == {"allowed": ["PUT"]}


def test_hmac_accepts_a_current_good_signature() -> None:
    check("hmac", signed(str(int(NOW))))
    check("hmac", signed(str(int(NOW) - 299)))
    upper = signed(str(int(NOW)))
    upper["x-ara-signature"] = "SHA256=" + upper["x-ara-signature"][7:].upper()
    check("hmac", upper)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        signed(str(int(NOW) - 301)),  # stale
        signed(str(int(NOW) + 301)),  # from the future
        signed(str(int(NOW)), secret="another-secret"),  # wrong
        signed(str(int(NOW)), body=b'{"ticket": 8}'),  # another body
        {"x-ara-timestamp": str(int(NOW))},  # no signature
        {"x-ara-signature": signed(str(int(NOW)))["x-ara-signature"]},  # no timestamp
        {**signed("1e9"), "x-ara-timestamp": "1e9"},  # not unix seconds
    ],
)
def test_hmac_refuses_stale_missing_and_wrong_signatures_alike(headers: dict[str, str]) -> None:
    with pytest.raises(Unauthenticated) as refused:
        check("hmac", headers)
    assert refused.value.message == "this endpoint needs a current X-Ara-Timestamp and a valid X-Ara-Signature"


def test_header_mode_reads_the_declared_header() -> None:
    check("header", {"x-ara-endpoint-secret": SECRET})
    check("header", {"x-hook-token": SECRET}, header_name="X-Hook-Token")
    for headers, name in (({"x-ara-endpoint-secret": "nope"}, ""), ({"x-ara-endpoint-secret": SECRET}, "X-Hook-Token")):
        with pytest.raises(Unauthenticated, match=name or "X-Ara-Endpoint-Secret"):
            check("header", headers, header_name=name)


def test_bearer_mode_reads_authorization() -> None:
    check("bearer", {"authorization": f"Bearer {SECRET}"})
    for value in (f"Basic {SECRET}", "Bearer nope", SECRET, ""):
        with pytest.raises(Unauthenticated):
            check("bearer", {"authorization": value})


def test_an_endpoint_without_its_secret_refuses_everyone() -> None:
    endpoint = find_endpoint(manifest("header"), "hook")
    with pytest.raises(Unauthenticated):
        check_auth(endpoint, None, {"x-ara-endpoint-secret": ""}, BODY, now=NOW, skew=300)


def test_the_body_is_the_input_and_input_input() -> None:
    assert run_input({"ticket": 7}) == {"ticket": 7, "input": {"ticket": 7}}
