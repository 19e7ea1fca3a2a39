"""Executing one app run's agent: its prompt function and tools in the sandbox, the model's tool loop
(``apps/agent/``: ``code`` runs the author's functions, ``workspaces`` picks and prepares the workspace, ``tools``
builds the allow-list, ``driver`` runs the conversation and records it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ara.apps import manifest as manifests
from ara.apps.secrets_store import secret_values
from ara.crypto import SecretBox
from ara.db.session import unit_of_work
from ara.settings import Settings


@dataclass(frozen=True)
class RunRequest:
    """A snapshot of the run, taken when it was admitted (no ORM object crosses into the execution)."""

    app_id: str
    app_slug: str
    run_pk: str
    run_id: str
    agent_id: str
    input: dict[str, Any]
    manifest: dict[str, Any]
    owner_id: int
    playbook_id: int | None  # the run's records playbook: its turns and tool calls are recorded under it
    warmup: bool = False
    trigger: str = "api"  # what started the run (``AppRun.trigger``): a ``schedule`` may call one tool directly


@dataclass
class AgentOutcome:
    output_text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {id, name, arguments, result}


#: ``log(event_type, message, level)``: one live log row of this run.
LogFn = Callable[[str, str, str], None]


def execute(
    settings: Settings,
    reader: sessionmaker[Session],
    writer: sessionmaker[Session],
    request: RunRequest,
    *,
    log: LogFn,
    aborted: Callable[[], bool],
) -> AgentOutcome:
    """Runs the agent to its answer. Raises an ``AraError`` whose message is the run's failure reason (never a
    secret value). A warm-up prepares the agent's workspace and calls neither its prompt function nor the model."""
    import anyio

    from ara.apps import run_keys
    from ara.apps.agent.driver import AgentRun
    from ara.apps.agent.prompt import model_for, user_message
    from ara.apps.schedules import scheduled_tool
    from ara.runtime.agent.providers import endpoint_for

    agent = manifests.find_agent(request.manifest, request.agent_id)
    box = SecretBox.from_settings(settings)
    with unit_of_work(reader) as session:
        secrets = secret_values(session, box, request.app_id)
    # The run's own key for the playbook API goes with the secrets (in the sandbox's environment, masked in every
    # output and record); the API's URL beside it.
    bridge = run_keys.tool_env(settings, box, request.run_pk)
    secrets[run_keys.KEY_ENV] = bridge.pop(run_keys.KEY_ENV)
    run = AgentRun(settings, writer, request, secrets, log=log, aborted=aborted, reader=reader, extra_env=bridge)
    try:
        stage = run.enter(agent)
        if request.warmup:
            return AgentOutcome("")
        tool_call = scheduled_tool(request.trigger, request.input)
        if tool_call is not None:  # invoke.tool: the tool alone, no prompt function, no model
            return run.call_tool(stage, *tool_call)
        prompt = run.prompt(stage)
        model = model_for(request.manifest, agent, settings.runtime)
        endpoint = endpoint_for(model, settings.runtime)
        return anyio.run(run.converse, stage, prompt, user_message(request.input), model, endpoint)
    finally:
        run.close()
