"""What the SDK raises: one small tree, all ``RuntimeError``s as the upstream SDK's are (code that catches
``RuntimeError`` around ``ara-sdk`` keeps working), but carrying the status and the server's own message.

    AraSdkError
     ├── AraApiError          the server answered non-2xx (status, message, method, path)
     ├── AraConnectionError   no answer: refused, reset, timed out
     ├── AgentError           the agent loop reported an ``error`` event in a chat stream
     └── CredentialsError     no key to send, or an unreadable credentials file

An app file's mistakes are ``ValueError``s, as 0.1.46 raises them (with its messages), before any request:

    DeclarationError          a bad ``App`` declaration (name, decorator, builder argument)
     └── AppFileError         the app file is missing, does not load, or declares no ``App``
"""

from __future__ import annotations


class AraSdkError(RuntimeError):
    """Every failure the SDK raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AraApiError(AraSdkError):
    """A non-2xx answer; ``message`` is what the server said (its ``error.message`` or ``detail``)."""

    def __init__(self, status: int, message: str, method: str, path: str) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path

    def __str__(self) -> str:
        return f"{self.method} {self.path} failed ({self.status}): {self.message}"


class AraConnectionError(AraSdkError):
    """The request got no HTTP answer (connection refused or reset, time-out)."""


class AgentError(AraSdkError):
    """A chat turn failed on the server after its stream began (the ``error`` event's ``errorText``)."""


class CredentialsError(AraSdkError):
    """No user key could be found, or ``~/.ara/credentials.json`` cannot be read."""


class DeclarationError(ValueError):
    """A bad ``App`` declaration; the message is 0.1.46's for the same mistake."""


class AppFileError(DeclarationError):
    """``ara_sdk.loader.load_app``: the file is missing, does not load, or declares no ``App``."""
