"""The system prompt's memory: the files' text, capped; today's daily note only; and nothing the agent linked in
from outside its session (the server reads these files with its own rights)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ara.runtime.agent.prompt import MEMORY_CAP_CHARS, system_prompt
from ara.runtime.tools.builtin import BUILTINS
from ara.runtime.workspace import Workspace

TODAY = dt.date(2026, 12, 1)


def _workspace(tmp_path: Path, name: str = "sess-a") -> Workspace:
    workspace = Workspace(tmp_path / name)
    workspace.create()
    return workspace


def test_memory_files_and_todays_note_are_in_the_prompt_capped(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    (workspace.memory_dir / "USER.md").write_text("Name: Ada\n")
    (workspace.memory_dir / "MEMORY.md").write_text("x" * (MEMORY_CAP_CHARS + 500) + "THE-END")
    (workspace.memory_dir / "2026-12-01.md").write_text("Standup at 10:30\n")
    (workspace.memory_dir / "2026-11-30.md").write_text("Yesterday's note\n")
    prompt = system_prompt(workspace, BUILTINS.values(), TODAY)
    assert "<memory path=/root/.ara/memory/USER.md>\nName: Ada\n</memory>" in prompt
    assert "Standup at 10:30" in prompt and "Yesterday's note" not in prompt
    assert "x" * MEMORY_CAP_CHARS in prompt and "THE-END" not in prompt and "truncated" in prompt
    assert "- write_file: " in prompt and "/root/.ara/workspace" in prompt
    assert "Memory: empty so far." not in prompt
    assert "Memory: empty so far." in system_prompt(_workspace(tmp_path, "sess-b"), [], TODAY)


def test_links_out_of_the_session_are_not_read(tmp_path: Path) -> None:
    victim = _workspace(tmp_path, "sess-victim")
    (victim.memory_dir / "USER.md").write_text("victim's secret\n")
    outside = tmp_path / "host-file"
    outside.write_text("host secret\n")
    workspace = _workspace(tmp_path, "sess-agent")
    (workspace.memory_dir / "USER.md").unlink()
    (workspace.memory_dir / "USER.md").symlink_to(outside)
    (workspace.memory_dir / "MEMORY.md").unlink()
    (workspace.memory_dir / "MEMORY.md").symlink_to(victim.memory_dir / "USER.md")
    assert "secret" not in system_prompt(workspace, [], TODAY)

    (workspace.memory_dir / "USER.md").unlink()
    (workspace.memory_dir / "MEMORY.md").unlink()
    workspace.memory_dir.rmdir()
    workspace.memory_dir.symlink_to(victim.memory_dir)  # the whole directory swapped for another session's
    assert "secret" not in system_prompt(workspace, [], TODAY)
