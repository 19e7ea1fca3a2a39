"""Where the SDK and the CLI find the server and the user's key: the environment, then
``~/.ara/credentials.json``, kept exactly as ``ara-sdk`` keeps it so both tools share one login.

The file is ``{"auth_type": "cli_api_key", "api_base_url", "api_key", "updated_at"}`` in a 0700 directory,
itself 0600, replaced atomically (a crash never leaves half a key behind). ``ara-sdk``'s browser login stores
``{"auth_type": "supabase_jwt", "access_token", "refresh_token", "expires_at", "supabase_url", ...}`` instead:
its access token is the key, renewed with the refresh token (``POST {supabase_url}/auth/v1/token``, which
an Ara server answers itself) shortly before it expires, as the SDK does. Our default server is the local one
(``ara server``), not ``api.ara.so``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx

from ara_sdk.errors import CredentialsError

DEFAULT_API_BASE_URL = "http://127.0.0.1:8000"
CREDENTIALS_DIRNAME = ".ara"
CREDENTIALS_FILENAME = "credentials.json"
AUTH_TYPE_API_KEY = "cli_api_key"
AUTH_TYPE_JWT = "supabase_jwt"
REFRESH_SKEW = dt.timedelta(seconds=60)  # an access token this close to expiring is renewed first
# The user key's variables, in the order the SDK reads them (ARA_ACCESS_TOKEN is its legacy name).
KEY_VARIABLES = ("ARA_API_KEY", "ARA_ACCESS_TOKEN")


def credentials_path() -> Path:
    return Path.home() / CREDENTIALS_DIRNAME / CREDENTIALS_FILENAME


def load_credentials() -> dict[str, Any]:
    """The stored credentials, ``{}`` when there are none; ``CredentialsError`` when the file is unreadable
    (silently ignoring it, as the SDK does, would send requests without a key and blame the server)."""
    path = credentials_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CredentialsError(f"{path} is not JSON ({exc.msg}); run `ara auth login` again") from None
    if not isinstance(data, dict):
        raise CredentialsError(f"{path} does not hold a JSON object; run `ara auth login` again")
    return data


def save_credentials(data: dict[str, Any]) -> Path:
    """Writes ``data`` plus ``updated_at`` (0600, in a 0700 directory, atomically); returns the path."""
    path = credentials_path()
    payload = {**data, "updated_at": dt.datetime.now(dt.UTC).isoformat()}
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        # mkstemp creates the file 0600 before a byte is written; os.replace swaps it in whole.
        fd, temporary = tempfile.mkstemp(prefix=".credentials-", dir=path.parent)
    except OSError as exc:
        raise CredentialsError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(payload, indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CredentialsError(f"cannot write {path}: {exc.strerror}") from None
        raise
    return path


def save_api_key(api_key: str, api_base_url: str) -> Path:
    """What ``ara auth login --api-key`` stores."""
    return save_credentials({"auth_type": AUTH_TYPE_API_KEY, "api_base_url": api_base_url, "api_key": api_key})


def clear_credentials() -> bool:
    """Deletes the credentials file; False when there was none."""
    try:
        credentials_path().unlink()
    except FileNotFoundError:
        return False
    return True


def resolve_api_base_url() -> str:
    """``ARA_API_BASE_URL``, else the stored ``api_base_url``, else the local server."""
    from_env = os.environ.get("ARA_API_BASE_URL", "").strip()
    if from_env:
        return from_env
    stored = str(load_credentials().get("api_base_url") or "").strip()
    return stored or DEFAULT_API_BASE_URL


def key_from_env() -> str:
    for name in KEY_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return ""


def resolve_user_key() -> str:
    """``ARA_API_KEY``, else ``ARA_ACCESS_TOKEN``, else the stored ``api_key`` (or a browser login's access
    token); "" when there is none."""
    from_env = key_from_env()
    if from_env:
        return from_env
    stored = load_credentials()
    if str(stored.get("auth_type") or "").strip().lower() == AUTH_TYPE_JWT:
        return _fresh_access_token(stored)
    return str(stored.get("api_key") or "").strip()


def _expiry(value: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(value or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _fresh_access_token(stored: dict[str, Any]) -> str:
    """A browser login's access token, renewed (and the file updated) when it expires within ``REFRESH_SKEW``."""
    expires = _expiry(stored.get("expires_at"))
    if expires is not None and expires > dt.datetime.now(dt.UTC) + REFRESH_SKEW:
        return str(stored.get("access_token") or "").strip()
    refresh_token, url, anon = (
        str(stored.get(k) or "").strip() for k in ("refresh_token", "supabase_url", "supabase_anon_key")
    )
    if not (refresh_token and url):
        raise CredentialsError("the stored login cannot be renewed; run `ara auth login` again")
    try:
        answer = httpx.post(
            f"{url.rstrip('/')}/auth/v1/token",
            params={"grant_type": "refresh_token"},
            json={"refresh_token": refresh_token},
            headers={"apikey": anon},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise CredentialsError(f"cannot renew the stored login at {url} ({exc}); try again later") from None
    if answer.status_code != 200:
        raise CredentialsError(
            f"the server refused to renew the stored login ({answer.status_code}); run `ara auth login` again"
        )
    try:
        issued = answer.json()
    except ValueError:
        issued = None
    if not isinstance(issued, dict):
        raise CredentialsError("the renewal answer is not a JSON object; run `ara auth login` again")
    access = str(issued.get("access_token") or "").strip()
    if not access:
        raise CredentialsError("the renewed login has no access token; run `ara auth login` again")
    expires_at = issued.get("expires_at")
    if isinstance(expires_at, int | float):
        moment = dt.datetime.fromtimestamp(expires_at, dt.UTC)
    else:
        moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(issued.get("expires_in") or 0))
    renewed = {**stored, "access_token": access, "expires_at": moment.isoformat()}
    renewed["refresh_token"] = str(issued.get("refresh_token") or refresh_token)
    save_credentials(renewed)
    return access


def key_source() -> str:
    """Where ``resolve_user_key`` found the key, as ``ara auth whoami`` reports it (``auth_source``)."""
    if key_from_env():
        return "env"
    stored = load_credentials()
    return str(stored.get("auth_type") or "").strip() or (AUTH_TYPE_API_KEY if stored.get("api_key") else "none")


def read_dotenv(path: Path) -> None:
    """Fills unset variables from a ``.env`` file (``KEY=value`` lines, quotes stripped), as ara-sdk's
    ``from_env`` does: a project's ``.env`` may hold its ``ARA_API_KEY``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, IsADirectoryError):
        return
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if key and not os.environ.get(key):
            os.environ[key] = value.strip("'").strip('"')
