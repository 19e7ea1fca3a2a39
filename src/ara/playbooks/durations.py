"""Go-style durations (``30m``, ``1h30m``, ``500ms``, ``10s``) as Mission Control writes them."""

from __future__ import annotations

import re

MAX_SECONDS = 366 * 86400  # timeouts and delays are stored as INTEGER seconds and added to datetimes
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; a plain number means seconds. Raises ValueError on anything else."""
    value = text.strip()
    if not value:
        raise ValueError("empty duration")
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return _bounded(float(value), text)
    position, total = 0, 0.0
    for match in _PART.finditer(value):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(value) or position == 0:
        raise ValueError(f"invalid duration {text!r} (use e.g. 30s, 5m, 1h30m)")
    return _bounded(total, text)


def _bounded(seconds: float, text: str) -> float:
    if seconds > MAX_SECONDS:
        raise ValueError(f"duration {text!r} is longer than {MAX_SECONDS // 86400} days")
    return seconds
