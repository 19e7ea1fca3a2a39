"""The public Ara SDK (installs and imports without ara): the app authoring surface of ``ara-sdk`` 0.1.46
(``App``, the decorators and builders, producing the same manifest JSON) and ``AraRuntimeClient``.

``__all__`` is seed 001's list plus this package's errors, sorted. ``AraClient`` lives in ``ara_sdk.client`` and is
imported on first use (``ara_sdk.AraClient``, ``from ara_sdk import AraClient``). 0.1.58's ``Job`` authoring API is
not offered: its CLI's manifests deploy to our server all the same.
"""

from ara_sdk.adapters import agno_adapter, command_adapter, langchain_adapter, langgraph_adapter
from ara_sdk.app import App
from ara_sdk.builders import entrypoint, file, git_artifact, local_file, runtime, sandbox, tarball_artifact
from ara_sdk.cli_bridge import run_auth_cli, run_runtime_cli
from ara_sdk.endpoints import fastapi_endpoint
from ara_sdk.errors import (
    AgentError,
    AraApiError,
    AraConnectionError,
    AraSdkError,
    CredentialsError,
    DeclarationError,
)
from ara_sdk.events import event_envelope
from ara_sdk.runtime_client import AraRuntimeClient
from ara_sdk.schedules import invoke, schedule, scheduler
from ara_sdk.secrets import Secret

__all__ = [
    "AgentError",
    "App",
    "AraApiError",
    "AraClient",
    "AraConnectionError",
    "AraRuntimeClient",
    "AraSdkError",
    "CredentialsError",
    "DeclarationError",
    "Secret",
    "agno_adapter",
    "command_adapter",
    "entrypoint",
    "event_envelope",
    "fastapi_endpoint",
    "file",
    "git_artifact",
    "invoke",
    "langchain_adapter",
    "langgraph_adapter",
    "local_file",
    "run_auth_cli",
    "run_runtime_cli",
    "runtime",
    "sandbox",
    "schedule",
    "scheduler",
    "tarball_artifact",
]


def __getattr__(name: str) -> object:
    if name == "AraClient":
        try:
            from ara_sdk.client import AraClient
        except ModuleNotFoundError as exc:  # a tree without the client module: the name is simply absent
            if exc.name != "ara_sdk.client":
                raise
            raise AttributeError("module 'ara_sdk' has no attribute 'AraClient' (no ara_sdk.client)") from None
        return AraClient
    raise AttributeError(f"module 'ara_sdk' has no attribute {name!r}")
