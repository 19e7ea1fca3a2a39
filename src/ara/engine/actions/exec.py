"""``exec``: a script (bash, or whatever its shebang names) in a fresh working directory.

The script's text is the playbook author's; values from templates reach it as environment variables (see
``ara.playbooks.script_templates``), so a parameter can never become code."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from ara.engine.actions.base import ActionContext, Outcome, pairs
from ara.engine.actions.process import base_env, run_process


def run_exec(spec: Any, ctx: ActionContext) -> Outcome:
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    script = ctx.workdir / "script"
    script.write_text(spec.script)
    if spec.script.startswith("#!"):
        script.chmod(0o700)
        argv = [str(script)]
    else:
        argv = ["bash", str(script)]
    env = base_env(ctx)
    env.update(pairs(spec.env))
    finished = run_process(argv, ctx, env)
    files = []
    for artifact in spec.artifacts:
        if artifact.path == "/dev/stdout":
            files.append((artifact.path, finished.stdout_path))
        elif artifact.path == "/dev/stderr":
            files.append((artifact.path, finished.stderr_path))
        else:
            pattern = artifact.path if os.path.isabs(artifact.path) else str(ctx.workdir / artifact.path)
            for match in sorted(glob.glob(pattern)):
                if Path(match).is_file():
                    shown = match if os.path.isabs(artifact.path) else os.path.relpath(match, ctx.workdir)
                    files.append((shown, Path(match)))
    return finished.outcome(ctx, files)
