"""``create_app(settings)``: the whole server as one ASGI app (no module-level app, engine or settings)."""

from __future__ import annotations

from fastapi import FastAPI

import ara
from ara.db.migrate import upgrade
from ara.server.errors import install_error_handlers
from ara.server.routes import health, records
from ara.server.state import AppState
from ara.settings import Settings


def create_app(settings: Settings | None = None, *, run_migrations: bool = True) -> FastAPI:
    settings = settings or Settings()
    state = AppState.build(settings)
    if run_migrations:
        upgrade(state.engine)
    app = FastAPI(title="Ara", version=ara.__version__, redirect_slashes=False)
    app.state.ara = state
    install_error_handlers(app)
    app.include_router(records.router)
    app.include_router(health.router)
    return app
