"""API calls as data, so a call that cannot be sent now can be written to disk and sent later, in order.

A ``Call`` is a method, a path and a body in which ``Ref`` objects stand for ids the server has not answered yet
(the host a result belongs to, created by an earlier call of the same run), an ``Idempotency-Key`` (a create
sent twice creates once) and the ``Ref`` its answer fills. ``resolve`` replaces refs by ids when they are known;
written to a spool, a ref still unknown becomes ``{"$ref": name}`` and the replay fills it from the answer of the
earlier call that names it in ``fills``.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ara.clients.base import IDEMPOTENCY_HEADER, AraClient
from ara.clients.errors import ApiNotFound, ServerError, TransportError

REF_KEY = "$ref"
_names = itertools.count(1)


class Unresolved(Exception):
    """A call needs the id of an object whose creation failed (refused, or dropped): the call is skipped."""


class Pending(Exception):
    """A call needs an id that a spooled call will fill: it must be spooled behind that call."""


class Ref:
    """The id of an object a call creates, once the server has answered it; ``name`` identifies it in a spool."""

    __slots__ = ("id", "name", "failed")

    def __init__(self, id: int | None = None) -> None:
        self.id = id
        self.name = f"r{next(_names)}"
        self.failed = False

    @property
    def value(self) -> int:
        if self.id is None:
            raise Unresolved
        return self.id


# A body may be built late (on the sender thread, off Ansible's): a function returning the body, or None to
# drop the call (a facts PATCH when the result had no facts).
Body = Any


@dataclass(slots=True)
class Call:
    method: str
    path: tuple[Any, ...]  # text and Refs, joined when sent: ("/api/v1/tasks/", task_ref)
    body: Body = None
    fills: Ref | None = None
    key: str | None = field(default=None)

    def __post_init__(self) -> None:
        if self.method == "POST" and self.key is None:
            self.key = str(uuid.uuid4())

    def materialize(self) -> bool:
        """Build a late body now; False when the builder dropped the call."""
        if callable(self.body):
            self.body = self.body()
            if self.body is None:
                return False
        return True


def call(method: str, *path: Any, body: Body = None, fills: Ref | None = None) -> Call:
    return Call(method, tuple(path), body, fills)


def resolve(value: Any, *, spooling: bool = False) -> Any:
    """``value`` with known refs replaced by ids. A failed ref raises ``Unresolved``; a ref not known yet raises
    ``Pending``, or becomes ``{"$ref": name}`` when ``spooling``."""
    if isinstance(value, Ref):
        if value.id is not None:
            return value.id
        if value.failed:
            raise Unresolved
        if spooling:
            return {REF_KEY: value.name}
        raise Pending
    if isinstance(value, dict):
        return {key: resolve(item, spooling=spooling) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(item, spooling=spooling) for item in value]
    return value


def from_names(value: Any, ids: dict[str, int]) -> Any:
    """A spooled value with each ``{"$ref": name}`` replaced by the id the replay got for ``name``."""
    if isinstance(value, dict):
        if len(value) == 1 and REF_KEY in value:
            try:
                return ids[value[REF_KEY]]
            except KeyError:
                raise Unresolved from None
        return {key: from_names(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [from_names(item, ids) for item in value]
    return value


def join_path(parts: list[Any]) -> str:
    return "".join(str(part) for part in parts)


def retryable(exc: Exception) -> bool:
    """The server could not take the call now (unreachable, reset, timed out, 5xx): worth sending again."""
    return isinstance(exc, TransportError | ServerError)


def send_retrying(
    client: AraClient,
    method: str,
    path: str,
    body: Any,
    key: str | None,
    *,
    budget: float,
    give_up: Callable[[], bool] = lambda: False,
) -> Any:
    """Send one call, retrying what ``retryable`` allows with exponential backoff for at most ``budget`` seconds.
    A DELETE answered 404 is done (an earlier attempt deleted it)."""
    headers = {IDEMPOTENCY_HEADER: key} if key else None
    deadline = time.monotonic() + budget
    delay = 0.1
    while True:
        try:
            return client.request(method, path, body=body if method != "DELETE" else None, headers=headers)
        except ApiNotFound:
            if method == "DELETE":
                return None
            raise
        except Exception as exc:
            if not retryable(exc) or give_up() or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
