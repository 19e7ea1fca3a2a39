"""Ara's error tree; the server maps each ``code`` to an HTTP status in one table.

AraError
├── NotFound                  404
├── ValidationFailed          400  (``detail`` maps field -> list of messages)
├── AlreadyExists             409
├── PermissionDenied          403
├── Unauthenticated           401
├── InvalidTransition         409
├── Expired                   410  (a one-time token past its time: a connect token)
├── PayloadTooLarge           413  (a body over ``server.max_body_bytes``, a YAML document over its cap)
├── ToolFailed                400  (a runtime tool refused or failed; the model gets the message as text)
├── Unavailable               503  (nothing to serve it yet: no active runtime session, no connected peer)
├── TimedOut                  504  (a peer did not answer in time: a control-channel call)
├── ModelFailed               502  (the model provider refused or failed a chat turn; its status and text)
└── ConfigError               (raised at start-up, never over HTTP)
"""

from __future__ import annotations

from typing import Any


class AraError(Exception):
    code = "error"

    def __init__(self, message: str = "", detail: Any = None) -> None:
        super().__init__(message or self.__class__.__name__)
        self.message = message or self.__class__.__name__
        self.detail = detail


class NotFound(AraError):
    code = "not_found"


class ValidationFailed(AraError):
    """Bad input; ``detail`` is ``{field: [message, ...]}`` like Django REST framework's 400 bodies."""

    code = "invalid"

    def __init__(self, detail: dict[str, list[str]], message: str = "") -> None:
        if not message:
            message = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in detail.items())
        super().__init__(message, detail)


class BodyNotJson(ValidationFailed):
    """The request body did not parse as JSON."""

    def __init__(self, reason: str) -> None:
        super().__init__({"detail": [f"JSON parse error - {reason}"]})
        self.reason = reason


class AlreadyExists(AraError):
    code = "already_exists"


class PermissionDenied(AraError):
    code = "permission_denied"


class Unauthenticated(AraError):
    code = "unauthenticated"


class InvalidTransition(AraError):
    code = "invalid_transition"


class Expired(AraError):
    code = "expired"


class PayloadTooLarge(AraError):
    code = "too_large"


class ToolFailed(AraError):
    """A runtime tool refused its arguments (a path outside the session, say) or failed; the message is what the
    model and the caller read."""

    code = "tool_failed"


class Unavailable(AraError):
    code = "unavailable"


class TimedOut(AraError):
    code = "timed_out"


class ModelFailed(AraError):
    code = "model_failed"


class RateLimited(AraError):
    """A key spent its requests for this minute."""

    code = "rate_limited"


class MethodNotAllowed(AraError):
    code = "method_not_allowed"


class ConfigError(AraError):
    code = "config_error"
