"""The file tools: read, write, edit, list and delete inside the session. Every path goes through
``Workspace.resolve`` (relative paths live in ``workspace/``) and is opened component by component without
following links (``tools.paths``), so ``..``, absolute paths elsewhere and symlinks that lead out are refused."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import PurePosixPath
from typing import Any

from ara.errors import ToolFailed
from ara.runtime.tools.args import builtin
from ara.runtime.tools.base import ToolContext
from ara.runtime.tools.paths import open_dir, open_file, refusal
from ara.runtime.workspace import SANDBOX_ROOT

MAX_READ_BYTES = 1024 * 1024
MAX_ENTRIES = 1000
MAX_SCANNED = 10 * MAX_ENTRIES
_PATH = {
    "type": "string",
    "description": "A path in the session: relative to /root/.ara/workspace, or absolute under /root/.ara.",
}


def read_bytes(ctx: ToolContext, path: str, cap: int = MAX_READ_BYTES) -> tuple[bytes, bool]:
    """At most ``cap`` bytes of a regular file in the session, and whether there was more."""
    host = ctx.workspace.resolve(path)
    with open_file(ctx.workspace, host, path, os.O_RDONLY) as fd:
        chunks = bytearray()
        while len(chunks) <= cap:
            chunk = os.read(fd, cap + 1 - len(chunks))
            if not chunk:
                break
            chunks += chunk
    return bytes(chunks[:cap]), len(chunks) > cap


def decode_text(path: str, data: bytes) -> str:
    """UTF-8 text, or a clear refusal for binary content (the model cannot use it)."""
    if b"\x00" in data[:8192]:
        raise ToolFailed(f"{path}: a binary file, not text (read_file reads UTF-8 text only)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3:  # the cap cut a character in two
            return data[: exc.start].decode("utf-8")
        raise ToolFailed(f"{path}: not UTF-8 text (read_file reads text only)") from None


def write_bytes(ctx: ToolContext, path: str, data: bytes) -> str:
    """Write ``data`` to ``path`` (parents made as needed) and answer the sandbox path."""
    host = ctx.workspace.resolve(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    with open_file(ctx.workspace, host, path, flags, create_parents=True) as fd:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    return ctx.workspace.sandbox_path(host)


def read_file(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    path = args["path"]
    data, truncated = read_bytes(ctx, path)
    text = decode_text(path, data)
    out: dict[str, Any] = {"path": ctx.workspace.sandbox_path(ctx.workspace.resolve(path))}
    if "offset" in args or "limit" in args:
        lines = text.splitlines(keepends=True)
        start = args.get("offset", 0)
        selected = lines[start : start + args["limit"]] if "limit" in args else lines[start:]
        text = "".join(selected)
        out.update(offset=start, lines=len(selected), total_lines=len(lines))
    return {**out, "content": text, "size": len(data), "truncated": truncated}


def write_file(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    data = args["content"].encode("utf-8")
    return {"path": write_bytes(ctx, args["path"], data), "bytes_written": len(data)}


def edit_file(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    path, old, new = args["path"], args["old_string"], args["new_string"]
    if not old:
        raise ToolFailed("edit_file: old_string must not be empty")
    data, truncated = read_bytes(ctx, path)
    if truncated:
        raise ToolFailed(f"{path}: larger than {MAX_READ_BYTES} bytes, too large to edit")
    text = decode_text(path, data)
    count = text.count(old)
    if count == 0:
        raise ToolFailed(f"{path}: old_string not found")
    if count > 1 and not args.get("replace_all", False):
        raise ToolFailed(f"{path}: old_string occurs {count} times; add context to make it unique or set replace_all")
    written = write_bytes(ctx, path, text.replace(old, new).encode("utf-8"))
    return {"path": written, "replacements": count}


def list_dir(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    path = args.get("path") or "."
    host = ctx.workspace.resolve(path)
    entries = []
    with open_dir(ctx.workspace, host, path) as fd, os.scandir(fd) as found:
        for entry in found:
            if len(entries) >= MAX_SCANNED:  # a huge directory is listed in part, not read whole
                break
            info = entry.stat(follow_symlinks=False)
            kind = (
                "directory"
                if stat.S_ISDIR(info.st_mode)
                else "file"
                if stat.S_ISREG(info.st_mode)
                else "symlink"
                if stat.S_ISLNK(info.st_mode)
                else "other"
            )
            entries.append({"name": entry.name, "type": kind, "size": info.st_size})
    entries.sort(key=lambda entry: entry["name"])
    return {
        "path": ctx.workspace.sandbox_path(host),
        "entries": entries[:MAX_ENTRIES],
        "truncated": len(entries) > MAX_ENTRIES or len(entries) >= MAX_SCANNED,
    }


def delete_file(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    """The link itself when ``path`` names a symlink (its target is never touched)."""
    path = args["path"]
    given = PurePosixPath(path.strip() or ".")
    if given.name in ("", ".", "..") or given == SANDBOX_ROOT:
        raise ToolFailed(f"delete_file: {path} names no file (the session and workspace roots cannot be deleted)")
    parent = ctx.workspace.resolve(str(given.parent))
    target = parent / given.name
    if target in (ctx.workspace.root.resolve(), ctx.workspace.workspace_dir.resolve()):
        raise ToolFailed(f"delete_file: {path} is a session root and cannot be deleted")
    with open_dir(ctx.workspace, parent, path) as fd:
        try:
            mode = os.stat(given.name, dir_fd=fd, follow_symlinks=False).st_mode
            if not stat.S_ISDIR(mode):
                os.unlink(given.name, dir_fd=fd)
            elif args.get("recursive", False):
                shutil.rmtree(given.name, dir_fd=fd)
            else:
                os.rmdir(given.name, dir_fd=fd)
        except OSError as exc:
            raise refusal(exc, path) from None
    kind = "directory" if stat.S_ISDIR(mode) else "symlink" if stat.S_ISLNK(mode) else "file"
    return {"path": f"{ctx.workspace.sandbox_path(parent)}/{given.name}", "deleted": kind}


_OFFSET = {"type": "integer", "minimum": 0, "description": "Lines to skip from the start."}
_LIMIT = {"type": "integer", "minimum": 1, "description": "At most this many lines."}
_TEXT = {"type": "string"}

READ_FILE = builtin(
    "read_file",
    "Read a UTF-8 text file from the session (up to 1 MiB; offset/limit select lines).",
    {"properties": {"path": _PATH, "offset": _OFFSET, "limit": _LIMIT}, "required": ["path"]},
    read_file,
)
WRITE_FILE = builtin(
    "write_file",
    "Create or replace a text file in the session; parent directories are made as needed.",
    {
        "properties": {"path": _PATH, "content": {**_TEXT, "description": "The whole new content."}},
        "required": ["path", "content"],
    },
    write_file,
)
EDIT_FILE = builtin(
    "edit_file",
    "Replace old_string by new_string in a text file; old_string must occur exactly once unless replace_all.",
    {
        "properties": {
            "path": _PATH,
            "old_string": {**_TEXT, "description": "The exact text to replace."},
            "new_string": {**_TEXT, "description": "The replacement."},
            "replace_all": {"type": "boolean", "description": "Replace every occurrence."},
        },
        "required": ["path", "old_string", "new_string"],
    },
    edit_file,
)
LIST_DIR = builtin(
    "list_dir",
    "List a directory of the session: each entry's name, type (file, directory, symlink) and size.",
    {"properties": {"path": {**_PATH, "description": "A directory; default the workspace."}}, "required": []},
    list_dir,
)
DELETE_FILE = builtin(
    "delete_file",
    "Delete a file or symlink; a directory only when empty, or with everything in it when recursive is true.",
    {"properties": {"path": _PATH, "recursive": {"type": "boolean"}}, "required": ["path"]},
    delete_file,
)
