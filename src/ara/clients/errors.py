"""What clients raise, alike for both transports.

ClientError (AraError)
├── TransportError            the server could not be reached or answered garbage
│   ├── ConnectError
│   └── Timeout
└── ApiError                  the server answered 4xx/5xx; ``status_code`` and parsed ``body`` attached
    ├── BadRequest            400 (also a ara.errors.ValidationFailed)
    ├── Unauthorized          401 (also a ara.errors.Unauthenticated)
    ├── Forbidden             403 (also a ara.errors.PermissionDenied)
    ├── ApiNotFound           404 (also a ara.errors.NotFound)
    ├── Conflict              409
    └── ServerError           5xx
"""

from __future__ import annotations

from typing import Any

from ara.errors import AraError, NotFound, PermissionDenied, Unauthenticated, ValidationFailed


class ClientError(AraError):
    code = "client_error"


class TransportError(ClientError):
    code = "transport_error"


class ConnectError(TransportError):
    code = "connect_error"


class Timeout(TransportError):
    code = "timeout"


class ApiError(ClientError):
    code = "api_error"

    def __init__(self, method: str, url: str, status_code: int, body: Any) -> None:
        summary = body.get("detail") if isinstance(body, dict) and "detail" in body else body
        AraError.__init__(self, f"{method} {url} answered {status_code}: {summary}", body)
        self.method = method
        self.url = url
        self.status_code = status_code
        self.body = body


class BadRequest(ApiError, ValidationFailed):
    code = "invalid"


class Unauthorized(ApiError, Unauthenticated):
    code = "unauthenticated"


class Forbidden(ApiError, PermissionDenied):
    code = "permission_denied"


class ApiNotFound(ApiError, NotFound):
    code = "not_found"


class Conflict(ApiError):
    code = "conflict"


class ServerError(ApiError):
    code = "server_error"


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: ApiNotFound,
    409: Conflict,
}


def api_error(method: str, url: str, status_code: int, body: Any) -> ApiError:
    klass = _BY_STATUS.get(status_code, ServerError if status_code >= 500 else ApiError)
    return klass(method, url, status_code, body)
