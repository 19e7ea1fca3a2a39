"""The control channel across API hosts (PostgreSQL). Each API process LISTENs on its own channel with one async
connection (started with the app's lifespan) and records its connected peers in ``runtime_control_peers``
(``ara.runtime.control_relay``). A call whose action no local peer registered goes to the host whose row has it:
a call row plus a NOTIFY on that host's channel; that host's listener forwards it to its peer, writes the answer
on the row and NOTIFYs back; the caller waits on its own channel up to the call's time-out. SQLite (one process)
has no relay: the local registry is the whole story.

``call_action`` and ``list_actions`` are the one way the routes reach actions, local or remote."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from ara.db.session import unit_of_work
from ara.db.types import utcnow
from ara.errors import TimedOut
from ara.runtime import control_relay as rows
from ara.runtime.control import ControlRegistry, NotConnected, Peer
from ara.server.state import AppState

if TYPE_CHECKING:  # psycopg is the postgresql extra's: the embedded server (SQLite) never loads it
    import psycopg

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 1.0
T = TypeVar("T")


def registry(app: FastAPI) -> ControlRegistry:
    """The app's one registry, made on first use (every caller runs on the server's event loop)."""
    found: ControlRegistry | None = getattr(app.state, "ara_control", None)
    if found is None:
        found = app.state.ara_control = ControlRegistry()
    return found


def relay_of(app: FastAPI) -> ControlRelay | None:
    """The running relay; None on SQLite or outside the app's lifespan."""
    return getattr(app.state, "ara_control_relay", None)


async def call_action(
    app: FastAPI, session_id: str, action: str, args: dict[str, Any], timeout_seconds: float
) -> dict[str, Any]:
    """The peer's result message, from a peer on this host or, through the relay, on another; ``NotConnected``
    (409) when no live peer registered the action, ``TimedOut`` (504) when it does not answer in time."""
    control, relay = registry(app), relay_of(app)
    if relay is None or control.holds(session_id, action):
        return await control.call(session_id, action, args, timeout_seconds)
    return await relay.call(session_id, action, args, timeout_seconds)


async def list_actions(app: FastAPI, session_id: str) -> list[dict[str, Any]]:
    """Every action the session's live peers registered on any host; a later peer wins a shared name."""
    relay = relay_of(app)
    merged: dict[str, dict[str, Any]] = {}
    if relay is not None:
        for peer in await run_in_threadpool(relay.remote_peers, session_id):
            merged.update({action["name"]: action for action in peer})
    merged.update({action["name"]: action for action in registry(app).actions(session_id)})
    return list(merged.values())


class ControlRelay:
    """This API process's side of the relay: its channel, its listener and the calls it waits on."""

    def __init__(self, state: AppState, control: ControlRegistry) -> None:
        self.state, self.control = state, control
        self.host = f"ara_control_{secrets.token_hex(8)}"  # also the LISTEN channel: a plain identifier
        self.heartbeat = state.settings.runtime.control_heartbeat_seconds
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._serving: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._conninfo = state.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def start(self) -> None:
        """LISTEN before the server takes requests: a call relayed here is never missed for want of a listener."""
        connection = await self._listening()
        self._tasks = [asyncio.create_task(self._listen(connection)), asyncio.create_task(self._beat())]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._serving]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._serving, return_exceptions=True)
        self._tasks.clear()
        with suppress(Exception):  # the server stops: its peers' rows stop counting now, not after the expiry
            await run_in_threadpool(self._write, rows.forget_host, self.host)

    # --- peers connected here -------------------------------------------------------------------------------

    async def attached(self, peer: Peer) -> None:
        await run_in_threadpool(self._write, rows.add_peer, peer.id, peer.session_id, self.host)

    async def registered(self, peer: Peer) -> None:
        actions = [action.describe() for action in peer.actions.values()]
        await run_in_threadpool(self._write, rows.set_actions, peer.id, actions)

    async def detached(self, peer: Peer) -> None:
        await run_in_threadpool(self._write, rows.remove_peer, peer.id)

    def remote_peers(self, session_id: str) -> list[list[dict[str, Any]]]:
        """The actions of each live peer of the session on other hosts, oldest peer first."""
        with unit_of_work(self.state.reader) as session:
            found = rows.live_peers(session, session_id, other_than=self.host, heartbeat_seconds=self.heartbeat)
            return [list(peer.actions) for peer in found]

    # --- calls made here ------------------------------------------------------------------------------------

    async def call(self, session_id: str, action: str, args: dict[str, Any], timeout_seconds: float) -> dict[str, Any]:
        holder = await run_in_threadpool(self._holder, session_id, action)
        call_id = f"call-{secrets.token_hex(12)}"
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = answered  # before the NOTIFY goes out: its answer cannot come first
        try:
            await run_in_threadpool(
                self._write,
                rows.post_call,
                call_id,
                session_id,
                action,
                args,
                host=holder,
                reply_host=self.host,
                timeout_seconds=timeout_seconds,
            )
            with suppress(TimeoutError):
                await asyncio.wait_for(answered, timeout_seconds)
        finally:
            self._waiting.pop(call_id, None)
            answer = await run_in_threadpool(self._write, rows.take_answer, call_id)
        if answer is None:
            raise TimedOut(f"the control client did not answer {action!r} within {timeout_seconds * 1000:g} ms")
        if "not_connected" in answer:
            raise NotConnected(str(answer["not_connected"]))
        return answer

    def _holder(self, session_id: str, action: str) -> str:
        """The host of the latest live peer that registered ``action`` (``NotConnected`` names what is missing)."""
        with unit_of_work(self.state.reader) as session:
            peers = rows.live_peers(session, session_id, other_than=self.host, heartbeat_seconds=self.heartbeat)
            holders = [peer.host for peer in peers if any(item.get("name") == action for item in peer.actions)]
        if holders:
            return holders[-1]
        if not peers and not self.control.connected(session_id):
            raise NotConnected(f"no control client is connected to session {session_id}")
        raise NotConnected(f"no connected control client registered the action {action!r}")

    # --- the listener ---------------------------------------------------------------------------------------

    async def _listening(self) -> psycopg.AsyncConnection[Any]:
        import psycopg

        connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        await connection.execute(f'LISTEN "{self.host}"')
        return connection

    async def _listen(self, connection: psycopg.AsyncConnection[Any]) -> None:
        """Dispatch notifications for as long as the app lives, reconnecting after a lost connection (calls
        relayed meanwhile time out at their callers)."""
        import psycopg

        try:
            while True:
                try:
                    async for notification in connection.notifies():
                        self._dispatch(notification.payload)
                except psycopg.Error as exc:
                    log.warning("control relay: lost its LISTEN connection (%s); reconnecting", type(exc).__name__)
                with suppress(Exception):
                    await connection.close()
                while True:
                    await asyncio.sleep(RECONNECT_SECONDS)
                    try:
                        connection = await self._listening()
                        break
                    except psycopg.Error:
                        continue
        finally:  # the app stops (the task is cancelled)
            with suppress(Exception):
                await connection.close()

    def _dispatch(self, payload: str) -> None:
        kind, call_id = rows.parse(payload)
        if kind == rows.ANSWER:
            waiting = self._waiting.get(call_id)
            if waiting is not None and not waiting.done():
                waiting.set_result(None)
        elif kind == rows.CALL:
            task = asyncio.create_task(self._serve(call_id))
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)

    async def _serve(self, call_id: str) -> None:
        """Forward a call relayed here to the local peer and write its answer for the caller."""
        found = await run_in_threadpool(self._read_call, call_id)
        if found is None:
            return
        session_id, action, args, remaining = found
        try:
            answer = await self.control.call(session_id, action, args, remaining)
        except NotConnected as exc:
            answer = {"not_connected": exc.message}
        except TimedOut:
            return  # the caller's own wait ends at the same moment and answers 504
        await run_in_threadpool(self._write, rows.answer_call, call_id, answer)

    def _read_call(self, call_id: str) -> tuple[str, str, dict[str, Any], float] | None:
        with unit_of_work(self.state.reader) as session:
            row = rows.pending_call(session, call_id, self.host)
            if row is None:
                return None
            return row.session_id, row.action, dict(row.args), (row.expires_at - utcnow()).total_seconds()

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                connected, seen_at = self.control.peer_ids(), utcnow()  # on the event loop, which owns the registry
                await run_in_threadpool(self._write, rows.beat, self.host, connected, seen_at, self.heartbeat)
            except Exception as exc:  # noqa: BLE001 - a missed beat must not end the loop
                log.warning("control relay: heartbeat failed (%s)", type(exc).__name__)

    def _write(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``work(session, *args, **kwargs)`` in one transaction (its notifications go out at the commit)."""
        with unit_of_work(self.state.writer) as session:
            return work(session, *args, **kwargs)


async def start_relay(app: FastAPI, state: AppState) -> ControlRelay | None:
    """The relay on PostgreSQL (None on SQLite), listening."""
    if state.engine.dialect.name != "postgresql":
        return None
    relay = ControlRelay(state, registry(app))
    await relay.start()
    app.state.ara_control_relay = relay
    return relay
