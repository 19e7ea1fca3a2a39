"""What one agent of a run starts from: the text its prompt function makes (in the sandbox), the user message
and the model it talks to.

Decisions: the prompt function's text is the system message; the run's ``input["message"]`` is the user message
(without one, the input itself as JSON, so the model sees what the prompt function saw); the model is the
agent's ``runtime(model=…)``, else the app's, else the server's default."""

from __future__ import annotations

import json
from typing import Any

from ara.apps import manifest as manifests
from ara.apps.agent.code import CodeRunner
from ara.errors import ToolFailed
from ara.runtime.agent.providers import ModelRef, parse_model
from ara.settings import RuntimeSettings

# Ids the SDK adds to a run's input; bookkeeping, not something the model should read.
BOOKKEEPING = ("run_id", "idempotency_key")


def prompt_text(runner: CodeRunner, agent: dict[str, Any], run_input: dict[str, Any]) -> str:
    """The prompt function called with the run's input as its one declared parameter (an agent without one: its
    ``instructions``); ``ToolFailed`` says why it could not make a text."""
    factory = agent.get("prompt_factory") or {}
    if not str(factory.get("source") or "").strip():  # a manifest written by hand: its instructions are the prompt
        return str(agent.get("instructions") or agent.get("task") or "")
    name = str(factory.get("function_name") or agent["id"])
    declared = list(((factory.get("parameters") or {}).get("properties") or {}).keys())
    source = str(factory.get("source") or "")
    try:
        if len(declared) == 1:
            value = runner.call(source, name, kwargs={declared[0]: run_input})
        else:
            value = runner.call(source, name, args=[run_input])
    except ToolFailed as exc:
        raise ToolFailed(f"the prompt function {exc.message}") from None
    if value is None:
        raise ToolFailed(f"the prompt function {name} returned nothing (it must return the agent's instructions)")
    return value if isinstance(value, str) else json.dumps(value)


def user_message(run_input: dict[str, Any]) -> str:
    message = run_input.get("message")
    if isinstance(message, str) and message.strip():
        return message
    rest = {key: value for key, value in run_input.items() if key not in BOOKKEEPING}
    return json.dumps(rest, default=str, sort_keys=True) if rest else "Begin."


def model_for(manifest: dict[str, Any], agent: dict[str, Any], settings: RuntimeSettings) -> ModelRef:
    runtime = agent.get("runtime") if isinstance(agent.get("runtime"), dict) else {}
    chosen = runtime.get("model") or manifests.runtime_profile(manifest).get("model") or None
    return parse_model(chosen, settings)


def profile_for(manifest: dict[str, Any], agent: dict[str, Any]) -> dict[str, Any]:
    """The app's runtime profile with the agent's own ``runtime(…)`` over it (its env merged key by key)."""
    profile = dict(manifests.runtime_profile(manifest))
    runtime = agent.get("runtime")
    if isinstance(runtime, dict):
        env = {**(profile.get("env") or {}), **(runtime.get("env") or {})}
        profile.update(runtime)
        profile["env"] = env
    return profile
