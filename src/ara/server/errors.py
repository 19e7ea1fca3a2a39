"""One table from error family to HTTP status; records routes answer with DRF-shaped bodies (ARA's clients
read them), every other surface with ``{"error": {code, message, detail}}``."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ara.errors import (
    AlreadyExists,
    AraError,
    BodyNotJson,
    Expired,
    InvalidTransition,
    MethodNotAllowed,
    ModelFailed,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    TimedOut,
    ToolFailed,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
)
from ara.server.ui.paths import LOGIN_PATH, is_ui_path

STATUS_BY_ERROR: dict[type[AraError], int] = {
    NotFound: 404,
    ValidationFailed: 400,
    AlreadyExists: 409,
    PermissionDenied: 403,
    Unauthenticated: 401,
    InvalidTransition: 409,
    Expired: 410,
    PayloadTooLarge: 413,
    ToolFailed: 400,
    Unavailable: 503,
    TimedOut: 504,
    ModelFailed: 502,
    RateLimited: 429,
    MethodNotAllowed: 405,
}

DRF_PREFIXES = ("/api/",)


def status_for(error: AraError) -> int:
    for klass in type(error).__mro__:
        if klass in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[klass]
    return 500


def drf_style_path(path: str) -> bool:
    """Paths answered with DRF's error shapes (ARA's clients parse them)."""
    return path.startswith(DRF_PREFIXES)


def _drf_style(request: Request) -> bool:
    return drf_style_path(request.url.path)


TITLES = {
    400: "Bad request",
    401: "Log in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Too large",
    429: "Too many requests",
    503: "Busy",
}


def page_error(request: Request, status: int, message: str, detail: object = None) -> Response:
    """A web UI path's error: a page in the site's layout, not JSON; a missing login goes to the login form."""
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query = urlencode({"next": target})
        return RedirectResponse(f"{LOGIN_PATH}?{query}", status_code=303)
    from ara.server.ui.pages import render  # the templates load only when a page is drawn

    context = {
        "status_code": status,
        "title": TITLES.get(status, "Error"),
        "message": message,
        "detail": detail if isinstance(detail, dict) else None,
    }
    return render(request, "error.html", context, status=status)


def error_response(request: Request, error: AraError) -> Response:
    status = status_for(error)
    if is_ui_path(request.url.path):
        return page_error(request, status, error.message, error.detail)
    headers = {"WWW-Authenticate": 'Basic realm="api"'} if status == 401 else None
    if isinstance(error, RateLimited) and isinstance(error.detail, dict) and "retry_after" in error.detail:
        headers = {"Retry-After": str(error.detail["retry_after"])}
    if _drf_style(request):
        if isinstance(error, ValidationFailed):
            body: object = error.detail
        else:
            body = {"detail": error.message}
    else:
        body = {"error": {"code": error.code, "message": error.message, "detail": error.detail}}
    return JSONResponse(body, status_code=status, headers=headers)


def parse_error(request: Request, reason: str) -> JSONResponse:
    """A body that is not JSON: DRF answers ``{"detail": "JSON parse error - ..."}``."""
    message = f"JSON parse error - {reason}"
    if _drf_style(request):
        return JSONResponse({"detail": message}, status_code=400)
    return JSONResponse({"error": {"code": "invalid", "message": message, "detail": None}}, status_code=400)


BUSY_MESSAGE = "The database is busy; try again shortly."


def busy_response(request: Request) -> Response:
    """503 with Retry-After: no free pooled connection within ``database.pool_timeout``, or SQLite's write lock
    not granted within ``database.busy_timeout_ms``; nothing was written, so the request can be sent again."""
    headers = {"Retry-After": "1"}
    if is_ui_path(request.url.path):  # a page in the site's layout, as every other error of a page
        response = page_error(request, 503, BUSY_MESSAGE)
        response.headers.update(headers)
        return response
    if _drf_style(request):
        return JSONResponse({"detail": BUSY_MESSAGE}, status_code=503, headers=headers)
    body = {"error": {"code": "busy", "message": BUSY_MESSAGE, "detail": None}}
    return JSONResponse(body, status_code=503, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(request: Request, _error: PoolTimeout) -> Response:
        return busy_response(request)

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, error: OperationalError) -> Response:
        if "database is locked" in str(error.orig):
            return busy_response(request)
        raise error

    @app.exception_handler(AraError)
    async def _ara_error(request: Request, error: AraError) -> Response:
        if isinstance(error, BodyNotJson):
            return parse_error(request, error.reason)
        return error_response(request, error)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, error: RequestValidationError) -> Response:
        detail: dict[str, list[str]] = {}
        for item in error.errors():
            loc = [str(part) for part in item.get("loc", ())]
            if loc and loc[0] in ("body", "query", "path", "header"):  # where it was, not which field (``?path=``)
                loc = loc[1:]
            if item.get("type") == "json_invalid":
                return parse_error(request, item.get("msg", "invalid JSON"))
            detail.setdefault(".".join(loc) or "non_field_errors", []).append(item.get("msg", "Invalid value."))
        return error_response(request, ValidationFailed(detail))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        message = "Not found." if error.status_code == 404 else str(error.detail)
        if is_ui_path(request.url.path):
            return page_error(request, error.status_code, message)
        if _drf_style(request):
            return JSONResponse({"detail": message}, status_code=error.status_code)
        return JSONResponse(
            {"error": {"code": f"http_{error.status_code}", "message": message, "detail": None}},
            status_code=error.status_code,
        )
