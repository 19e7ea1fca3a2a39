"""``create_app(settings)``: the whole server as one ASGI app (no module-level app, engine or settings)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

import ara
from ara.db.migrate import upgrade
from ara.lifecycle.executor import Executor, attach
from ara.runtime.agent.providers import ModelClients
from ara.server.control_relay import start_relay
from ara.server.errors import install_error_handlers
from ara.server.limits import BodyLimit, NulFreePath
from ara.server.metrics import Metrics
from ara.server.metrics_http import HttpMetrics
from ara.server.middleware import AuthenticationMiddleware
from ara.server.openapi import install_openapi
from ara.server.routes import (
    app_endpoints,
    app_runs,
    apps,
    auth_cli,
    automations,
    catalog,
    chat,
    connect,
    control,
    device_auth,
    health,
    metrics,
    playbooks,
    records,
    records_events,
    runtime,
    runtime_files,
    ssh,
    users,
)
from ara.server.routes.ui import install_ui
from ara.server.state import AppState
from ara.server.ui.pages import compile_templates
from ara.settings import Settings


def create_app(settings: Settings | None = None, *, run_migrations: bool = True, workers: bool = True) -> FastAPI:
    """``workers``: start the executor with the app's lifespan (the offline client does not)."""
    settings = settings or Settings()
    state = AppState.build(settings)
    if run_migrations:
        upgrade(state.engine)
    if state.engine.dialect.name == "postgresql":
        # A run made due here gets its job in the same transaction even where no executor starts (the offline
        # client, ``ara run start``): deferring needs no worker. Starting the executor replaces this.
        from ara.engine.deferral import JobDeferrer

        attach(state.writer, JobDeferrer())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Sized with the database pool (``database.pool_size + max_overflow`` covers these threads).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.server.threads
        relay = await start_relay(app, state)  # PostgreSQL: control-channel calls between API hosts
        try:
            if workers:
                state.executor = start_executor(state)
                await anyio.to_thread.run_sync(compile_templates)
            yield
        finally:
            if relay is not None:
                await relay.stop()
            if state.executor is not None:
                state.executor.stop()
                state.executor = None
            await app.state.model_clients.close()

    app = FastAPI(title="Ara", version=ara.__version__, redirect_slashes=False, lifespan=lifespan)
    app.state.ara = state
    app.state.model_clients = ModelClients()  # the chat routes' model endpoints, kept open between turns
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.server.max_body_bytes)
    app.add_middleware(NulFreePath)
    # Outermost of our middlewares: nothing reads a body before the caller is known.
    app.add_middleware(AuthenticationMiddleware, state=state)
    # Outermost of all: every request is timed, the ones refused before routing too.
    app.state.metrics = Metrics(state)
    app.add_middleware(HttpMetrics, metrics=app.state.metrics)
    # Routes are matched one by one in this order (each of ours tried costs a request about 40 Python calls): the
    # playbook API (a run's POST and its pollers) comes first, its paths (``/playbook...``,
    # ``/artifacts/list/playbook_run/...``) overlap no other router's.
    app.include_router(playbooks.router)
    app.include_router(records_events.router)
    app.include_router(records.router)
    app.include_router(catalog.router)
    app.include_router(users.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(auth_cli.router)
    app.include_router(device_auth.router)
    app.include_router(runtime.router)
    app.include_router(runtime_files.router)
    app.include_router(chat.router)
    app.include_router(connect.router)
    app.include_router(control.router)
    app.include_router(control.socket_router)
    app.include_router(ssh.socket_router)
    app.include_router(automations.router)
    app.include_router(apps.router)
    app.include_router(app_runs.router)
    app.include_router(app_endpoints.router)
    install_ui(app)
    install_openapi(app)
    return app


def start_executor(state: AppState) -> Executor:
    """The database's executor, started. With ``ARA_ENGINE__WORKERS=0`` it only keeps time (schedules, triggers,
    expiry): on PostgreSQL ``ara worker`` processes execute the runs; on SQLite nothing does (``ara server`` says
    so at start)."""
    from ara.engine.executors import build_executor

    executor = build_executor(state.engine_context, concurrency=state.settings.engine.workers)
    executor.start()
    return executor
