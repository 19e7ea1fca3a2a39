"""``search_files`` (a regular expression over the session's text files) and ``glob`` (paths matching a pattern).
Both walk without following symlinks, so a link to ``/`` in the workspace is listed, never entered."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ara.errors import ToolFailed
from ara.runtime.tools.args import builtin
from ara.runtime.tools.base import ToolContext
from ara.runtime.tools.paths import open_file

MAX_MATCHES = 200
MAX_VISITED = 20_000
MAX_SEARCH_BYTES = 1024 * 1024
MAX_LINE_CHARS = 500


def walk(base: Path) -> Iterator[tuple[Path, bool]]:
    """Every entry under ``base`` (path, is a directory), without entering symlinked directories."""
    for directory, dirnames, filenames in os.walk(base, followlinks=False):
        dirnames.sort()
        for name in dirnames:
            yield Path(directory) / name, not os.path.islink(os.path.join(directory, name))
        for name in sorted(filenames):
            yield Path(directory) / name, False


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob (``*``, ``?``, ``[...]``, ``**`` for any depth) as a regular expression over ``/``-separated paths."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _base(ctx: ToolContext, args: dict[str, Any]) -> tuple[str, Path]:
    path = args.get("path") or "."
    base = ctx.workspace.resolve(path)
    if not base.is_dir():
        raise ToolFailed(f"{path}: not a directory")
    return path, base


def search_files(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    try:
        regex = re.compile(args["pattern"])
    except re.error as exc:
        raise ToolFailed(f"search_files: invalid regular expression: {exc}") from None
    _, base = _base(ctx, args)
    only = glob_regex(args["glob"]) if args.get("glob") else None
    matches: list[dict[str, Any]] = []
    truncated = False
    for visited, (host, is_dir) in enumerate(walk(base)):
        if visited >= MAX_VISITED or len(matches) >= MAX_MATCHES:
            truncated = True
            break
        relative = host.relative_to(base).as_posix()
        if is_dir or (only and not (only.match(relative) or only.match(host.name))):
            continue
        for number, line in _text_lines(ctx, host):
            if regex.search(line):
                shown = ctx.workspace.sandbox_path(host)
                matches.append({"path": shown, "line": number, "text": line[:MAX_LINE_CHARS]})
                if len(matches) >= MAX_MATCHES:
                    break
    return {"matches": matches, "truncated": truncated}


def _text_lines(ctx: ToolContext, host: Path) -> list[tuple[int, str]]:
    """The numbered lines of a small UTF-8 file; binary, large, linked or unreadable files give none."""
    try:
        with open_file(ctx.workspace, host, str(host), os.O_RDONLY) as fd:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SEARCH_BYTES:
                return []
            data = os.read(fd, MAX_SEARCH_BYTES)
    except (ToolFailed, OSError):
        return []
    if b"\x00" in data[:8192]:
        return []
    text = data.decode("utf-8", errors="replace")
    return list(enumerate(text.splitlines(), start=1))


def glob_files(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    pattern = args["pattern"]
    if pattern.startswith("/"):
        raise ToolFailed("glob: the pattern is relative to path (default the workspace); give the directory as path")
    regex = glob_regex(pattern)
    _, base = _base(ctx, args)
    found: list[str] = []
    truncated = False
    for visited, (host, _) in enumerate(walk(base)):
        if visited >= MAX_VISITED or len(found) >= MAX_MATCHES:
            truncated = True
            break
        if regex.match(host.relative_to(base).as_posix()):
            found.append(f"{ctx.workspace.sandbox_path(host.parent)}/{host.name}")
    return {"matches": found, "truncated": truncated}


SEARCH_FILES = builtin(
    "search_files",
    f"Search the session's text files for a regular expression (at most {MAX_MATCHES} matching lines).",
    {
        "properties": {
            "pattern": {"type": "string", "description": "A Python regular expression."},
            "path": {"type": "string", "description": "The directory to search; default the workspace."},
            "glob": {"type": "string", "description": "Only files whose path or name matches, e.g. *.py"},
        },
        "required": ["pattern"],
    },
    search_files,
)
GLOB = builtin(
    "glob",
    "Paths in the session matching a glob pattern such as **/*.py (symlinked directories are not entered).",
    {
        "properties": {
            "pattern": {"type": "string", "description": "A glob relative to path; ** matches any depth."},
            "path": {"type": "string", "description": "The directory to search; default the workspace."},
        },
        "required": ["pattern"],
    },
    glob_files,
)
