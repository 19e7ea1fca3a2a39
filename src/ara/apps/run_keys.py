"""How an app tool reaches the playbook API: each app run has a key of its own, handed to its tools' sandbox as
``ARA_APP_RUN_KEY`` beside ``ARA_API_BASE_URL``.

The key is ``ara_apprun_<run id>.<mac>``, a MAC of the run's id under the server's secret, so it is never stored
and cannot be forged; it is accepted only while its run has not ended, and it acts as the app's owner with at most
the ``operator`` role (their teams and per-playbook grants apply; the role never rises above theirs) and only on
the playbook-run routes (``RUN_KEY_ROUTES``; never approve, reject or rerun): a leaked key starts and follows
playbook runs, as its owner could, for as long as one agent run lasts, and nothing else."""

from __future__ import annotations

import hmac
import re

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from ara.apps.models import App, AppRun
from ara.crypto import SecretBox
from ara.db.session import connection_of
from ara.lifecycle.states import TERMINAL
from ara.playbooks.permissions import RANK
from ara.settings import Settings
from ara.users.models import User
from ara.users.service import Identity

PREFIX = "ara_apprun_"
#: The strongest role an app run acts with, whatever its owner's.
RUN_KEY_ROLE = "operator"
_ID = r"[^/]+"
#: Where an app run's key is admitted, exactly: start, read, status and cancel a playbook run, list runs and
#: playbooks (the routes then check the owner's grants). Approving, rejecting and rerunning are not among them.
RUN_KEY_ROUTES: tuple[tuple[frozenset[str], re.Pattern[str]], ...] = tuple(
    (frozenset(methods), re.compile(pattern))
    for methods, pattern in (
        (("POST",), "/playbook/run"),
        (("GET", "HEAD"), f"/playbook/run/{_ID}"),
        (("GET", "HEAD"), f"/playbook/run/{_ID}/status"),
        (("POST",), f"/playbook/run/cancel/{_ID}"),
        (("GET", "HEAD"), "/playbook/runs"),
        (("GET", "HEAD"), "/playbook/list"),
    )
)
BASE_URL_ENV, KEY_ENV = "ARA_API_BASE_URL", "ARA_APP_RUN_KEY"


def mint(box: SecretBox, run_pk: str) -> str:
    return f"{PREFIX}{run_pk}.{box.mac(_message(run_pk))}"


def _message(run_pk: str) -> str:
    return f"app-run-key:{run_pk}"


def api_base_url(settings: Settings) -> str:
    if settings.apps.api_base_url:
        return settings.apps.api_base_url.rstrip("/")
    host = settings.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.server.port}"


def tool_env(settings: Settings, box: SecretBox, run_pk: str) -> dict[str, str]:
    """What an app tool's sandbox gets to call the playbook API as its run (a secret: scrub it from records)."""
    return {BASE_URL_ENV: api_base_url(settings), KEY_ENV: mint(box, run_pk)}


def identify(db: Session | Connection, box: SecretBox, token: str) -> Identity | None:
    """The identity an app run's key stands for, or None (not such a key, forged, or its run has ended)."""
    if not token.startswith(PREFIX):
        return None
    run_pk, _, mac = token[len(PREFIX) :].partition(".")
    if not run_pk or not hmac.compare_digest(mac.encode(), box.mac(_message(run_pk)).encode()):
        return None
    row = (
        connection_of(db)
        .execute(
            select(AppRun.status, App.id, User.id, User.username, User.role, User.teams)
            .join(App, App.id == AppRun.app_id)
            .join(User, User.id == App.owner_id)
            .where(AppRun.id == run_pk, User.is_active.is_(True))
        )
        .first()
    )
    if row is None or row[0] in TERMINAL:
        return None
    _, app_id, user_id, username, role, teams = row
    capped = role if RANK.get(role, -1) <= RANK[RUN_KEY_ROLE] else RUN_KEY_ROLE
    return Identity(user_id, username, capped, tuple(teams or ()), app_id=app_id)


def admitted(method: str, path: str) -> bool:
    """Whether an app run's key may call ``method path``."""
    return any(method in methods and pattern.fullmatch(path) for methods, pattern in RUN_KEY_ROUTES)
