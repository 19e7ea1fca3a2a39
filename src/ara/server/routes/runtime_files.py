"""``ara-sdk`` 0.1.58's session terminal and files: ``POST /session/terminal/exec``, ``GET /session/files``,
``GET /session/files/read``, ``POST /session/files/write``, ``POST /session/files/upload`` (multipart ``path`` and
``file``), ``GET /session/files/download``. Paths are confined as the file tools' are (``Workspace.resolve``); the
client sends absolute ``/root/.ara/workspace/...`` paths, a relative one lives in ``workspace/`` too.

A terminal command runs through the ``exec`` tool and is recorded as an ``exec`` call; file transfers are not
tool calls and are not recorded."""

from __future__ import annotations

import email.parser
import email.policy
import shlex
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from ara.errors import ToolFailed, ValidationFailed
from ara.runtime import files
from ara.runtime.schemas import (
    SessionFileRead,
    SessionFilesList,
    SessionFilesWrite,
    SessionFilesWritten,
    SessionFileUploaded,
    TerminalExec,
    TerminalResult,
)
from ara.runtime.tools.base import ToolContext, execute
from ara.runtime.tools.context import context_for
from ara.runtime.tools.exec import EXEC
from ara.runtime.workspace import SANDBOX_WORKSPACE
from ara.server.deps import OwnRoute, StateDep, transaction
from ara.server.openapi import request_body
from ara.server.routes.bodies import json_body, validated
from ara.server.routes.runtime import open_tool_context, readable_session, record, touch

router = APIRouter(tags=["runtime"], route_class=OwnRoute)
PathQuery = Query(default=str(SANDBOX_WORKSPACE), max_length=4096)
RequiredPath = Query(max_length=4096)
SHELL = "/bin/sh"
_UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {"path": {"type": "string"}, "file": {"type": "string", "format": "binary"}},
}


@router.post("/session/terminal/exec", response_model=TerminalResult, openapi_extra=request_body(TerminalExec))
async def terminal_exec(request: Request, state: StateDep) -> dict[str, Any]:
    """``ara runtime session exec --command ...``: the ``exec`` tool runs ``sh -c <command>`` in the sandbox (the
    shell runs inside the session, never on the server), for at most ``timeout_seconds`` or the server's limit."""
    given = validated(TerminalExec, await json_body(request, default={}))

    def work() -> dict[str, Any]:
        runtime_session, ctx = open_tool_context(request, state, None)
        args = {"command": shlex.join([SHELL, "-c", given.command]), "timeout": given.timeout_seconds}
        outcome = execute(EXEC, ctx, args)
        record(state, runtime_session, outcome, ctx)
        if not outcome.ok:  # the command could not start (the sandbox refused it)
            raise ToolFailed(outcome.error)
        done = outcome.output
        return {
            "ok": done["exit_code"] == 0 and not done["timed_out"],
            "session_id": runtime_session.id,
            "command": given.command,
            **done,
            "duration_ms": round(outcome.duration_seconds * 1000, 3),
        }

    return await run_in_threadpool(work)


def _context(request: Request, state: StateDep) -> ToolContext:
    """For reads: the caller's running session, not marked used."""
    with transaction(request, state) as (session, identity):
        return context_for(state.settings, readable_session(session, identity, ""))


@router.get("/session/files", response_model=SessionFilesList)
def list_files(request: Request, state: StateDep, path: str = PathQuery) -> dict[str, Any]:
    return {"ok": True, **files.list_files(_context(request, state), path)}


@router.get("/session/files/read", response_model=SessionFileRead)
def read_file(request: Request, state: StateDep, path: str = RequiredPath) -> dict[str, Any]:
    return {"ok": True, **files.read_text(_context(request, state), path)}


_BINARY = {200: {"content": {"application/octet-stream": {}}, "description": "The file's bytes."}}


@router.get("/session/files/download", response_class=FileResponse, responses=_BINARY)
def download(request: Request, state: StateDep, path: str = RequiredPath) -> FileResponse:
    host = files.download(_context(request, state), path)
    disposition = f"attachment; filename=\"{_header_safe(host.name)}\"; filename*=UTF-8''{quote(host.name)}"
    return FileResponse(host, media_type="application/octet-stream", headers={"Content-Disposition": disposition})


def _header_safe(name: str) -> str:
    """The plain ``filename=`` keeps printable ASCII only (``filename*`` carries the exact name)."""
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name) or "download.bin"


@router.post("/session/files/write", response_model=SessionFilesWritten, openapi_extra=request_body(SessionFilesWrite))
async def write_files(request: Request, state: StateDep) -> dict[str, Any]:
    """Every path is checked before any is written; the session is marked used."""
    given = validated(SessionFilesWrite, await json_body(request, default={}))

    def work() -> dict[str, Any]:
        runtime_session, ctx = open_tool_context(request, state, None)
        written = files.write_files(ctx, [(item.path, item.content) for item in given.writes])
        touch(state, runtime_session)
        return {"ok": True, "written": written}

    return await run_in_threadpool(work)


def _form(content_type: str, raw: bytes) -> dict[str, tuple[str, bytes]]:
    """multipart/form-data fields: name -> (filename, bytes), parsed by the standard library's MIME parser."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise ValidationFailed({"body": ["send multipart/form-data with the fields path and file"]})
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", errors="replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        raise ValidationFailed({"body": ["not a multipart body"]})
    fields: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and name not in fields:
            payload = part.get_payload(decode=True)
            fields[name] = (part.get_filename() or "", payload if isinstance(payload, bytes) else b"")
    return fields


@router.post(
    "/session/files/upload",
    response_model=SessionFileUploaded,
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _UPLOAD_SCHEMA}}}},
)
async def upload(request: Request, state: StateDep) -> dict[str, Any]:
    """One file; ``path`` names the destination (a folder, or nothing, keeps the uploaded file's name)."""
    raw = await request.body()

    def work() -> dict[str, Any]:
        fields = _form(request.headers.get("content-type", ""), raw)  # parsing a large body takes a while: here
        if "file" not in fields:
            raise ValidationFailed({"file": ["This field is required."]})
        try:
            path = fields.get("path", ("", b""))[1].decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed({"path": ["not UTF-8 text"]}) from None
        filename, data = fields["file"]
        runtime_session, ctx = open_tool_context(request, state, None)
        uploaded = files.upload(ctx, path, filename, data)
        touch(state, runtime_session)
        return {"ok": True, **uploaded}

    return await run_in_threadpool(work)
