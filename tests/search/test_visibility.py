"""Which playbooks' runs a search may show: ``readable_playbooks`` decides as ``require(..., "read")`` does."""

from __future__ import annotations

import pytest

from ara.db.migrate import upgrade
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.errors import PermissionDenied
from ara.playbooks.models import PlaybookDefinition, PlaybookPermission
from ara.playbooks.permissions import readable_playbooks, require
from ara.settings import Settings
from ara.users.service import Identity


def test_readable_playbooks_agrees_with_require(sqlite_settings: Settings) -> None:
    engine = make_engine(sqlite_settings)
    upgrade(engine)
    try:
        with unit_of_work(make_sessionmaker(engine, write=True)) as session:
            for name in ("granted", "other"):
                session.add(PlaybookDefinition(id=name, name=name, spec={"actions": []}))
            session.flush()
            session.add(PlaybookPermission(playbook_id="granted", principal="team:ops", action="read"))
            session.flush()
            viewer = Identity(1, "carol", "viewer")
            unranked = Identity(2, "guest", "guest", teams=("ops",))  # a role outside the ranking
            assert readable_playbooks(viewer) is None
            require(session, viewer, "other", "read")
            ids = set(session.scalars(readable_playbooks(unranked)))  # type: ignore[arg-type]
            assert ids == {"granted"}
            require(session, unranked, "granted", "read")
            with pytest.raises(PermissionDenied):
                require(session, unranked, "other", "read")
            assert set(session.scalars(readable_playbooks(None))) == set()  # type: ignore[arg-type]
    finally:
        engine.dispose()
