"""The builtin tools by name, as the model, ``POST /session/runtime/tools/execute`` and ``tools(kind=builtin)``
see them."""

from __future__ import annotations

from ara.errors import ToolFailed
from ara.runtime.tools.automations import AUTOMATION_TOOLS
from ara.runtime.tools.base import Tool
from ara.runtime.tools.exec import EXEC
from ara.runtime.tools.files import DELETE_FILE, EDIT_FILE, LIST_DIR, READ_FILE, WRITE_FILE
from ara.runtime.tools.search import GLOB, SEARCH_FILES
from ara.runtime.tools.web import WEB_FETCH, WEB_SEARCH

BUILTINS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        READ_FILE,
        WRITE_FILE,
        EDIT_FILE,
        LIST_DIR,
        EXEC,
        SEARCH_FILES,
        GLOB,
        DELETE_FILE,
        WEB_FETCH,
        WEB_SEARCH,
    )
} | AUTOMATION_TOOLS


def find_builtin(name: str) -> Tool:
    try:
        return BUILTINS[name]
    except (KeyError, TypeError):
        raise ToolFailed(f"unknown tool {name!r} (builtin tools: {', '.join(BUILTINS)})") from None
