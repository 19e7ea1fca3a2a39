"""Apps for the runs tests: the sample manifest the real ara-sdk 0.1.46 made (``/tmp/arasdk/sample/m46.json``,
copied here), stored as a deployed app of a user, and waiting helpers."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ara.apps.models import App, AppMember

MANIFEST: dict[str, Any] = json.loads((Path(__file__).parent / "m46.json").read_text())


def manifest(**changes: Any) -> dict[str, Any]:
    made = copy.deepcopy(MANIFEST)
    made.update(changes)
    return made


def add_app(session: Session, owner_id: int, slug: str = "digest-app", **changes: Any) -> App:
    """An active app owned by ``owner_id`` (what a deploy leaves behind), flushed."""
    app = App(owner_id=owner_id, slug=slug, name=slug, status="active", manifest=manifest(slug=slug, **changes))
    session.add(app)
    session.flush()
    session.add(AppMember(app_id=app.id, user_id=owner_id, role="owner"))
    session.flush()
    return app


def until(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value
