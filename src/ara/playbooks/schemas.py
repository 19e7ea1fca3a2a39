"""Wire models of the playbook routes (Mission Control's field names, kept as they are).

Requests are validated with these models in the handler (after the caller is known); responses are built as
before and these models describe them in the OpenAPI document. Timestamps are ISO 8601 UTC ending in ``Z``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ara.playbooks.spec import MAX_NAME, PlaybookSpec


def _id() -> Any:
    return Field(default=None, max_length=36)  # UUIDs as text


Timestamp = str  # ISO 8601 in UTC ending in Z


class _Request(BaseModel):
    model_config = ConfigDict(extra="allow")


class RunCreate(_Request):
    """``POST /playbook/run``; other keys are kept in the run's ``request`` (templates may read them)."""

    id: str = Field(min_length=1, max_length=MAX_NAME, description="The playbook definition's id.")
    params: dict[str, Any] | None = None
    config_id: str | None = _id()
    check_id: str | None = _id()
    component_id: str | None = _id()
    agent_id: str | None = _id()
    parent_id: str | None = _id()


class RunCreated(BaseModel):
    run_id: str
    starts_at: Timestamp | None
    status: str


class RunDecision(_Request):
    """Approve or reject: an optional comment."""

    comment: str = Field(default="", max_length=10_000)


class RunStatusChanged(BaseModel):
    run_id: str
    status: str


class RunRead(BaseModel):
    id: str
    playbook_id: str
    status: str
    spec: dict[str, Any]
    created_at: Timestamp | None
    start_time: Timestamp | None
    scheduled_time: Timestamp | None
    end_time: Timestamp | None
    timeout: int
    created_by: str | None
    component_id: str | None
    config_id: str | None
    check_id: str | None
    parameters: dict[str, Any]
    request: dict[str, Any] | None
    agent_id: str | None
    parent_id: str | None
    error: str | None
    trigger: str
    records_playbook_id: int | None


class RunActionRead(BaseModel):
    id: str
    name: str
    playbook_run_id: str
    attempt: int
    status: str
    scheduled_time: Timestamp | None
    start_time: Timestamp | None
    end_time: Timestamp | None
    result: Any
    error: str | None


class ApprovalRead(BaseModel):
    approver: str
    approved: bool
    comment: str | None
    created_at: Timestamp | None


class DefinitionRead(BaseModel):
    id: str
    name: str
    title: str
    description: str
    category: str
    icon: str
    source: str
    spec: dict[str, Any]
    parameters: list[dict[str, Any]]
    created_by: str | None
    created_at: Timestamp | None
    updated_at: Timestamp | None
    deleted_at: Timestamp | None


class RunStatusRead(BaseModel):
    playbook: DefinitionRead | None
    run: RunRead
    actions: list[RunActionRead]
    approvals: list[ApprovalRead]


class DefinitionMetadata(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME)


class DefinitionCreate(BaseModel):
    """A definition as ``{name, spec}`` or as the resource form ``{kind: Playbook, metadata: {name}, spec}``, in
    JSON or YAML (``application/yaml``). ``PUT`` also takes a bare spec."""

    kind: Literal["Playbook"] | None = None
    metadata: DefinitionMetadata | None = None
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    spec: PlaybookSpec


class ParamsRequest(_Request):
    params: dict[str, Any] | None = None


class ParamsForm(BaseModel):
    params: list[dict[str, Any]]


class PermissionCreate(BaseModel):
    principal: str = Field(min_length=1, max_length=MAX_NAME, description="A username, team:NAME or role:NAME.")
    action: Literal["run", "approve", "cancel"]


class PermissionRead(BaseModel):
    id: str
    principal: str
    action: str


class ArtifactRead(BaseModel):
    id: str
    playbook_run_action_id: str
    path: str
    filename: str
    size: int
    content_type: str
    checksum: str
    created_at: Timestamp | None


class WebhookAccepted(BaseModel):
    run_id: str
