"""What one app instance holds: its settings, engine, session factories, credential cache and (optionally) the
executor that runs playbook runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ara.db.session import make_engine, make_sessionmaker
from ara.settings import Settings
from ara.users.login_throttle import LoginThrottle
from ara.users.service import CredentialChecker

if TYPE_CHECKING:
    from ara.engine.context import EngineContext
    from ara.lifecycle.executor import Executor


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    writer: sessionmaker[Session]
    reader: sessionmaker[Session]
    credentials: CredentialChecker = field(init=False)
    executor: Executor | None = None
    _engine_context: EngineContext | None = None

    def __post_init__(self) -> None:
        auth = self.settings.auth
        self.credentials = CredentialChecker(
            auth.credential_cache_seconds, LoginThrottle(auth.login_attempts, auth.login_window_seconds)
        )

    @property
    def reads_inline(self) -> bool:
        """Whether a short read may run on the event loop instead of in the threadpool: on SQLite (WAL) a reader
        never waits for a lock, and its few statements cost less than the two thread switches of a hop. Elsewhere
        a read crosses the network: always in the threadpool."""
        return self.engine.dialect.name == "sqlite"

    @classmethod
    def build(cls, settings: Settings) -> AppState:
        engine = make_engine(settings)
        return cls(settings, engine, make_sessionmaker(engine, write=True), make_sessionmaker(engine, write=False))

    @property
    def engine_context(self) -> EngineContext:
        """Secret box, artifact store and friends, built on first use (the records API never needs them)."""
        if self._engine_context is None:
            from ara.engine.context import EngineContext

            self._engine_context = EngineContext.build(self.settings, self.engine, self.writer, self.reader)
        return self._engine_context
