"""The spool: calls the server could not take, on disk until it answers again.

One file per playbook run under the spool directory (``~/.ara/spool`` by default), JSON lines: a header naming
the API endpoint, then one call per line, refs already resolved where the id was known and ``{"$ref": name}``
where an earlier line of the same file creates the object. Lines are fsync'd before the writer goes idle and
when it closes; a file is bounded in size (what does not fit is dropped, and the caller warns). The file is
locked (``flock``) while a run writes it or something replays it, so a replay never races a writer or another
replay; a file replayed completely is removed. Replays are safe to repeat: creates carry their
``Idempotency-Key``, PATCH/PUT bodies are absolute and a DELETE answered 404 counts as done.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ara.clients.base import AraClient
from ara.clients.calls import Call, Unresolved, from_names, join_path, resolve, retryable, send_retrying
from ara.clients.errors import ApiError

SUFFIX = ".jsonl"
FORMAT = 1


class SpoolBusy(Exception):
    """Another process (a run still writing, or another replay) holds this spool file."""


def _lock(handle: IO[Any]) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class SpoolWriter:
    """Appends calls to this run's spool file, created (and locked) on the first call written."""

    def __init__(
        self, directory: Path, endpoint: str, max_bytes: int, *, scrub: Callable[[Any], Any] | None = None
    ) -> None:
        """``scrub``: applied to each call's body before it is written (values that must never be stored, such as
        the ones the callback's client removes before sending)."""
        self.directory = directory
        self.scrub = scrub
        self.endpoint = endpoint.rstrip("/")
        self.max_bytes = max_bytes
        self.path: Path | None = None
        self.size = 0
        self.written = 0
        self.dropped = 0  # calls that did not fit
        self._handle: IO[str] | None = None
        self._dirty = False

    def write(self, item: Call) -> bool:
        """Append one call; False if the file is full (the call is lost). Raises ``Unresolved`` for a call
        that depends on an object whose creation failed."""
        entry: dict[str, Any] = {"method": item.method, "path": resolve(item.path, spooling=True)}
        if item.body is not None:
            body = resolve(item.body, spooling=True)
            entry["body"] = self.scrub(body) if self.scrub is not None else body
        if item.key:
            entry["key"] = item.key
        if item.fills is not None:
            entry["fills"] = item.fills.name
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        handle = self._open()
        if self.size + len(line.encode("utf-8")) > self.max_bytes:
            self.dropped += 1
            return False
        handle.write(line)
        self.size += len(line.encode("utf-8"))
        self.written += 1
        self._dirty = True
        return True

    def sync(self) -> None:
        """Make what was written durable (before going idle, and on close)."""
        if self._handle is not None and self._dirty:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._dirty = False

    def close(self) -> None:
        if self._handle is not None:
            self.sync()
            self._handle.close()  # closing releases the lock
            self._handle = None

    def discard(self) -> None:
        """The file was replayed in this process: remove it; a later call starts a new one."""
        path = self.path
        self.close()
        if path is not None:
            path.unlink(missing_ok=True)
        self.path = None
        self.size = self.written = 0

    def lines(self) -> Iterator[str]:
        """What was written so far, read lazily (for a replay from this process, which writes nothing meanwhile)."""
        self.sync()
        if self.path is None:
            return
        with open(self.path, encoding="utf-8") as handle:
            yield from handle

    def _open(self) -> IO[str]:
        if self._handle is None:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
            self.path = self.directory / f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            self._handle = os.fdopen(fd, "w", encoding="utf-8")
            _lock(self._handle)
            header = {"ara_spool": FORMAT, "endpoint": self.endpoint, "created": dt.datetime.now(dt.UTC).isoformat()}
            text = json.dumps(header) + "\n"
            self._handle.write(text)
            self.size = len(text)
            self._dirty = True
        return self._handle


@dataclass
class Replay:
    """What a replay did: calls sent, calls skipped (refused by the server, or needing a refused object), the
    ids it learnt by ref name, and the names whose creation failed."""

    sent: int = 0
    skipped: int = 0
    ids: dict[str, int] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    files: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: Replay) -> None:
        self.sent += other.sent
        self.skipped += other.skipped
        self.files += other.files
        self.errors.extend(other.errors)


def replay_lines(
    client: AraClient, lines: Iterator[str], *, budget: float, give_up: Callable[[], bool] = lambda: False
) -> Replay:
    """Send spooled calls in order. A call the server refuses (4xx) is skipped with whatever needs its object;
    a retryable failure (after ``budget`` seconds of retries) propagates: nothing after it was sent."""
    done = Replay()
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short when the writer was killed; nothing after it was written
        if not isinstance(entry, dict) or "ara_spool" in entry:
            continue
        fills = entry.get("fills")
        try:
            path = join_path(from_names(entry["path"], done.ids))
            body = from_names(entry.get("body"), done.ids)
            answer = send_retrying(
                client, entry["method"], path, body, entry.get("key"), budget=budget, give_up=give_up
            )
        except Unresolved:
            done.skipped += 1
            if fills:
                done.failed.add(fills)
            continue
        except ApiError as exc:
            if retryable(exc):
                raise
            done.skipped += 1
            done.errors.append(str(exc))
            if fills:
                done.failed.add(fills)
            continue
        if fills and isinstance(answer, dict) and "id" in answer:
            done.ids[fills] = answer["id"]
        done.sent += 1
    return done


def header(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            first = json.loads(handle.readline())
    except (OSError, ValueError):
        return None
    return first if isinstance(first, dict) and "ara_spool" in first else None


def replay_file(client: AraClient, path: Path, *, budget: float) -> Replay:
    """Replay one spool file written by another process and remove it; ``SpoolBusy`` if it is locked."""
    with open(path, encoding="utf-8") as handle:
        if not _lock(handle):
            raise SpoolBusy(str(path))
        done = replay_lines(client, iter(handle.readlines()), budget=budget)
        path.unlink(missing_ok=True)
    done.files = 1
    return done


def spool_files(directory: Path, endpoint: str) -> list[Path]:
    """Spool files for ``endpoint``, oldest first (a file for another server is left alone)."""
    if not directory.is_dir():
        return []
    wanted = endpoint.rstrip("/")
    found = []
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        first = header(path)
        if first is not None and str(first.get("endpoint", "")).rstrip("/") == wanted:
            found.append(path)
    return found


def other_endpoints(directory: Path, endpoint: str) -> dict[str, int]:
    """Spool files waiting for other servers than ``endpoint``: how many per endpoint."""
    if not directory.is_dir():
        return {}
    counts: dict[str, int] = {}
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        first = header(path)
        other = str(first.get("endpoint", "")).rstrip("/") if first else ""
        if other and other != endpoint.rstrip("/"):
            counts[other] = counts.get(other, 0) + 1
    return counts


def replay_directory(client: AraClient, directory: Path, *, budget: float) -> Replay:
    """Replay every idle spool file for this client's endpoint, oldest first; stops at the first file the server
    cannot take (a retryable failure propagates)."""
    total = Replay()
    for path in spool_files(directory, client.endpoint):
        try:
            total.add(replay_file(client, path, budget=budget))
        except (SpoolBusy, FileNotFoundError):
            continue
    return total
