"""The control channel: a page or app holds a WebSocket on its session, registers actions, and answers the calls
``POST /session/runtime/control/call`` forwards to it.

The registry holds this API process's connected peers (one event loop); with several API hosts on PostgreSQL,
``ara.server.control_relay`` relays a call to the host whose registry holds the peer. A peer is whatever sends
JSON to one connected client; this module knows nothing of WebSockets or the database.

Peer → server: ``{"type": "register", "actions": [{name, description, parameters}]}`` (replaces that peer's
actions), ``{"type": "result", "call_id", "ok", "result" | "error"}``. Server → peer: ``{"type": "ready",
"session_id"}``, ``{"type": "registered", "actions": [names]}``, ``{"type": "call", "call_id", "action", "args"}``,
``{"type": "error", "error"}`` for a message it could not use (the connection stays open); ``ping`` gets ``pong``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ara.errors import InvalidTransition, TimedOut, ValidationFailed

MAX_ACTIONS = 256
MAX_NAME = 128
MAX_DESCRIPTION = 4096

Send = Callable[[dict[str, Any]], Awaitable[None]]


class NotConnected(InvalidTransition):
    """409: no client holds the session's control channel, or none registered the action."""

    code = "not_connected"


@dataclass(frozen=True)
class Action:
    name: str
    description: str
    parameters: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


@dataclass(eq=False)
class Peer:
    """One connected client of one session."""

    session_id: str
    send: Send
    actions: dict[str, Action] = field(default_factory=dict)
    id: str = field(default_factory=lambda: f"peer-{secrets.token_hex(12)}")
    pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)


def parse_actions(value: Any) -> dict[str, Action]:
    """A register message's ``actions``, checked; ``ValidationFailed`` names the first bad field."""
    if not isinstance(value, list):
        raise ValidationFailed({"actions": ["expected a list of {name, description, parameters}"]})
    if len(value) > MAX_ACTIONS:
        raise ValidationFailed({"actions": [f"at most {MAX_ACTIONS} actions"]})
    actions: dict[str, Action] = {}
    for index, item in enumerate(value):
        where = f"actions.{index}"
        if not isinstance(item, dict):
            raise ValidationFailed({where: ["expected an object"]})
        name, description, parameters = item.get("name"), item.get("description", ""), item.get("parameters", {})
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise ValidationFailed({f"{where}.name": [f"a non-empty string of at most {MAX_NAME} characters"]})
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            raise ValidationFailed({f"{where}.description": [f"a string of at most {MAX_DESCRIPTION} characters"]})
        if parameters is None:
            parameters = {}
        if not isinstance(parameters, dict):
            raise ValidationFailed({f"{where}.parameters": ["expected a JSON schema object"]})
        actions[name] = Action(name, description, parameters)
    return actions


class ControlRegistry:
    """Connected peers by session. All methods run on the server's event loop."""

    def __init__(self) -> None:
        self._peers: dict[str, list[Peer]] = {}

    def attach(self, session_id: str, send: Send) -> Peer:
        peer = Peer(session_id, send)
        self._peers.setdefault(session_id, []).append(peer)
        return peer

    def detach(self, peer: Peer) -> None:
        """The peer left: its pending calls fail at once instead of waiting for their time-out."""
        peers = self._peers.get(peer.session_id, [])
        if peer in peers:
            peers.remove(peer)
        if not peers:
            self._peers.pop(peer.session_id, None)
        for future in peer.pending.values():
            if not future.done():
                future.set_exception(NotConnected("the control client disconnected before it answered"))
        peer.pending.clear()

    def actions(self, session_id: str) -> list[dict[str, Any]]:
        """Every registered action of the session; where two peers register one name, the latest wins."""
        merged: dict[str, Action] = {}
        for peer in self._peers.get(session_id, []):
            merged.update(peer.actions)
        return [action.describe() for action in merged.values()]

    def peer_ids(self) -> set[str]:
        return {peer.id for peers in self._peers.values() for peer in peers}

    def connected(self, session_id: str) -> bool:
        return bool(self._peers.get(session_id))

    def holds(self, session_id: str, action: str) -> bool:
        """Whether a peer connected here registered ``action`` (else another host may hold it)."""
        return any(action in peer.actions for peer in self._peers.get(session_id, []))

    def _peer_for(self, session_id: str, action: str) -> Peer:
        peers = self._peers.get(session_id, [])
        if not peers:
            raise NotConnected(f"no control client is connected to session {session_id}")
        for peer in reversed(peers):
            if action in peer.actions:
                return peer
        raise NotConnected(f"no connected control client registered the action {action!r}")

    async def call(self, session_id: str, action: str, args: dict[str, Any], timeout_seconds: float) -> dict[str, Any]:
        """Forward one call and wait for its result message (``TimedOut`` after ``timeout_seconds``)."""
        peer = self._peer_for(session_id, action)
        call_id = f"call-{secrets.token_hex(8)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        peer.pending[call_id] = future
        try:
            await peer.send({"type": "call", "call_id": call_id, "action": action, "args": args})
            return await asyncio.wait_for(future, timeout_seconds)
        except TimeoutError:
            waited = f"{timeout_seconds * 1000:g} ms"
            raise TimedOut(f"the control client did not answer {action!r} within {waited}") from None
        finally:
            peer.pending.pop(call_id, None)

    def receive(self, peer: Peer, message: Any) -> dict[str, Any] | None:
        """Handle one message from ``peer``; returns an error message to send back, or None."""
        if not isinstance(message, dict):
            return {"type": "error", "error": "expected a JSON object with a type"}
        kind = message.get("type")
        if kind == "register":
            try:
                peer.actions = parse_actions(message.get("actions"))
            except ValidationFailed as exc:
                return {"type": "error", "error": exc.message}
            return {"type": "registered", "actions": [name for name in peer.actions]}
        if kind == "result":
            future = peer.pending.get(str(message.get("call_id", "")))
            if future is None or future.done():
                return {"type": "error", "error": f"no pending call {message.get('call_id')!r} (late or unknown)"}
            future.set_result(message)
            return None
        if kind == "ping":
            return {"type": "pong"}
        return {"type": "error", "error": f"unknown message type {kind!r} (register, result or ping)"}
