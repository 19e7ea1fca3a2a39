"""What one app instance holds: its settings, engine, session factories and credential cache."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ara.db.session import make_engine, make_sessionmaker
from ara.settings import Settings
from ara.users.service import CredentialChecker


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    writer: sessionmaker[Session]
    reader: sessionmaker[Session]
    credentials: CredentialChecker = field(init=False)

    def __post_init__(self) -> None:
        self.credentials = CredentialChecker(self.settings.auth.credential_cache_seconds)

    @classmethod
    def build(cls, settings: Settings) -> AppState:
        engine = make_engine(settings)
        return cls(settings, engine, make_sessionmaker(engine, write=True), make_sessionmaker(engine, write=False))
