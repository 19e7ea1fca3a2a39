"""``http``: one request; the result is ``{code, headers, content}`` and a 4xx/5xx answer fails the action."""

from __future__ import annotations

from typing import Any

import httpx

from ara.engine.actions.base import ActionContext, Outcome, scrub


def _headers(headers: Any) -> dict[str, str]:
    if isinstance(headers, dict):
        return {str(k): str(v) for k, v in headers.items()}
    return {str(h["name"]): str(h.get("value", "")) for h in headers or [] if "name" in h}


def run_http(spec: Any, ctx: ActionContext) -> Outcome:
    try:
        with httpx.Client(timeout=ctx.timeout, follow_redirects=True) as client:
            response = client.request(
                spec.method.upper(), spec.url, headers=_headers(spec.headers), content=spec.body.encode() or None
            )
    except httpx.TimeoutException:
        return Outcome(False, {}, f"timed out after {ctx.timeout:g}s", timed_out=True)
    except httpx.HTTPError as exc:
        return Outcome(False, {}, scrub(f"request failed: {exc}", ctx.secrets))
    content = scrub(response.text, ctx.secrets)
    result = {"code": response.status_code, "headers": dict(response.headers), "content": content}
    if response.status_code >= 400:
        return Outcome(False, result, f"HTTP {response.status_code}")
    return Outcome(True, result)
