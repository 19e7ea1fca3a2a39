"""The ``/automations`` routes' wire models, for the OpenAPI document: the bodies ara-sdk 0.1.58 sends (checked
field by field in ``fields``, which names each bad one) and what we answer (the SDK reads ``jobs[].id|name|
enabled``; the rest is ours)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ScheduleKind = Literal["cron", "every", "at"]
MisfirePolicy = Literal["fire_all", "fire_latest_only", "skip_if_late"]
ExecutionMode = Literal["sandbox_required", "centralized_ok"]


class AgentTurnPayload(BaseModel):
    kind: Literal["agent_turn"] = "agent_turn"
    message: str = Field(description="what the agent receives each time the job fires")
    model: str | None = Field(default=None, description="provider/name; the server's default model if absent")


class JobCreate(BaseModel):
    name: str
    schedule_kind: ScheduleKind
    schedule_expr: str | None = Field(default=None, description="cron: a 5-field cron expression")
    every_seconds: int | None = Field(default=None, ge=1, description="every: the period in seconds")
    at: str | None = Field(default=None, description="at: an ISO 8601 moment (without offset: in `timezone`)")
    timezone: str = "UTC"
    payload: AgentTurnPayload
    enabled: bool = True
    execution_mode: ExecutionMode = "sandbox_required"
    misfire_policy: MisfirePolicy = "fire_latest_only"
    max_retries: int = Field(default=3, ge=0, le=20)
    retry_backoff_seconds: int = Field(default=30, ge=0, le=86400)


class JobUpdate(BaseModel):
    """Any of the job's fields; a changed schedule (or a job enabled again) counts from now."""

    name: str | None = None
    enabled: bool | None = None
    payload: dict[str, Any] | None = Field(default=None, description="merged into the stored payload")
    schedule_kind: ScheduleKind | None = None
    schedule_expr: str | None = None
    every_seconds: int | None = None
    at: str | None = None
    timezone: str | None = None
    execution_mode: ExecutionMode | None = None
    misfire_policy: MisfirePolicy | None = None
    max_retries: int | None = None
    retry_backoff_seconds: int | None = None


class JobRead(BaseModel):
    id: str
    name: str
    enabled: bool
    schedule_kind: ScheduleKind
    schedule_expr: str | None
    every_seconds: int | None
    at: str | None
    timezone: str
    payload: dict[str, Any]
    execution_mode: str
    misfire_policy: str
    max_retries: int
    retry_backoff_seconds: int
    next_fire_at: str | None
    last_fired_at: str | None
    created_at: str
    updated_at: str


class JobAnswer(BaseModel):
    ok: bool
    job: JobRead


class JobsList(BaseModel):
    ok: bool
    jobs: list[JobRead]


class JobDeleted(BaseModel):
    ok: bool
    deleted: str


class AutomationRunRead(BaseModel):
    id: str
    automation_id: str
    status: str = Field(description="a run status: scheduled, running, retrying, completed, failed...")
    state: str = Field(description="the same as status (the 0.1.58 CLI filters on `state`)")
    trigger: Literal["schedule", "replay"]
    replay_of: str | None
    attempt: int
    fire_time: str = Field(description="the schedule's moment this run stands for")
    scheduled_time: str = Field(description="when the run is (next) due; a retry moves it")
    start_time: str | None
    end_time: str | None
    output: dict[str, Any] | None = Field(description="the turn's {text, tool_calls, conversation_id}")
    error: str | None


class AutomationRunsList(BaseModel):
    ok: bool
    runs: list[AutomationRunRead]


class AutomationRunAnswer(BaseModel):
    ok: bool
    run: AutomationRunRead


class ReplayBody(BaseModel):
    """``{}``: nothing in it is read."""
