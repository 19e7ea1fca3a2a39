"""The public Ara SDK (installs and imports without ara): ``AraRuntimeClient`` and its errors.

The apps issue adds ``App``, the decorators and ``AraClient`` here; ``__all__`` stays sorted.
"""

from ara_sdk.errors import AgentError, AraApiError, AraConnectionError, AraSdkError, CredentialsError
from ara_sdk.runtime_client import AraRuntimeClient

__all__ = [
    "AgentError",
    "AraApiError",
    "AraConnectionError",
    "AraRuntimeClient",
    "AraSdkError",
    "CredentialsError",
]
