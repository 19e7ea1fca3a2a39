"""Small helpers the records commands share: path truncation, id resolution, durations, metrics sums."""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any

from ara.clients.base import AraClient

_DURATION = re.compile(r"^(?:(?P<days>-?\d+) )?(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d)(?:\.(?P<us>\d{1,6}))?$")


def truncatepath(path: str | None, length: int = 50) -> str | None:
    """Shorten a path to under ``length`` characters on separators, prefixing an ellipsis (as ARA's CLI does)."""
    if not path or len(path) < length:
        return path
    dirname, basename = os.path.split(path)
    while dirname:
        if len(dirname) + len(basename) < length:
            break
        dirname = "/".join(dirname.split("/")[1:])
    return "..." + os.path.join(dirname, basename)


def seconds(duration: str | None) -> float:
    """The API's ``[D ]HH:MM:SS[.ffffff]`` durations as seconds (0 for None or an unreadable value)."""
    match = _DURATION.match(duration or "")
    if not match:
        return 0.0
    micro = int((match["us"] or "0").ljust(6, "0"))
    return (
        dt.timedelta(
            days=int(match["days"] or 0), hours=int(match["h"]), minutes=int(match["m"]), seconds=int(match["s"])
        ).total_seconds()
        + micro / 1_000_000
    )


def ago(*, days: float = 0, hours: float = 0) -> str:
    """A moment in the past, in UTC, as the API's date filters read it."""
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(days=days, hours=hours)
    return moment.isoformat().replace("+00:00", "Z")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


class Resolver:
    """Turns ids into ``(id) name`` labels for ``--resolve``, asking the API once per object."""

    def __init__(self, client: AraClient, *, long: bool = False) -> None:
        self.client = client
        self.long = long
        self._cache: dict[tuple[str, Any], dict[str, Any]] = {}

    def get(self, kind: str, key: Any) -> dict[str, Any]:
        if (kind, key) not in self._cache:
            self._cache[kind, key] = self.client.get(f"/api/v1/{kind}/{key}")
        return self._cache[kind, key]

    def playbook(self, key: Any) -> str:
        playbook = self.get("playbooks", key)
        path = playbook["path"] if self.long else truncatepath(playbook["path"])
        return f"({playbook['id']}) {path}"

    def named(self, kind: str, key: Any) -> str:
        obj = self.get(kind, key)
        return f"({obj['id']}) {obj.get('name') or ''}".rstrip()


def named(obj: dict[str, Any] | None, fallback: str = "path") -> str:
    """``(id) name`` of a nested object (a detail view's playbook, play or task)."""
    if not obj:
        return ""
    return f"({obj.get('id')}) {obj.get('name') or obj.get(fallback) or ''}".rstrip()


def timing(total_seconds: float, count: int) -> tuple[str, str]:
    """Total and average durations as ARA's metrics print them (``str(timedelta)``)."""
    total = dt.timedelta(seconds=total_seconds)
    return str(total), str(total / count if count else dt.timedelta())


def grouped(objects: list[dict[str, Any]], aggregate: str, *, long: bool) -> list[tuple[dict[str, Any], list[Any]]]:
    """Objects grouped by their ``aggregate`` value, in a stable order (None last): each group's first metrics
    columns (``aggregate`` with paths truncated unless ``long``, and ``count``) and its members."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for obj in objects:
        groups.setdefault(obj.get(aggregate), []).append(obj)
    return [
        ({"aggregate": truncatepath(key) if aggregate == "path" and not long else key, "count": len(groups[key])},
         groups[key])
        for key in sorted(groups, key=lambda k: (k is None, str(k)))
    ]  # fmt: skip
