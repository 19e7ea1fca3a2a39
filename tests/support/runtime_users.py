"""Users with a bearer key and a running runtime session, written into a test server's database through Ara's own
services (what ``ara token create`` and ``POST /session/start`` do)."""

from __future__ import annotations

from dataclasses import dataclass

from ara.db.migrate import upgrade
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.runtime.sessions import start_session
from ara.runtime.workspace import Workspace
from ara.settings import Settings
from ara.users import service as users


@dataclass(frozen=True)
class RuntimeUser:
    username: str
    token: str
    session_id: str
    workspace: Workspace | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def runtime_user(settings: Settings, username: str, *, session: bool = True) -> RuntimeUser:
    """A new user (operator) with an API key and, unless ``session`` is false, a running session."""
    engine = make_engine(settings)
    try:
        upgrade(engine)
        with unit_of_work(make_sessionmaker(engine)) as db:
            user = users.create_user(db, username=username, password="pw", role="operator")
            token = users.create_token(db, username=username, name="test")
            started = start_session(db, settings, user.id) if session else None
            session_id = started.id if started is not None else ""
    finally:
        engine.dispose()
    workspace = Workspace(settings.sessions_dir / session_id) if session_id else None
    return RuntimeUser(username, token, session_id, workspace)
