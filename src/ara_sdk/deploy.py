"""What a deploy sends, split from the manifest: the body of ``POST /apps`` (with ``slug``) or ``PATCH
/apps/{id}``, and the secret definitions uploaded beside it. The manifest's runtime profile may carry
client-only keys the server must never see: ``__secret_definitions`` (the values of ``Secret.from_dict`` and
``Secret.from_dotenv``; ours and 0.1.46's) and ``__required_env_keys`` (0.1.58's); both are stripped here.
``reconcile_secrets`` says whether the deploy should delete the app's secrets the manifest no longer names
(only when it declares ``runtime(secrets=...)`` at all, as 0.1.46 decides)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ara_sdk.secrets import SECRET_DEFINITIONS_KEY, SecretDefinition

CLIENT_ONLY_KEYS = (SECRET_DEFINITIONS_KEY, "__required_env_keys")
BODY_FIELDS = ("name", "description", "agent", "workflows", "interfaces", "runtime_profile")


@dataclass(frozen=True)
class DeployPlan:
    slug: str
    body: dict[str, Any]
    secret_definitions: list[SecretDefinition] = field(default_factory=list)
    reconcile_secrets: bool = False

    def create_body(self) -> dict[str, Any]:
        """``POST /apps``'s body (``PATCH`` sends ``body`` itself, plus ``status``)."""
        return {**self.body, "slug": self.slug}

    @property
    def secret_names(self) -> list[str]:
        return [definition.name for definition in self.secret_definitions]


def deploy_plan(manifest: dict[str, Any]) -> DeployPlan:
    """Split ``manifest`` (an ``App.manifest`` or a plain dict of the same shape); the manifest is not changed."""
    raw_profile = manifest.get("runtime_profile") or {}
    profile = {k: v for k, v in raw_profile.items() if k not in CLIENT_ONLY_KEYS}
    definitions: list[SecretDefinition] = []
    for item in raw_profile.get(SECRET_DEFINITIONS_KEY) or []:
        if isinstance(item, SecretDefinition) and item.name not in {d.name for d in definitions}:
            definitions.append(item)
    body = {
        "name": manifest.get("name"),
        "description": manifest.get("description") or "",
        "agent": manifest.get("agent") or {},
        "workflows": manifest.get("workflows") or [],
        "interfaces": manifest.get("interfaces") or {},
        "runtime_profile": profile,
    }
    return DeployPlan(
        slug=str(manifest.get("slug") or ""),
        body=body,
        secret_definitions=definitions,
        reconcile_secrets="secret_refs" in raw_profile,
    )
