"""The runtime session's workspace on the web: a folder's entries and a text file's content, read through
``ara.runtime.files`` (the service of ``GET /session/files`` and ``/session/files/read``: every path confined to
the session, links never followed). Reads do not mark the session used."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, guess_lexer_for_filename
from pygments.util import ClassNotFound

from ara.runtime import files
from ara.runtime.tools.base import ToolContext
from ara.runtime.tools.context import context_for
from ara.runtime.workspace import SANDBOX_WORKSPACE
from ara.server.deps import StateDep, transaction
from ara.server.routes.runtime import readable_session
from ara.server.ui.guards import UserDep
from ara.server.ui.pages import render

router = APIRouter()
FilePath = Annotated[str, Query(max_length=4096)]
#: Larger files are shown as plain text (highlighting a few megabytes takes seconds).
HIGHLIGHT_MAX_BYTES = 256 * 1024


def highlighted(path: str, content: str) -> Markup:
    """The file as Pygments HTML (``static/pygments.css``), its lexer guessed from the name and content."""
    try:
        lexer = guess_lexer_for_filename(path, content[:4096], stripnl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    if len(content) > HIGHLIGHT_MAX_BYTES:
        lexer = TextLexer(stripnl=False)
    return Markup(highlight(content, lexer, HtmlFormatter(cssclass="highlight")))  # noqa: S704 - Pygments escapes


def _context(request: Request, state: StateDep) -> ToolContext:
    with transaction(request, state) as (session, identity):
        return context_for(state.settings, readable_session(session, identity, ""))


def crumbs(path: str) -> list[dict[str, str]]:
    """Each folder above ``path`` with its link target (from ``/root/.ara``)."""
    parts = PurePosixPath(path).parts
    return [{"name": part, "path": str(PurePosixPath(*parts[: i + 1]))} for i, part in enumerate(parts) if i >= 2]


@router.get("/ui/chat/files", response_class=HTMLResponse)
def folder_page(
    request: Request, state: StateDep, user: UserDep, path: FilePath = str(SANDBOX_WORKSPACE)
) -> HTMLResponse:
    listed: dict[str, Any] = files.list_files(_context(request, state), path)
    context = {"section": "chat", "listed": listed, "crumbs": crumbs(listed["path"])}
    return render(request, "chat/files.html", context)


@router.get("/ui/chat/files/view", response_class=HTMLResponse)
def file_page(request: Request, state: StateDep, user: UserDep, path: FilePath) -> HTMLResponse:
    read: dict[str, Any] = files.read_text(_context(request, state), path)
    parent = str(PurePosixPath(read["path"]).parent)
    context = {
        "section": "chat",
        "file": read,
        "code": highlighted(read["path"], read["content"]),
        "parent": parent,
        "crumbs": crumbs(read["path"]),
    }
    return render(request, "chat/file.html", context)
