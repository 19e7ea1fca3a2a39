"""The skills a session holds: ``workspace/skills/*/SKILL.md`` (given) and ``workspace/self-skills/*/SKILL.md``
(written by the agent itself). A skill's name and description come from the file's YAML front matter, else from
its folder and first heading; a file whose path leads out of the session is left out."""

from __future__ import annotations

import re
from typing import Any

import yaml

from ara.errors import ToolFailed
from ara.runtime.workspace import SANDBOX_WORKSPACE, SKILL_DIRS, Workspace

MAX_SKILL_BYTES = 64 * 1024  # front matter and the first heading sit at the top
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    """The front matter (empty when missing or not a YAML mapping) and the text after it."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        data = None
    return (data if isinstance(data, dict) else {}), text[match.end() :]


def describe_skill(text: str, folder: str) -> tuple[str, str]:
    """(name, description) of one SKILL.md."""
    meta, body = _front_matter(text)
    heading = _HEADING.search(body)
    name = str(meta.get("name") or folder).strip()
    description = str(meta.get("description") or (heading.group(1) if heading else "")).strip()
    return name, description


def list_skills(workspace: Workspace) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for source in SKILL_DIRS:
        base = workspace.workspace_dir / source
        if not base.is_dir():
            continue
        for folder in sorted(base.iterdir(), key=lambda p: p.name):
            path = f"{SANDBOX_WORKSPACE}/{source}/{folder.name}/SKILL.md"
            try:
                host = workspace.resolve(path)
            except ToolFailed:
                continue
            if not host.is_file():
                continue
            with host.open("rb") as handle:
                text = handle.read(MAX_SKILL_BYTES).decode("utf-8", errors="replace")
            name, description = describe_skill(text, folder.name)
            found.append({"name": name, "description": description, "path": path, "source": source})
    return found
