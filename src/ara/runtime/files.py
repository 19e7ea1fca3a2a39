"""A session's files as ``ara-sdk`` 0.1.58's ``runtime files`` commands see them (list, read, write, upload,
download), built on the file tools' own helpers: every path goes through ``Workspace.resolve`` and is opened
component by component without following a link (``ara.runtime.tools.paths``)."""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, ParamSpec, TypeVar

from ara.errors import NotFound, ToolFailed
from ara.runtime.tools.base import ToolContext
from ara.runtime.tools.files import decode_text, list_dir, read_bytes, write_bytes
from ara.runtime.tools.paths import open_file, refusal

MAX_READ_BYTES = 8 * 1024 * 1024  # larger files are downloaded, not read into JSON
P = ParamSpec("P")
R = TypeVar("R")


def _refusing(function: Callable[P, R]) -> Callable[P, R]:
    """An ``OSError`` on the way (a name too long, a file vanishing) is the caller's bad path, not a crash."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except OSError as exc:
            shown = args[1] if len(args) > 1 and isinstance(args[1], str) else "a path"
            raise refusal(exc, shown[:200]) from None

    return wrapper


def _existing(ctx: ToolContext, path: str) -> Path:
    host = ctx.workspace.resolve(path)
    if not host.exists():
        raise NotFound(f"{path}: no such file or directory in the session")
    return host


@_refusing
def list_files(ctx: ToolContext, path: str) -> dict[str, Any]:
    _existing(ctx, path)
    listed = list_dir(ctx, {"path": path})
    base = listed["path"].rstrip("/")
    entries = [{**entry, "path": f"{base}/{entry['name']}"} for entry in listed["entries"]]
    return {**listed, "entries": entries}


@_refusing
def read_text(ctx: ToolContext, path: str) -> dict[str, Any]:
    host = _existing(ctx, path)
    data, truncated = read_bytes(ctx, path, MAX_READ_BYTES)
    if truncated:
        raise ToolFailed(f"{path}: more than {MAX_READ_BYTES} bytes, too large to read: download it")
    return {"path": ctx.workspace.sandbox_path(host), "content": decode_text(path, data), "bytes": len(data)}


def _writable(ctx: ToolContext, path: str) -> str:
    if ctx.workspace.resolve(path).is_dir():
        raise ToolFailed(f"{path}: is a directory")
    return path


@_refusing
def write_files(ctx: ToolContext, writes: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Every path is checked before anything is written: one refused path writes nothing."""
    checked = [(_writable(ctx, path), content.encode("utf-8")) for path, content in writes]
    return [{"path": write_bytes(ctx, path, data), "bytes": len(data)} for path, data in checked]


@_refusing
def upload(ctx: ToolContext, path: str, filename: str, data: bytes) -> dict[str, Any]:
    """``path`` is the destination; a folder (or nothing: the workspace) keeps the uploaded file's name."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    if not path.strip() or path.endswith("/") or ctx.workspace.resolve(path).is_dir():
        if name in ("", ".", ".."):
            raise ToolFailed("the upload names no file: give a path")
        path = f"{path.rstrip('/')}/{name}" if path.strip() else name
    return {"path": write_bytes(ctx, _writable(ctx, path), data), "bytes": len(data)}


@_refusing
def download(ctx: ToolContext, path: str) -> Path:
    """The host path of a regular file in the session (checked without following a link)."""
    host = _existing(ctx, path)
    with open_file(ctx.workspace, host, path, os.O_RDONLY) as fd:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ToolFailed(f"{path}: not a regular file")
    return host
