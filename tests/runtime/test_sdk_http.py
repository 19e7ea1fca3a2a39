"""``ara_sdk.http``: ara-sdk's answer rules (204 is None, empty is {}, else JSON) and the server's message kept in
every refusal, whatever shape the body has (Ara's ``error``, FastAPI's ``detail``, a proxy's plain text)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ara_sdk.errors import AraApiError, AraConnectionError, AraSdkError
from ara_sdk.http import Http, query_path


def answering(status: int, body: Any = None, *, text: str | None = None) -> tuple[Http, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, content=b"" if body is None else json.dumps(body).encode())

    return Http("http://ara.test/prefix/", "key-1", transport=httpx.MockTransport(handle)), seen


@pytest.mark.parametrize(
    ("status", "body", "text", "expected"),
    [
        (200, {"a": 1}, None, {"a": 1}),
        (204, None, None, None),
        (200, None, None, {}),
    ],
)
def test_answers_follow_the_sdks_rules(status: int, body: Any, text: str | None, expected: Any) -> None:
    http, seen = answering(status, body, text=text)
    assert http.request("POST", "/session/stop", body={}) == expected
    sent = seen[0]
    assert str(sent.url) == "http://ara.test/prefix/session/stop"  # appended verbatim to a base with a path
    assert sent.headers["authorization"] == "Bearer key-1" and sent.headers["content-type"] == "application/json"
    assert sent.content == b"{}"


@pytest.mark.parametrize(
    ("status", "body", "text", "message"),
    [
        (400, {"error": {"code": "validation", "message": "tool_name: unknown tool 'x'"}}, None, "unknown tool 'x'"),
        (404, {"detail": "Not found."}, None, "Not found."),
        (422, {"detail": [{"loc": ["body", "args"], "msg": "must be an object"}]}, None, "args: must be an object"),
        (502, None, "<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
        (200, None, "not json", "the answer is not JSON"),
    ],
)
def test_refusals_carry_status_and_message(status: int, body: Any, text: str | None, message: str) -> None:
    http, _ = answering(status, body, text=text)
    with pytest.raises(AraApiError) as raised:
        http.request("GET", "/session/status")
    assert raised.value.status == status and message in raised.value.message
    assert str(raised.value).startswith(f"GET /session/status failed ({status}): ")


def test_no_answer_is_a_connection_error_naming_the_server() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    http = Http("http://ara.test", "k", transport=httpx.MockTransport(refuse))
    with pytest.raises(AraConnectionError, match=r"POST /chat failed \(network\): cannot reach http://ara.test"):
        with http.stream_lines("POST", "/chat", body={}, timeout=5):
            pass


def test_empty_query_values_are_dropped_as_the_sdk_does() -> None:
    assert query_path("/t", {"session_id": "s 1", "kind": "all", "agent_id": ""}) == "/t?session_id=s+1&kind=all"
    assert query_path("/t", {"agent_id": ""}) == "/t"


@pytest.mark.parametrize("base_url", ["127.0.0.1:8000", "ftp://host", "http://[::1", "http://"])
def test_a_base_url_no_request_could_reach_is_refused_at_once(base_url: str) -> None:
    with pytest.raises(AraSdkError, match="is not a server URL"):
        Http(base_url, "k")
