"""``ansible``: ``ansible-playbook`` with our callback writing into the same database, so the playbook's plays,
tasks and results are recorded; the engine then nests them under the run's records playbook."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ara.engine.actions.base import ActionContext, Outcome
from ara.engine.actions.exec import run_exec

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def _materialize(text: str, workdir: Path, name: str) -> str:
    """A path stays a path; inline YAML (or an inline inventory) is written to the working directory."""
    if "\n" not in text and (os.path.exists(text) or text.endswith(",")):
        return text
    target = workdir / name
    target.write_text(text)
    return str(target)


def run_ansible(spec: Any, ctx: ActionContext) -> Outcome:
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    playbook = _materialize(spec.playbook, ctx.workdir, "playbook.yml")
    inventory = _materialize(spec.inventory, ctx.workdir, "inventory.ini")
    binary = shutil.which("ansible-playbook") or str(Path(sys.executable).with_name("ansible-playbook"))
    settings = ctx.settings
    env = {
        **ctx.env,
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
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    extra = " ".join(f"-e {k}={v}" for k, v in spec.extraVars.items()) if spec.extraVars else ""
    script = f"exec {binary} -i '{inventory}' '{playbook}' {extra}\n"
    outcome = run_exec(
        SimpleNamespace(script=script, env={}, artifacts=[]), ActionContext(**{**ctx.__dict__, "env": env})
    )
    outcome.result["playbook"] = playbook
    return outcome
