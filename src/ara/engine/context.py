"""What the engine needs, built once from settings: write and read sessions, the secret box, the artifact
store."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ara.crypto import SecretBox
from ara.playbooks.artifact_url import open_store
from ara.playbooks.artifacts import ArtifactStore
from ara.playbooks.spec import PlaybookSpec
from ara.settings import Settings


@dataclass
class EngineContext:
    settings: Settings
    engine: Engine
    writer: sessionmaker[Session]
    reader: sessionmaker[Session]
    box: SecretBox
    store: ArtifactStore
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
    # The clock's live definitions: id -> (updated_at, validated spec or None if invalid), see ``housekeeping``.
    trigger_specs: dict[str, tuple[dt.datetime, PlaybookSpec | None]] = field(default_factory=dict)

    @classmethod
    def build(
        cls, settings: Settings, engine: Engine, writer: sessionmaker[Session], reader: sessionmaker[Session]
    ) -> EngineContext:
        return cls(settings, engine, writer, reader, SecretBox.from_settings(settings), open_store(settings))

    @property
    def work_root(self) -> Path:
        return self.settings.base_dir / "work"
