"""``GET /metrics``: the Prometheus text format, read from the database at scrape time. Protected like the read
API (``auth.read_login_required``: the authentication middleware admits it as any other records read)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ara.server.deps import OwnRoute

router = APIRouter(tags=["metrics"], route_class=OwnRoute)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}, "description": "Metrics"}},
)
def read_metrics(request: Request) -> Response:
    """Runs in the threadpool: the collector reads the database."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
