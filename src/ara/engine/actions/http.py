"""``http``: one request; the result is ``{code, headers, content}`` and a 4xx/5xx answer fails the action (the
runner scrubs secrets from it, as from every action's outcome)."""

from __future__ import annotations

from typing import Any

import httpx

from ara.engine.actions.base import ActionContext, Outcome, pairs


def run_http(spec: Any, ctx: ActionContext) -> Outcome:
    try:
        with httpx.Client(timeout=ctx.timeout, follow_redirects=True) as client:
            response = client.request(
                spec.method.upper(), spec.url, headers=pairs(spec.headers), content=spec.body.encode() or None
            )
    except httpx.TimeoutException:
        return Outcome(False, {}, f"timed out after {ctx.timeout:g}s", timed_out=True)
    except httpx.HTTPError as exc:
        return Outcome(False, {}, f"request failed: {exc}")
    result = {"code": response.status_code, "headers": dict(response.headers), "content": response.text}
    if response.status_code >= 400:
        return Outcome(False, result, f"HTTP {response.status_code}")
    return Outcome(True, result)
