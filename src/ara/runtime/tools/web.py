"""``web_fetch`` (a page as readable text) and ``web_search`` (through the configured provider).

``web_fetch`` runs on the server, not in the sandbox, so it must not become a way into the server's network: each
hop's host is resolved and private, loopback, link-local, multicast and reserved addresses are refused unless
``runtime.web_fetch_allow_private``; redirects are followed by hand so every hop is checked again."""

from __future__ import annotations

import ipaddress
import socket
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ara.errors import ToolFailed
from ara.runtime.tools.args import builtin
from ara.runtime.tools.base import ToolContext

MAX_REDIRECTS = 5
TIMEOUT_SECONDS = 20.0
MAX_FETCH_BYTES = 5 * 1024 * 1024
USER_AGENT = "Ara-runtime/1 (web_fetch)"


def check_url(
    url: str, *, allow_private: bool, what: str = "web_fetch", setting: str = "ARA_RUNTIME__WEB_FETCH_ALLOW_PRIVATE"
) -> str | None:
    """Refuses a URL that is not http(s), or whose host resolves to an address the server must not reach; answers
    the checked address to connect to (``None`` when private addresses are allowed and nothing was resolved).
    The one check of URLs the server itself calls out to (``what`` and ``setting`` name the caller's in errors:
    app webhooks use it too)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ToolFailed(f"{what}: only http and https URLs are fetched, not {parts.scheme or 'this'!r}: {url}")
    if not parts.hostname:
        raise ToolFailed(f"{what}: no host in {url}")
    if allow_private:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ToolFailed(f"{what}: cannot resolve {parts.hostname}: {exc}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        if not address.is_global or address.is_multicast:
            raise ToolFailed(
                f"{what}: {parts.hostname} resolves to {address}, a private, loopback, link-local or reserved "
                f"address (refused unless {setting}=true)"
            )
    return str(addresses[0])


def pinned(url: str, address: str | None) -> tuple[str, dict[str, str], dict[str, str]]:
    """The request that reaches the address just checked, not whatever a second DNS answer says (rebinding): the
    URL with the address as its host, the original ``Host`` header and TLS name (SNI and certificate check)."""
    if address is None:
        return url, {}, {}
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1]}
    return parts._replace(netloc=netloc).geturl(), headers, {"sni_hostname": parts.hostname or ""}


def _body(response: httpx.Response, deadline: float) -> bytes:
    """At most ``MAX_FETCH_BYTES``; a server dripping bytes slowly is cut at the deadline (httpx's timeouts are
    per read)."""
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > MAX_FETCH_BYTES:
            break
        if time.monotonic() > deadline:
            raise ToolFailed(f"web_fetch: {response.url} took more than {TIMEOUT_SECONDS:g} s")
    return bytes(data[:MAX_FETCH_BYTES])


def readable(content_type: str, data: bytes, encoding: str | None) -> str:
    """HTML as Markdown-ish text; other text as it is; binary refused."""
    text = data.decode(encoding or "utf-8", errors="replace")
    if "html" in content_type:
        import html2text  # the server extra's; imported when a page needs it

        converter = html2text.HTML2Text()
        converter.body_width = 0
        converter.ignore_images = True
        return converter.handle(text)
    if content_type.startswith("text/") or "json" in content_type or "xml" in content_type or not content_type:
        return text
    raise ToolFailed(f"web_fetch: the response is {content_type}, not text")


def web_fetch(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    url = args["url"]
    cap = min(args.get("max_chars", ctx.settings.web_fetch_max_chars), ctx.settings.web_fetch_max_chars)
    deadline = time.monotonic() + TIMEOUT_SECONDS
    with httpx.Client(follow_redirects=False, timeout=TIMEOUT_SECONDS, headers={"User-Agent": USER_AGENT}) as client:
        for _ in range(MAX_REDIRECTS + 1):
            address = check_url(url, allow_private=ctx.settings.web_fetch_allow_private)
            target, headers, extensions = pinned(url, address)
            try:
                with client.stream("GET", target, headers=headers, extensions=extensions) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    data = _body(response, deadline)
            except httpx.HTTPError as exc:
                raise ToolFailed(f"web_fetch: {url}: {exc}") from None
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            text = readable(content_type, data, response.encoding)
            return {
                "url": url,
                "status": response.status_code,
                "content_type": content_type,
                "text": text[:cap],
                "truncated": len(text) > cap,
            }
    raise ToolFailed(f"web_fetch: more than {MAX_REDIRECTS} redirects")


def web_search(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    endpoint = ctx.settings.web_search_url
    if not endpoint:
        raise ToolFailed("web_search: no web search provider is configured (ARA_RUNTIME__WEB_SEARCH_URL)")
    try:
        response = httpx.get(endpoint, params={"q": args["query"]}, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        found = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ToolFailed(f"web_search: the provider failed: {exc}") from None
    results = found.get("results") if isinstance(found, dict) else found
    if not isinstance(results, list):
        raise ToolFailed("web_search: the provider did not answer a JSON list of results")
    return {"query": args["query"], "results": results}


WEB_FETCH = builtin(
    "web_fetch",
    "Fetch an http(s) URL and return its content as readable text (HTML converted, length capped).",
    {
        "properties": {
            "url": {"type": "string", "description": "An http or https URL."},
            "max_chars": {"type": "integer", "minimum": 1, "description": "Keep at most this many characters."},
        },
        "required": ["url"],
    },
    web_fetch,
)
WEB_SEARCH = builtin(
    "web_search",
    "Search the web through the server's configured search provider; answers a list of results.",
    {"properties": {"query": {"type": "string", "description": "What to search for."}}, "required": ["query"]},
    web_search,
)
