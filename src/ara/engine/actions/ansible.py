"""``ansible``: ``ansible-playbook`` with our callback writing into the same database, so the playbook's plays,
tasks and results are recorded; the engine then nests them under the run's records playbook.

The command is an argv list. Extra vars go in a JSON file (``-e @vars.json``) in a private temporary directory,
each string marked unsafe so Ansible never templates a value; the run's secrets go beside it for the callback to
redact from what it records. Both files are removed when ``ansible-playbook`` ends."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from ara.engine.actions.base import ActionContext, Outcome
from ara.engine.actions.process import base_env, run_process
from ara.redaction import REDACT_FILE_ENV

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def _materialize(text: str, workdir: Path, name: str) -> str:
    """A path stays a path; inline YAML (or an inline inventory) is written to the working directory."""
    if "\n" not in text and (os.path.exists(text) or text.endswith(",")):
        return text
    target = workdir / name
    target.write_text(text)
    return str(target)


def unsafe(value: Any) -> Any:
    """Every string wrapped as Ansible's JSON form of ``!unsafe``: it arrives intact and is never templated, so a
    value such as ``{{ lookup('pipe', ...) }}`` stays text."""
    if isinstance(value, str):
        return {"__ansible_unsafe": value}
    if isinstance(value, list | tuple):
        return [unsafe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): unsafe(item) for key, item in value.items()}
    return value


def _write_private(directory: Path, name: str, data: Any) -> Path:
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)
    return path


def ansible_playbook() -> str:
    return shutil.which("ansible-playbook") or str(Path(sys.executable).with_name("ansible-playbook"))


def run_ansible(spec: Any, ctx: ActionContext) -> Outcome:
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    playbook = _materialize(spec.playbook, ctx.workdir, "playbook.yml")
    inventory = _materialize(spec.inventory, ctx.workdir, "inventory.ini")
    settings = ctx.settings
    private = Path(tempfile.mkdtemp(prefix="ara-ansible-"))  # mode 0700, outside the (artifact) working directory
    try:
        # The run's parameters arrive as ``params`` (as in Ara's own templates); the spec's extraVars beside them.
        extra_vars = _write_private(private, "vars.json", unsafe({"params": ctx.params, **spec.extraVars}))
        redact = _write_private(private, "redact.json", [s for s in ctx.secrets if s])
        env = base_env(ctx)
        env.update(
            {
                "ANSIBLE_CALLBACK_PLUGINS": str(PLUGINS / "callback"),
                "ANSIBLE_ACTION_PLUGINS": str(PLUGINS / "action"),
                "ANSIBLE_LOOKUP_PLUGINS": str(PLUGINS / "lookup"),
                "ANSIBLE_CALLBACKS_ENABLED": "ara_default",
                "ANSIBLE_LOCAL_TEMP": str(ctx.workdir / ".ansible-local"),
                "ANSIBLE_REMOTE_TEMP": str(ctx.workdir / ".ansible-remote"),
                "ANSIBLE_HOST_KEY_CHECKING": "False",
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
                "ARA_API_CLIENT": "offline",
                "ARA_BASE_DIR": str(settings.base_dir),
                "ARA_DATABASE__URL": settings.database_url,
                "ARA_DEFAULT_LABELS": f"playbook-run-action:{ctx.action_id}",
                REDACT_FILE_ENV: str(redact),
                "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            }
        )
        argv = [ansible_playbook(), f"--inventory={inventory}", f"--extra-vars=@{extra_vars}", "--", playbook]
        finished = run_process(argv, ctx, env)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    outcome = finished.outcome(ctx, [])
    outcome.result["playbook"] = playbook
    return outcome
