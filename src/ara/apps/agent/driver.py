"""One app run's conversation: the agent's prompt and skills drive the runtime's tool loop
(``runtime/agent/loop.run_turn``); a ``transfer_to_<agent>`` call moves the rest of the run to that agent (its
prompt becomes the system message, its skills the tools, its workspace the tools' workspace). Each model turn is
a play of the run's records playbook, each tool call a task with its result; each call is logged.

The engine calls ``execute`` from a worker thread: the conversation gets an event loop of its own, and the
database writes between model calls are made directly on it (nothing else runs on that loop)."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ara.apps import manifest as manifests
from ara.apps.agent import workspaces
from ara.apps.agent.code import MASK, CodeRunner
from ara.apps.agent.prompt import profile_for, prompt_text
from ara.apps.agent.tools import masked, skill_tools, transfer_tool
from ara.apps.execution import AgentOutcome, LogFn, RunRequest
from ara.db.session import unit_of_work
from ara.errors import ModelFailed, ToolFailed
from ara.redaction import scrub, scrub_tree
from ara.runtime import recording
from ara.runtime.agent.events import Failed, Finished, Message, ReasoningDelta, TextDelta, ToolInput, ToolOutput
from ara.runtime.agent.loop import Turn, run_turn
from ara.runtime.agent.providers import Endpoint, ModelClients, ModelRef
from ara.runtime.sandbox.base import Limits
from ara.runtime.sandbox.select import choose_sandbox
from ara.runtime.tools.base import Tool, ToolContext, ToolOutcome
from ara.runtime.tools.base import execute as execute_tool
from ara.settings import Settings

STOPPED = "the run was stopped during its turn"


@dataclass(frozen=True)
class Stage:
    """The agent in charge, where its code runs."""

    agent: dict[str, Any]
    place: workspaces.Place
    runner: CodeRunner


class AgentRun:
    """The agents of one run, their workspaces (ephemeral ones removed by ``close``) and the conversation."""

    def __init__(
        self,
        settings: Settings,
        writer: sessionmaker[Session],
        request: RunRequest,
        secrets: dict[str, str],
        *,
        log: LogFn,
        aborted: Callable[[], bool],
        reader: sessionmaker[Session] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.reader = reader
        self.extra_env = dict(extra_env or {})  # beside the profile's env, not secret (the API's URL)
        self.request = request
        self.secrets = dict(secrets)
        self.masked_values = tuple(value for value in secrets.values() if value)
        self.log = log
        self.aborted = aborted
        self.sandbox = choose_sandbox(settings.runtime)
        self.limits = replace(
            Limits.from_settings(settings.runtime), timeout_seconds=settings.apps.code_timeout_seconds
        )
        self.places: list[workspaces.Place] = []
        self.stage: Stage | None = None
        self.turn: Turn | None = None

    # -- agents and their workspaces -------------------------------------------------------------------------

    def enter(self, agent: dict[str, Any], parent: workspaces.Place | None = None) -> Stage:
        """The agent's workspace, prepared (``runtime(files=…, startup=…)`` applied once)."""
        place = workspaces.choose(self.settings, self.request.app_id, self.request.run_pk, agent, parent)
        self.places.append(place)
        profile = profile_for(self.request.manifest, agent)
        env = {str(key): str(value) for key, value in (profile.get("env") or {}).items()}
        runner = CodeRunner(
            self.sandbox,
            place.workspace,
            self._limits(profile),
            {**env, **self.extra_env, **self.secrets},
            self.masked_values,
            network=self.settings.runtime.network,
        )
        if workspaces.prepare(place, profile, runner):
            self.log("sandbox.prepared", f"workspace {place.key}: runtime files and startup applied", "info")
        return Stage(agent, place, runner)

    def _limits(self, profile: dict[str, Any]) -> Limits:
        """``runtime(memory_mb=…)`` may lower the server's memory limit for the app's code, never raise it."""
        wanted = profile.get("memory_mb")
        if isinstance(wanted, int) and not isinstance(wanted, bool) and 0 < wanted < self.limits.memory_mb:
            return replace(self.limits, memory_mb=wanted)
        return self.limits

    def close(self) -> None:
        for place in {place.key: place for place in self.places}.values():
            workspaces.release(place)

    def prompt(self, stage: Stage) -> str:
        return prompt_text(stage.runner, stage.agent, self.request.input)

    def _context(self, stage: Stage) -> ToolContext:
        return ToolContext(
            session_id=f"{self.request.app_id}/{stage.place.key}",
            user_id=self.request.owner_id,
            workspace=stage.place.workspace,
            sandbox=self.sandbox,
            settings=self.settings.runtime,
            network=self.settings.runtime.network,
            secrets=self.secrets,
            writer=self.writer,
            reader=self.reader,
        )

    def _tools(self, stage: Stage) -> dict[str, Tool]:
        found = skill_tools(self.request.manifest, stage.agent, lambda: self._current().runner)
        for target in stage.agent.get("handoff_to") or []:
            row = manifests.find_agent(self.request.manifest, str(target))
            tool = transfer_tool(str(target), str(row.get("instructions") or ""), self._transfer)
            found[tool.name] = tool
        return {name: masked(tool, self.masked_values) for name, tool in found.items()}

    def _current(self) -> Stage:
        assert self.stage is not None
        return self.stage

    def _transfer(self, target: str) -> str:
        """The handoff (a tool call, in a worker thread while the loop waits): the target's workspace, prompt and
        skills replace the current agent's for the rest of the run."""
        turn, current = self.turn, self._current()
        assert turn is not None
        agent = manifests.find_agent(self.request.manifest, target)
        stage = self.enter(agent, parent=current.place)
        prompt = self.prompt(stage)
        self.stage = stage
        turn.messages[0] = {"role": "system", "content": prompt}
        turn.tools = self._tools(stage)
        turn.context = self._context(stage)
        self.log("agent.handoff", f"{current.agent['id']} -> {target}", "info")
        return f"You are now the agent {target!r}; continue the conversation."

    # -- the conversation ------------------------------------------------------------------------------------

    async def converse(self, stage: Stage, prompt: str, user: str, model: ModelRef, endpoint: Endpoint) -> AgentOutcome:
        """The final answer and every tool call; ``ModelFailed`` when the provider failed or the run stopped."""
        clients = ModelClients()
        self.stage = stage
        self.turn = turn = Turn(
            client=clients.client(endpoint),
            model=model.name,
            messages=[{"role": "system", "content": prompt}, {"role": "user", "content": user}],
            tools={},
            context=self._context(stage),
            max_turns=self.settings.runtime.max_turns,
            secrets=(endpoint.api_key, *self.masked_values),
        )
        turn.tools = self._tools(stage)
        calls: dict[str, dict[str, Any]] = {}
        text, play_id, turns, failed = "", None, 0, True
        try:
            async with aclosing(run_turn(turn)) as events:
                async for event in events:
                    if isinstance(event, TextDelta | ReasoningDelta):
                        continue  # the answer is read whole from its message
                    if self.aborted():  # once per message or tool call, not per streamed piece
                        raise ModelFailed(STOPPED)
                    if isinstance(event, Message) and event.message.get("role") == "assistant":
                        turns += 1
                        play_id = self._next_play(play_id, f"{self._current().agent['id']}: model turn {turns}")
                        text = str(event.message.get("content") or "")
                    elif isinstance(event, ToolInput):
                        calls[event.call_id] = {"id": event.call_id, "name": event.name, "arguments": event.args}
                        self.log("tool.called", event.name, "info")
                    elif isinstance(event, ToolOutput):
                        calls.setdefault(event.call_id, {"id": event.call_id, "name": event.outcome.name})
                        calls[event.call_id]["result"] = event.text
                        self._record(play_id, event.outcome)
                        if not event.outcome.ok:
                            self.log(
                                "tool.failed", self._clean(f"{event.outcome.name}: {event.outcome.error}"), "error"
                            )
                    elif isinstance(event, Failed):
                        raise ModelFailed(self._clean(event.message))
                    elif isinstance(event, Finished):
                        failed = False
                        break
        finally:
            await clients.close()
            if play_id is not None:
                self._end_play(play_id, failed)
        tool_calls = scrub_tree(list(calls.values()), list(self.masked_values), MASK)
        return AgentOutcome(self._clean(text), tool_calls)

    def call_tool(self, stage: Stage, name: str, args: dict[str, Any]) -> AgentOutcome:
        """A scheduled tool (``invoke.tool``): that one tool in the agent's workspace, no model; its result (JSON
        text) is the run's answer, its failure (``ToolFailed``) the run's reason. Recorded and logged like a call
        the model made."""
        found = skill_tools(self.request.manifest, {"skills": [name]}, lambda: stage.runner)
        if name not in found:
            raise ToolFailed(f"the app has no tool {name!r}")
        self.log("tool.called", name, "info")
        play_id = self._next_play(None, f"scheduled tool {name}")
        outcome = execute_tool(masked(found[name], self.masked_values), self._context(stage), args)
        self._record(play_id, outcome)
        if play_id is not None:
            self._end_play(play_id, not outcome.ok)
        if not outcome.ok:
            self.log("tool.failed", self._clean(f"{name}: {outcome.error}"), "error")
            raise ToolFailed(self._clean(f"{name}: {outcome.error}"))
        text = self._clean(json.dumps(outcome.output, default=str))
        call = {"id": f"scheduled-{name}", "name": name, "arguments": args, "result": text}
        return AgentOutcome(text, scrub_tree([call], list(self.masked_values), MASK))

    def _clean(self, text: str) -> str:
        return scrub(text, list(self.masked_values), MASK)

    # -- records ---------------------------------------------------------------------------------------------

    def _next_play(self, previous: int | None, name: str) -> int | None:
        if self.request.playbook_id is None:
            return None
        with unit_of_work(self.writer) as session:
            if previous is not None:
                recording.end_turn(session, previous, failed=False)
            return recording.begin_play(session, self.request.playbook_id, name=name)

    def _record(self, play_id: int | None, outcome: ToolOutcome) -> None:
        if self.request.playbook_id is None or play_id is None:
            return
        with unit_of_work(self.writer) as session:
            recording.record_call(
                session,
                self.request.playbook_id,
                play_id,
                outcome,
                secrets=self.masked_values,
                path=f"app://{self.request.app_slug}/{self.request.run_id}",
            )

    def _end_play(self, play_id: int, failed: bool) -> None:
        with unit_of_work(self.writer) as session:
            recording.end_turn(session, play_id, failed=failed)
