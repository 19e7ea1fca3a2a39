"""Which parts of an action Ara's templates render, and how, so that a value never becomes code:

- ``exec``: the script through ``script_templates`` (values reach a shell as environment variables; another
  interpreter's script is left as written); ``env`` and ``artifacts`` as plain templates (they are data).
- ``ansible``: the playbook and the inventory are passed to Ansible verbatim (their ``{{ }}`` are Ansible's own,
  and an inventory line could carry connection commands); ``extraVars`` are rendered, then handed over as data.
- ``http``, ``sql``: every string, as plain templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ara.playbooks.script_templates import render_script
from ara.playbooks.spec import Action
from ara.playbooks.templating import render_tree

VERBATIM = {"ansible": ("playbook", "inventory")}


def render_action(action: Action, context: dict[str, Any], *, workdir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """(the action's spec rendered, as a dict; environment variables the action's process needs)."""
    field = f"actions.{action.name}"
    raw = getattr(action, action.kind).model_dump(mode="json")
    env: dict[str, str] = {}
    kept = {key: raw.pop(key) for key in VERBATIM.get(action.kind, ()) if key in raw}
    script = raw.pop("script", None) if action.kind == "exec" else None
    rendered = render_tree(raw, context, field=field)
    rendered.update(kept)
    if script is not None:
        rendered["script"], env = render_script(script, context, field=f"{field}.script", spill_dir=workdir / ".values")
    return rendered, env
