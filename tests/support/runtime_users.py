"""Users of the agent runtime for a test: two ordinary users (viewers: any user may run their own sessions), each
with a bearer user key, on the test's database."""

from __future__ import annotations

from dataclasses import dataclass

from ara.db.session import unit_of_work
from ara.server.app import create_app
from ara.settings import Settings
from ara.users.models import User
from ara.users.service import mint_token
from tests.support.mission import _hash

ALICE = "alice@example.org"
BOB = "bob@example.org"


@dataclass(frozen=True)
class RuntimeUser:
    email: str
    user_id: int
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def seed_runtime_users(settings: Settings, *emails: str) -> dict[str, RuntimeUser]:
    """Creates the users (``ALICE`` and ``BOB`` by default, password ``pw``) and one user key each."""
    app = create_app(settings, workers=False)  # applies the migrations
    made: dict[str, RuntimeUser] = {}
    try:
        with unit_of_work(app.state.ara.writer) as session:
            for email in emails or (ALICE, BOB):
                user = User(username=email, password_hash=_hash("pw"), role="viewer", teams=[])
                session.add(user)
                session.flush()
                key, _ = mint_token(session, user.id, "laptop")
                made[email] = RuntimeUser(email, user.id, key)
    finally:
        app.state.ara.engine.dispose()
    return made
