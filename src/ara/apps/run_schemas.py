"""The invoke routes' wire models, for the OpenAPI document (the handlers check bodies field by field in
``run_bodies``, which names each bad one): what ara-sdk sends and what we answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Event = Literal["run.completed", "run.failed"]


class SyncRunBody(BaseModel):
    agent_id: str | None = Field(default=None, description="null: the app's default agent")
    workflow_id: str | None = Field(default=None, description="stands in for a missing agent_id")
    warmup: bool = Field(default=False, description="prepare the sandbox, call no model; answered at once")
    input: dict[str, Any] = Field(
        default_factory=dict, description="the agent's input; `run_id` is the run's id, `idempotency_key` dedups"
    )


class Callback(BaseModel):
    url: str
    secret: str = Field(default="", description="HMAC key of X-Ara-Signature; empty: deliveries are unsigned")
    events: list[Event] = Field(default_factory=lambda: ["run.completed", "run.failed"])


class AsyncRunBody(SyncRunBody):
    response_mode: Literal["poll", "webhook"] = "poll"
    run_id: str | None = None
    idempotency_key: str | None = None
    callback: Callback | None = Field(default=None, description="required with response_mode webhook")


class EventBody(BaseModel):
    """Sent with the header ``X-Idempotency-Key`` (required). The agent's input is ``{message, event: {event_type,
    channel, source, payload, metadata}}``."""

    agent_id: str | None = None
    workflow_id: str | None = None
    event_type: str = "webhook.message.received"
    channel: str = "webhook"
    source: str = "webhook"
    message: str = ""
    payload: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)


class RunResult(BaseModel):
    output_text: str
    tool_calls: list[dict[str, Any]]


class RunAnswer(BaseModel):
    ok: bool = Field(description="false once the run failed")
    run_id: str
    status: str
    agent_id: str
    workflow_id: str
    trigger: str
    warmup: bool
    result: RunResult | None
    error: str | None
    created_at: str | None
    started_at: str | None
    ended_at: str | None


class RunRef(BaseModel):
    run_id: str
    status: str


class AsyncRunAnswer(RunAnswer):
    run: RunRef
    deduplicated: bool = Field(description="true: an earlier call with this key started the run; nothing new")
