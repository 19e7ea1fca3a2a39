"""``ara auth login|whoami|rotate|logout``: the user API key in ``~/.ara/credentials.json``, shared with ara-sdk.

A key is an Ara bearer token (``ara token create --user U``). ``login`` stores it before verifying it, as the
SDK does: a server that cannot be reached only earns a warning. Without ``--api-key``, ``login`` runs the
server's browser login (``ara.cli.browser_login``): it prints a link, a person approves it, and the key it
receives is stored the same way.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from ara.cli.browser_login import browser_login
from ara.cli.errors import fail
from ara.cli.sdk_calls import print_json, sdk_errors
from ara_sdk import AraSdkError, CredentialsError, config
from ara_sdk.http import Http, check_base_url

app = typer.Typer(help="Your user API key for the runtime and apps (~/.ara/credentials.json).", no_args_is_help=True)

BaseUrl = Annotated[
    str, typer.Option("--api-base-url", help="Server URL (defaults to ARA_API_BASE_URL, the stored one, or local)")
]
NOT_LOGGED_IN = "not logged in: run `ara auth login --api-key KEY` or set ARA_API_KEY"


def _base_url(given: str) -> str:
    return given.strip() or config.resolve_api_base_url()


def _whoami(base_url: str, key: str) -> dict[str, Any]:
    http = Http(base_url, key)
    try:
        return http.request("GET", "/auth/cli/whoami")  # type: ignore[no-any-return]
    finally:
        http.close()


@app.command("login")
def login(
    api_key: Annotated[str, typer.Option("--api-key", help="A key from 'ara token create --user YOU'")] = "",
    api_base_url: BaseUrl = "",
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Only print the approval link")] = False,
    timeout_seconds: Annotated[
        int, typer.Option("--timeout-seconds", min=30, max=3600, help="How long to wait for the approval")
    ] = 180,
) -> None:
    """Store your API key (and server) for later commands, then check it with the server. Without --api-key,
    approve the login in the browser (the link is printed) and the key it gets is stored."""
    key = api_key.strip()
    with sdk_errors():
        try:
            base_url = _base_url(api_base_url)
        except CredentialsError:  # an unreadable file is what this login replaces: do not refuse over it
            base_url = os.environ.get("ARA_API_BASE_URL", "").strip() or config.DEFAULT_API_BASE_URL
        check_base_url(base_url)  # refused before it is stored: later commands would only fail with it
        if not key:
            key, user = browser_login(
                base_url, open_browser=not no_browser, timeout=timeout_seconds, show=lambda text: typer.echo(text)
            )
            path = config.save_api_key(key, base_url)
        else:
            path = config.save_api_key(key, base_url)
            try:
                user = _whoami(base_url, key).get("user")
            except AraSdkError as exc:
                typer.echo(
                    f"Warning: could not verify API key against server ({exc}); stored locally anyway.", err=True
                )
                user = {"id": "", "email": ""}
    print_json(
        {
            "ok": True,
            "status": "logged_in",
            "auth_type": config.AUTH_TYPE_API_KEY,
            "api_base_url": base_url,
            "user": user,
            "credentials_path": str(path),
        }
    )


@app.command("whoami")
def whoami(api_base_url: BaseUrl = "") -> None:
    """Who the server says your key belongs to, and where the key came from (auth_source)."""
    with sdk_errors():
        key = config.resolve_user_key()
        if not key:
            fail(NOT_LOGGED_IN)
        answer = _whoami(_base_url(api_base_url), key)
        answer["auth_source"] = config.key_source()
    print_json(answer)


@app.command("rotate")
def rotate(api_base_url: BaseUrl = "") -> None:
    """Replace your API key with a new one (the old one stops working); the stored key is updated."""
    with sdk_errors():
        key = config.resolve_user_key()
        if not key:
            fail(NOT_LOGGED_IN)
        http = Http(_base_url(api_base_url), key)
        try:
            answer = http.request("POST", "/apps/api-key/rotate")
        finally:
            http.close()
        new_key = str(answer.get("api_key") or "").strip()
        out: dict[str, Any] = {
            "ok": True,
            "status": "rotated",
            "key_prefix": answer.get("key_prefix", ""),
            "key_identifier": answer.get("key_identifier", ""),
        }
        updated = False
        if config.key_from_env():
            # The only place the new key is shown: the environment cannot be updated from here.
            out["warning"] = "Your ARA_API_KEY environment variable still holds the old key. Update it to: " + new_key
        else:
            stored = config.load_credentials()
            if stored.get("auth_type") == config.AUTH_TYPE_API_KEY and new_key:
                out["credentials_path"] = str(config.save_credentials({**stored, "api_key": new_key}))
                updated = True
        out["credentials_updated"] = updated
    print_json(out)


@app.command("logout")
def logout() -> None:
    """Forget the stored key (ARA_API_KEY, if set, still applies)."""
    config.clear_credentials()
    print_json({"ok": True, "status": "logged_out"})


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="auth")
