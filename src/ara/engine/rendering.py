"""Which parts of an action Ara's templates render, and how, so that a value never becomes code:

- ``exec``: the script through ``script_templates`` (values reach a shell as environment variables; another
  interpreter's script is left as written); ``env`` and ``artifacts`` as plain templates (they are data).
- ``ansible``: the playbook and the inventory are passed to Ansible verbatim (their ``{{ }}`` are Ansible's own,
  and an inventory line could carry connection commands); ``extraVars`` are rendered, then handed over as data.
- ``sql``: the query through ``sql_templates`` (values become bind parameters); the rest as plain templates.
- ``http``: every string, as plain templates (a URL, headers and a body are data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ara.playbooks.script_templates import render_script
from ara.playbooks.spec import Action
from ara.playbooks.sql_templates import render_query
from ara.playbooks.templating import render_tree

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
    query = raw.pop("query", None) if action.kind == "sql" else None
    rendered = Rendered(render_tree(raw, context, field=name))
    rendered.spec.update(kept)
    if script is not None:
        rendered.spec["script"], rendered.env = render_script(
            script, context, field=f"{name}.script", spill_dir=workdir / ".values"
        )
    if query is not None:
        rendered.spec["query"], rendered.binds = render_query(query, context, field=f"{name}.query")
    return rendered
