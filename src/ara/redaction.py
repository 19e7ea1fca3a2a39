"""Secret values out of text, JSON-like trees and files: the one scrubber the engine and the callback share.

Dependency-free on purpose: the Ansible callback imports it in ``ansible-playbook``'s process."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

REDACTED = "[redacted]"
REDACT_FILE_ENV = "ARA_REDACT_FILE"  # names a JSON list of values the Ansible callback must not record
_CHUNK = 1 << 20


def variants(secrets: list[str]) -> list[str]:
    """Each secret, and how it looks inside a JSON string (a secret with a quote or a non-ASCII letter is
    escaped in JSON that a program prints); longest first, so a secret containing another goes whole."""
    return list(_variants(tuple(secrets)))


@functools.lru_cache(maxsize=64)
def _variants(secrets: tuple[str, ...]) -> tuple[str, ...]:
    found = set()
    for secret in secrets:
        if not secret:
            continue
        found.add(secret)
        for ascii_only in (True, False):
            escaped = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
            found.add(escaped)
    return tuple(sorted(found, key=len, reverse=True))


def scrub(text: str, secrets: list[str], marker: str = REDACTED) -> str:
    for secret in _variants(tuple(secrets)):
        text = text.replace(secret, marker)
    return text


def scrub_tree(value: Any, secrets: list[str], marker: str = REDACTED) -> Any:
    """Every string (keys too) inside lists and dicts, scrubbed; other values as they are."""
    if not secrets:
        return value
    if isinstance(value, str):
        return scrub(value, secrets, marker)
    if isinstance(value, list | tuple):
        return [scrub_tree(item, secrets, marker) for item in value]
    if isinstance(value, dict):
        return {scrub_tree(key, secrets, marker): scrub_tree(item, secrets, marker) for key, item in value.items()}
    return value


def scrub_file(source: Path, target: Path, secrets: list[str]) -> int:
    """Copy ``source`` to ``target`` with every secret's bytes replaced, in bounded memory (a match may straddle
    two reads: the last ``longest - 1`` bytes wait for the next read). Returns how many were replaced."""
    needles = sorted({v.encode("utf-8") for v in variants(secrets)}, key=len, reverse=True)
    with source.open("rb") as src, target.open("wb") as out:
        if not needles:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
            return 0
        pattern = re.compile(b"|".join(re.escape(n) for n in needles))
        keep = len(needles[0]) - 1
        carry, count = b"", 0
        while True:
            chunk = src.read(_CHUNK)
            buffer = carry + chunk
            cut = len(buffer) if not chunk else max(len(buffer) - keep, 0)
            position = 0
            for match in pattern.finditer(buffer):
                if match.start() >= cut:
                    break
                out.write(buffer[position : match.start()])
                out.write(REDACTED.encode())
                position = match.end()
                count += 1
            if position < cut:
                out.write(buffer[position:cut])
            carry = buffer[max(position, cut) :]
            if not chunk:
                return count
