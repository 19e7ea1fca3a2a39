"""The control plane's wire models, for the OpenAPI document: the bodies the ``ara-sdk`` CLI sends (checked by
hand in ``validation``, ``keys``, ``secrets_store`` and ``invites``, which name each bad field) and our answers
(the SDK reads ``apps[].slug|role|id``, ``app.id``, ``secrets[].name``, ``key``, ``keys[].key_prefix|id|
is_active``; the rest is ours)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AppStatus = Literal["draft", "active", "paused"]
Role = Literal["viewer", "operator", "editor", "owner"]


class AppCreate(BaseModel):
    """The manifest ``ara deploy`` builds; kept exactly as sent."""

    name: str
    slug: str = Field(description="lowercase letters, digits and inner hyphens, 1-63 characters; unique")
    description: str = ""
    agent: dict[str, Any] = Field(default_factory=dict, description="agents, tools, default_agent_id, ...")
    workflows: list[Any] = Field(default_factory=list)
    interfaces: dict[str, Any] = Field(default_factory=dict, description="fastapi_endpoints")
    runtime_profile: dict[str, Any] = Field(default_factory=dict, description="model, env, secret_refs, files")
    status: AppStatus = "draft"


class AppUpdate(BaseModel):
    """Manifest fields replace the stored ones (a redeploy); ``status`` alone only moves the status."""

    name: str | None = None
    description: str | None = None
    agent: dict[str, Any] | None = None
    workflows: list[Any] | None = None
    interfaces: dict[str, Any] | None = None
    runtime_profile: dict[str, Any] | None = None
    status: AppStatus | None = None


class AppSummary(BaseModel):
    id: str
    slug: str
    name: str
    description: str
    status: AppStatus
    role: Role
    version: int
    created_at: str
    updated_at: str


class AppsList(BaseModel):
    apps: list[AppSummary]


class AppRead(BaseModel):
    """The stored manifest's fields at the top level, exactly as sent, and these beside them."""

    model_config = ConfigDict(extra="allow")
    id: str
    status: AppStatus
    version: int
    role: Role
    created_at: str
    updated_at: str


class AppAnswer(BaseModel):
    app: AppRead


class SecretPut(BaseModel):
    name: str = Field(description="lowercase; the SDK's sdk-dict-<sha12>")
    values: dict[str, str] = Field(description="KEY: value; never returned")


class SecretRead(BaseModel):
    name: str
    keys: list[str]
    created_at: str
    updated_at: str


class SecretAnswer(BaseModel):
    secret: SecretRead


class SecretsList(BaseModel):
    secrets: list[SecretRead]


class KeyCreate(BaseModel):
    name: str
    requests_per_minute: int = Field(default=60, ge=1, le=100_000)


class KeyRead(BaseModel):
    id: str
    name: str
    key_prefix: str
    is_active: bool
    requests_per_minute: int
    created_at: str
    last_used_at: str | None


class KeyMinted(KeyRead):
    key: str = Field(description="shown once: only its sha256 is stored")


class KeysList(BaseModel):
    keys: list[KeyRead]


class KeyDeactivated(BaseModel):
    ok: bool
    key: KeyRead


class EndpointSetup(BaseModel):
    label: str
    method: str
    path: str | None
    url: str
    auth: str
    header_name: str | None
    secret_env: str | None
    secret: str | None = Field(description="the server-minted secret (header, bearer, hmac)")


class InvokeUrls(BaseModel):
    run_url: str
    runs_url: str
    events_url: str
    logs_url: str


class SetupRead(BaseModel):
    app_id: str
    slug: str
    endpoints: list[EndpointSetup]
    invoke: InvokeUrls


class InviteCreate(BaseModel):
    email: str
    role: Literal["viewer", "operator", "editor"] = "viewer"
    expires_in_hours: int = Field(default=168, ge=1, le=720)


class InviteRead(BaseModel):
    id: int
    app_id: str
    email: str
    role: Role
    expires_at: str
    accepted_at: str | None
    token: str = Field(description="shown once: only its sha256 is stored")
    accept_url: str


class InviteAnswer(BaseModel):
    invite: InviteRead


class InviteAccept(BaseModel):
    token: str


class InviteAccepted(BaseModel):
    ok: bool
    app_id: str
    role: Role
