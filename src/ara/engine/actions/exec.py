"""``exec``: a script (bash, or whatever its shebang names) in a fresh working directory.

The script's text is the playbook author's; values from templates reach it as environment variables (see
``ara.playbooks.script_templates``), so a parameter can never become code."""

from __future__ import annotations

import functools
import glob
import os
import shutil
from pathlib import Path
from typing import Any

from ara.engine.actions.base import ActionContext, Outcome, pairs
from ara.engine.actions.process import base_env, run_process


@functools.lru_cache(maxsize=8)
def _program(name: str, search_path: str) -> str:
    """``name`` found on ``search_path`` once, not by ``Popen`` at each spawn (a join and an encoding per directory
    of ``PATH``, a third of its Python work). Else (not found, or found through a relative directory, which the
    child resolves from its own working directory) the name itself, for ``Popen`` to look up."""
    found = shutil.which(name, path=search_path)
    return found if found is not None and os.path.isabs(found) else name


def run_exec(spec: Any, ctx: ActionContext) -> Outcome:
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    script = ctx.workdir / "script"
    script.write_text(spec.script)
    env = base_env(ctx)
    env.update(pairs(spec.env))
    if spec.script.startswith("#!"):
        script.chmod(0o700)
        argv = [str(script)]
    else:
        argv = [_program("bash", env.get("PATH", "")), str(script)]
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
