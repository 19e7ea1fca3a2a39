"""Which parts of an action Ara's templates render, and how, so that a value never becomes code:

- ``exec``: the script through ``script_templates`` (values reach a shell as environment variables; another
  interpreter's script is left as written); ``env`` as plain templates (data); in an artifact's path each output
  must be one file name, taken literally (never ``..``, a ``/`` or a glob pattern: a path reads server files).
- ``ansible``: the playbook and the inventory are passed to Ansible verbatim (their ``{{ }}`` are Ansible's own,
  and an inventory line could carry connection commands); ``extraVars`` are rendered, then handed over as data.
- ``sql``: the query through ``sql_templates`` (values become bind parameters); the rest as plain templates.
- ``http``: every string, as plain templates (a URL, headers and a body are data).
- ``agent``: every string, as plain templates (the app, the agent, the message and the input are data the agent
  reads; its prompt function and tools run in the sandbox)."""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ara.errors import ValidationFailed
from ara.playbooks.script_templates import render_script
from ara.playbooks.spec import Action
from ara.playbooks.sql_templates import render_query
from ara.playbooks.templating import MARKER, has_template, render_marked, render_tree

VERBATIM = {"ansible": ("playbook", "inventory")}


@dataclass
class Rendered:
    spec: dict[str, Any]  # the action's spec, rendered
    env: dict[str, str] = field(default_factory=dict)  # for an exec script's references
    binds: dict[str, Any] = field(default_factory=dict)  # for a sql query's parameters


def render_action(action: Action, context: dict[str, Any], *, workdir: Path) -> Rendered:
    name = f"actions.{action.name}"
    raw = getattr(action, action.kind).model_dump(mode="json")
    kept = {key: raw.pop(key) for key in VERBATIM.get(action.kind, ()) if key in raw}
    script = raw.pop("script", None) if action.kind == "exec" else None
    artifacts = raw.pop("artifacts", []) if action.kind == "exec" else []
    query = raw.pop("query", None) if action.kind == "sql" else None
    rendered = Rendered(render_tree(raw, context, field=name))
    rendered.spec.update(kept)
    if script is not None:
        rendered.spec["script"], rendered.env = render_script(
            script, context, field=f"{name}.script", spill_dir=workdir / ".values"
        )
    if artifacts:
        rendered.spec["artifacts"] = [
            {**artifact, "path": render_path(artifact["path"], context, field=f"{name}.artifacts")}
            for artifact in artifacts
        ]
    if query is not None:
        rendered.spec["query"], rendered.binds = render_query(query, context, field=f"{name}.query")
    return rendered


def render_path(path: str, context: dict[str, Any], *, field: str) -> str:
    """``path`` with each template output as one literal file name (glob characters escaped)."""
    if not has_template(path):
        return path
    marked, values = render_marked(path, context, field=field)

    def file_name(found: Any) -> str:
        number = int(found[1])
        value = "" if values[number - 1] is None else str(values[number - 1])
        if "/" in value or value in (".", ".."):
            raise ValidationFailed({field: [f"template error: output {number} of a path must be one file name"]})
        return glob.escape(value)

    return MARKER.sub(file_name, marked)
