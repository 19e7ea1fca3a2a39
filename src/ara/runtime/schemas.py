"""The runtime routes' wire models (``/session/...``): what ``ara-sdk`` sends, and what we answer where it only
prints the answer (``shared/notes/ara-sdk-wire.md``). Requests refuse unknown fields, so a typo is a 400."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ToolKind = Literal["all", "builtin", "app", "connector"]
MAX_ID = 64


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmptyBody(Strict):
    """``POST /session/start|stop|heartbeat`` take ``{}`` (or nothing)."""


class SessionInfo(BaseModel):
    id: str
    status: str
    created_at: str | None
    last_active_at: str | None
    stopped_at: str | None
    stop_reason: str | None
    network: bool
    workspace: str


class SessionRead(BaseModel):
    """``status``/``active`` say whether it runs; a user who never started one gets ``status: none``."""

    ok: bool
    status: str
    active: bool
    session_id: str | None = None
    session: SessionInfo | None = None


class SessionStopped(BaseModel):
    ok: bool
    session_id: str | None
    status: str


class Heartbeat(BaseModel):
    ok: bool
    session_id: str


class ToolRead(BaseModel):
    name: str
    kind: str
    description: str
    parameters: dict[str, Any]


class ToolsList(BaseModel):
    ok: bool
    session_id: str
    kind: str
    tools: list[ToolRead]


class SkillRead(BaseModel):
    name: str
    description: str
    path: str
    source: str


class SkillsList(BaseModel):
    ok: bool
    session_id: str
    skills: list[SkillRead]


class SandboxInfo(BaseModel):
    backend: str
    strong: bool


class Capabilities(BaseModel):
    ok: bool
    session_id: str
    agent_id: str | None
    sandbox: SandboxInfo
    network: bool
    limits: dict[str, int | float]
    tools: list[str]
    tool_kinds: dict[str, int]
    skills: int
    default_model: str
    providers: list[str]
    max_turns: int


class ToolExecute(Strict):
    session_id: str | None = Field(default=None, max_length=MAX_ID)
    tool_name: str = Field(min_length=1, max_length=255)
    args: dict[str, Any] = Field(default_factory=dict)
    agent_id: str | None = Field(default=None, max_length=255)


class ToolExecuted(BaseModel):
    """A tool's own refusal is ``ok: false`` with its message in ``error`` (the SDK prints it)."""

    ok: bool
    session_id: str
    tool_name: str
    output: Any
    error: str
    duration_ms: float


class TerminalExec(Strict):
    command: str = Field(min_length=1, max_length=64 * 1024)
    timeout_seconds: int = Field(default=90, ge=5, le=600)


class TerminalResult(BaseModel):
    ok: bool
    session_id: str
    command: str
    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    truncated: bool
    duration_ms: float


class SessionFileEntry(BaseModel):
    name: str
    path: str
    type: str
    size: int | None


class SessionFilesList(BaseModel):
    ok: bool
    path: str
    entries: list[SessionFileEntry]
    truncated: bool


class SessionFileRead(BaseModel):
    ok: bool
    path: str
    content: str
    bytes: int


class SessionFileWrite(Strict):
    path: str = Field(min_length=1, max_length=4096)
    content: str


class SessionFilesWrite(Strict):
    writes: list[SessionFileWrite] = Field(min_length=1, max_length=1000)
    restart: bool = False  # the SDK always sends false; nothing restarts here either way


class SessionFileWritten(BaseModel):
    path: str
    bytes: int


class SessionFilesWritten(BaseModel):
    ok: bool
    written: list[SessionFileWritten]


class SessionFileUploaded(BaseModel):
    ok: bool
    path: str
    bytes: int
