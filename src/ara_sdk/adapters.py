"""Adapters: an agent implemented by a command (a LangGraph, LangChain or Agno worker, or anything speaking
stdio) rather than a prompt function. Plain dicts, as 0.1.46 builds them; the framework helpers only preset
``framework`` and the ``AGENT_FRAMEWORK`` variable."""

from __future__ import annotations

from typing import Any

from ara_sdk.validation import DeclarationError, stripped


def command_adapter(
    entrypoint: str,
    *,
    framework: str = "custom",
    transport: str = "stdio",
    args: list[str] | None = None,
    artifact: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    command = str(entrypoint or "").strip()
    if not command:
        raise DeclarationError("command_adapter() requires a non-empty entrypoint")
    out: dict[str, Any] = {
        "type": "command",
        "framework": str(framework or "custom").strip() or "custom",
        "transport": str(transport or "stdio").strip() or "stdio",
        "entrypoint": command,
        "args": stripped(args),
    }
    if artifact and isinstance(artifact, dict):
        out["artifact"] = dict(artifact)
    if env and isinstance(env, dict):
        out["env"] = {str(k).strip(): str(v) for k, v in env.items() if str(k).strip()}
    return out


def _framework(
    framework: str,
    entrypoint: str,
    *,
    transport: str,
    args: list[str] | None,
    artifact: dict[str, Any] | None,
    env: dict[str, str] | None,
) -> dict[str, Any]:
    merged = {"AGENT_FRAMEWORK": framework}
    merged.update({str(k): str(v) for k, v in (env or {}).items() if str(k).strip()})
    return command_adapter(
        entrypoint, framework=framework, transport=transport, args=args, artifact=artifact, env=merged
    )


def langgraph_adapter(
    entrypoint: str = "python3 langgraph_worker.py",
    *,
    transport: str = "stdio",
    args: list[str] | None = None,
    artifact: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    return _framework("langgraph", entrypoint, transport=transport, args=args, artifact=artifact, env=env)


def langchain_adapter(
    entrypoint: str = "python3 langchain_worker.py",
    *,
    transport: str = "stdio",
    args: list[str] | None = None,
    artifact: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    return _framework("langchain", entrypoint, transport=transport, args=args, artifact=artifact, env=env)


def agno_adapter(
    entrypoint: str = "python3 agno_worker.py",
    *,
    transport: str = "stdio",
    args: list[str] | None = None,
    artifact: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    return _framework("agno", entrypoint, transport=transport, args=args, artifact=artifact, env=env)
