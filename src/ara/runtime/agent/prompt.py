"""The system prompt of a chat turn: who the agent is, its tools, the session's layout, and its memory files
(``memory/MEMORY.md``, ``memory/USER.md`` and today's daily note), read fresh each turn so what the agent wrote
last turn is what it knows now. Each file is capped, so a runaway memory cannot crowd out the conversation."""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Iterable

from ara.errors import ToolFailed
from ara.runtime.tools.base import Tool
from ara.runtime.tools.paths import open_dir
from ara.runtime.workspace import SANDBOX_ROOT, SANDBOX_WORKSPACE, Workspace

MEMORY_CAP_CHARS = 8_000
TRUNCATED = "\n[… truncated: read the file for the rest]"

IDENTITY = """You are Ara, an agent working in the user's own sandboxed session on their server.
You act through tools: read and write files, run commands, search. Prefer doing over describing: when the user
asks for a file or a result, use the tools, then answer briefly with what you did.

Session layout (as your tools see it):
- {workspace}: your working directory; relative paths resolve here.
- {workspace}/skills/*/SKILL.md and {workspace}/self-skills/*/SKILL.md: skills (read one before using it).
- {root}/memory/MEMORY.md: your long-term notes; {root}/memory/USER.md: facts about the user;
  {root}/memory/YYYY-MM-DD.md: a daily note.

Memory: when the user tells you something about themselves (their name, preferences, how they work), keep it
in {root}/memory/USER.md with edit_file or write_file (keep what is already there). Keep lasting notes about
the work in MEMORY.md. These files are shown to you below at the start of every turn."""


def _read_capped(directory: int, name: str, cap: int) -> str:
    """The text of ``name`` in the open ``directory``, up to ``cap`` characters; "" when it is missing, a link or
    not a regular file (a FIFO would block)."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
    except OSError:
        return ""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        data = os.read(fd, 4 * (cap + 1))
    finally:
        os.close(fd)
    content = data.decode("utf-8", errors="replace")
    return content[:cap] + TRUNCATED if len(content) > cap else content


def memory_sections(workspace: Workspace, today: dt.date, cap: int = MEMORY_CAP_CHARS) -> list[tuple[str, str]]:
    """(sandbox path, content) of each memory file that holds something.

    The agent can make ``memory/`` or a file in it a link (to another session, to the host), and the server reads
    these files with its own rights: the directory is opened the way the file tools open theirs (no link
    followed on the way from the session root), and each file without following a link."""
    shown = f"{SANDBOX_ROOT}/memory"
    try:
        with open_dir(workspace, workspace.root.resolve() / "memory", shown) as directory:
            found = []
            for name in ("MEMORY.md", "USER.md", f"{today.isoformat()}.md"):
                content = _read_capped(directory, name, cap).strip()
                if content:
                    found.append((f"{shown}/{name}", content))
            return found
    except (ToolFailed, OSError):
        return []


def system_prompt(workspace: Workspace, tools: Iterable[Tool], today: dt.date | None = None) -> str:
    parts = [IDENTITY.format(workspace=SANDBOX_WORKSPACE, root=SANDBOX_ROOT)]
    names = [f"- {tool.name}: {tool.description.splitlines()[0] if tool.description else ''}" for tool in tools]
    if names:
        parts.append("Tools:\n" + "\n".join(names))
    memory = memory_sections(workspace, today or dt.date.today())
    for path, content in memory:
        parts.append(f"<memory path={path}>\n{content}\n</memory>")
    if not memory:
        parts.append("Memory: empty so far.")
    return "\n\n".join(parts)
