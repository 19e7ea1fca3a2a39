"""The playbook spec, with Mission Control's field names, validated when a definition is saved.

A definition arrives as the CRD form (``kind: Playbook``, ``metadata.name``, ``spec``) or as ``{name, spec}``,
in JSON or YAML; ``parse_definition`` accepts both and returns the name and a validated ``PlaybookSpec``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from ara.errors import ValidationFailed
from ara.playbooks.conditions import check_expression
from ara.playbooks.durations import parse_duration

SAVING = "saving"  # validation context key: the spec is being saved, not read back


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


MAX_NAME = 255  # names and titles are VARCHAR(255) columns
MAX_ACTIONS = 500  # a spec's actions run one after another; thousands would be a mistake, and cost O(n) each save
ParameterType = Literal["text", "checkbox", "list", "code", "duration", "secret", "config", "component", "check"]


class ParameterOption(SpecModel):
    label: str = ""
    value: str


class Parameter(SpecModel):
    name: str
    label: str = ""
    type: ParameterType = "text"
    required: bool = False
    default: Any = None
    description: str = ""
    options: list[ParameterOption] = Field(default_factory=list)
    properties: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _options_from_properties(self) -> Parameter:
        # Mission Control puts list options under ``properties.options``; both spellings are accepted.
        if not self.options and isinstance(self.properties.get("options"), list):
            self.options = [
                ParameterOption(label=str(o.get("label", o.get("value", ""))), value=str(o.get("value", "")))
                if isinstance(o, dict)
                else ParameterOption(label=str(o), value=str(o))
                for o in self.properties["options"]
            ]
        if self.type == "list" and not self.options:
            raise ValueError(f"parameter {self.name!r} of type list needs options")
        return self


class ResourceSelector(SpecModel):
    types: list[str] = Field(default_factory=list)
    name: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    labelSelector: str = ""  # noqa: N815 - Mission Control's field name


class Approvers(SpecModel):
    people: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)


class Approval(SpecModel):
    type: Literal["any", "all"] = "any"
    approvers: Approvers = Field(default_factory=Approvers)
    expiry: str = ""  # beyond upstream: a pending approval lapses after this duration

    @field_validator("expiry")
    @classmethod
    def _duration(cls, value: str) -> str:
        if value:
            parse_duration(value)
        return value


class Schedule(SpecModel):
    schedule: str
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("schedule")
    @classmethod
    def _parses(cls, value: str, info: ValidationInfo) -> str:
        from ara.playbooks.schedules import validate_schedule

        # Saving also refuses a cron that never fires; a definition stored before that check still loads.
        validate_schedule(value, must_fire=bool(info.context and info.context.get(SAVING)))
        return value


class BasicAuth(SpecModel):
    username: str
    password: str


class GithubAuth(SpecModel):
    token: str  # the shared secret of GitHub's X-Hub-Signature-256 HMAC


class WebhookAuthentication(SpecModel):
    basic: BasicAuth | None = None
    github: GithubAuth | None = None


class Webhook(SpecModel):
    path: str
    authentication: WebhookAuthentication | None = None

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,254}", value) or ".." in value:
            raise ValueError("webhook path must be letters, digits, '.', '_', '-' or '/'")
        return value


class RecordsEvent(SpecModel):
    """Run when a recorded (Ansible) playbook ends with ``status`` and carries all ``labels``."""

    status: Literal["failed", "completed", "expired"] = "failed"
    labels: list[str] = Field(default_factory=list)
    path: str = ""  # substring of the recorded playbook's path
    parameters: dict[str, Any] = Field(default_factory=dict)


class Triggers(SpecModel):
    schedule: list[Schedule] = Field(default_factory=list)
    webhook: Webhook | None = None
    records: list[RecordsEvent] = Field(default_factory=list)


class RetryExponent(SpecModel):
    multiplier: float = 1.0


class Retry(SpecModel):
    limit: int = Field(ge=0, le=100)
    duration: str = "0s"
    jitter: int = Field(default=0, ge=0, le=100)  # percent
    exponent: RetryExponent = Field(default_factory=RetryExponent)

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class Artifact(SpecModel):
    path: str


class ExecAction(SpecModel):
    script: str
    env: dict[str, str] | list[dict[str, Any]] = Field(default_factory=dict)
    artifacts: list[Artifact] = Field(default_factory=list)


class HttpAction(SpecModel):
    url: str
    method: str = "GET"
    headers: dict[str, str] | list[dict[str, Any]] = Field(default_factory=dict)
    body: str = ""


class SqlAction(SpecModel):
    connection: str  # a database URL; stored encrypted, never returned
    query: str


class AnsibleAction(SpecModel):
    playbook: str  # a path, or inline YAML
    inventory: str = "localhost ansible_connection=local\n"  # a path, host list ("a,b,") or inline INI
    extraVars: dict[str, Any] = Field(default_factory=dict)  # noqa: N815 - Mission Control style


class AgentAction(SpecModel):
    """Run an app's agent as a step: ``app`` is the app's slug or id, ``agent`` one of its agents (empty: the
    default agent); the agent's input is ``{**input, "message": message}``."""

    app: str
    agent: str = ""
    message: str = ""
    input: dict[str, Any] = Field(default_factory=dict)

    @field_validator("app")
    @classmethod
    def _app(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("app may not be blank (an app's slug or id)")
        return value.strip()


ACTION_KINDS = ("exec", "http", "sql", "ansible", "agent")


class Action(SpecModel):
    name: str
    if_: str = Field(default="", alias="if")
    delay: str = ""
    timeout: str = ""
    retry: Retry | None = None
    exec: ExecAction | None = None
    http: HttpAction | None = None
    sql: SqlAction | None = None
    ansible: AnsibleAction | None = None
    agent: AgentAction | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Action:
        if not self.name.strip():
            raise ValueError("action name may not be blank")
        given = [kind for kind in ACTION_KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            raise ValueError(f"action {self.name!r} needs exactly one of {', '.join(ACTION_KINDS)}")
        for field in ("delay", "timeout"):
            if getattr(self, field):
                parse_duration(getattr(self, field))
        check_expression(self.if_)
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in ACTION_KINDS if getattr(self, kind) is not None)


class PlaybookSpec(SpecModel):
    title: str = Field(default="", max_length=MAX_NAME)
    description: str = ""
    category: str = Field(default="", max_length=MAX_NAME)
    icon: str = Field(default="", max_length=MAX_NAME)
    timeout: str = "30m"
    env: dict[str, str] = Field(default_factory=dict)
    parameters: list[Parameter] = Field(default_factory=list)
    configs: list[ResourceSelector] = Field(default_factory=list)
    checks: list[ResourceSelector] = Field(default_factory=list)
    components: list[ResourceSelector] = Field(default_factory=list)
    filters: list[str] = Field(default_factory=list)
    approval: Approval | None = None
    on: Triggers = Field(default_factory=Triggers)
    concurrency: int = Field(default=0, ge=0)  # beyond upstream: 0 means unlimited
    actions: list[Action] = Field(max_length=MAX_ACTIONS)

    @model_validator(mode="after")
    def _consistent(self) -> PlaybookSpec:
        parse_duration(self.timeout)
        if not self.actions:
            raise ValueError("a playbook needs at least one action")
        names = Counter(action.name for action in self.actions)
        duplicates = sorted(name for name, count in names.items() if count > 1)
        if duplicates:
            raise ValueError(f"action names must be unique: {', '.join(duplicates)}")
        for expression in self.filters:
            check_expression(expression)
        params = [p.name for p in self.parameters]
        if len(params) != len(set(params)):
            raise ValueError("parameter names must be unique")
        if self.on.schedule and self.approval is not None:
            raise ValueError("a scheduled playbook cannot require approval (nobody would be there to approve)")
        return self

    @property
    def timeout_seconds(self) -> float:
        return parse_duration(self.timeout)


def validate_spec(raw: Any) -> PlaybookSpec:
    """A validated spec, or ``ValidationFailed`` whose detail names each bad field (``spec.actions.0.name``)."""
    try:
        return PlaybookSpec.model_validate(raw, context={SAVING: True})
    except ValidationError as exc:
        raise ValidationFailed(_field_errors(exc, prefix="spec")) from None


def _field_errors(exc: ValidationError, *, prefix: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for item in exc.errors():
        where = ".".join([prefix, *(str(part) for part in item["loc"])])
        message = item["msg"].removeprefix("Value error, ")
        errors.setdefault(where, []).append(message)
    return errors


def parse_definition(document: Any) -> tuple[str, PlaybookSpec]:
    """``{kind: Playbook, metadata: {name}, spec}`` or ``{name, spec}`` -> (name, spec)."""
    if not isinstance(document, dict):
        raise ValidationFailed({"body": ["expected a mapping with 'name' and 'spec' (or a kind: Playbook resource)"]})
    if "kind" in document or "metadata" in document:
        if document.get("kind") != "Playbook":
            raise ValidationFailed({"kind": ["must be 'Playbook'"]})
        metadata = document.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ValidationFailed({"metadata": ["must be a mapping with a 'name'"]})
        name = metadata.get("name")
    else:
        name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed({"name": ["This field is required."]})
    if len(name.strip()) > MAX_NAME:
        raise ValidationFailed({"name": [f"Ensure this field has no more than {MAX_NAME} characters."]})
    if "spec" not in document:
        raise ValidationFailed({"spec": ["This field is required."]})
    return name.strip(), validate_spec(document["spec"])
