"""An app's secrets, sealed at rest with the one ``SecretBox``; their values leave only into the sandbox.

OWNED BY the control-plane part (interface fixed here; bodies are theirs)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ara.crypto import SecretBox


def secret_values(session: Session, box: SecretBox, app_id: str) -> dict[str, str]:
    """Every value of every secret of the app, merged (``{KEY: value}``), for a run's sandbox environment."""
    raise NotImplementedError


def endpoint_secret(session: Session, box: SecretBox, app_id: str, label: str) -> str | None:
    """The secret minted at deploy for the endpoint ``label`` (None: the endpoint has no secret)."""
    raise NotImplementedError
