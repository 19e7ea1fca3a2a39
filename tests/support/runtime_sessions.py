"""Runtime users (``tests.support.runtime_users``) with a running session each, as ``POST /session/start`` leaves
it, started through Ara's own sessions service on the test's database."""

from __future__ import annotations

from dataclasses import dataclass

from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.runtime.sessions import start_session, workspace_of
from ara.runtime.workspace import Workspace
from ara.settings import Settings
from tests.support.runtime_users import RuntimeUser, seed_runtime_users


@dataclass(frozen=True)
class SessionUser:
    user: RuntimeUser
    session_id: str  # "" without a session
    workspace: Workspace | None

    @property
    def token(self) -> str:
        return self.user.key

    @property
    def headers(self) -> dict[str, str]:
        return self.user.headers


def session_users(settings: Settings, *emails: str, without: tuple[str, ...] = ()) -> dict[str, SessionUser]:
    """Users ``emails`` (each with a running session) and ``without`` (a key only), by email."""
    users = seed_runtime_users(settings, *emails, *without)
    made = {email: SessionUser(users[email], "", None) for email in without}
    engine = make_engine(settings)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            for email in emails:
                started = start_session(session, settings, users[email].user_id)
                made[email] = SessionUser(users[email], started.id, workspace_of(settings, started))
    finally:
        engine.dispose()
    return made
