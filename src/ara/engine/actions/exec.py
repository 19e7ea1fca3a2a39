"""``exec``: a script (bash, or whatever its shebang names) in a fresh working directory, in its own process
group so a timeout or a cancel kills everything it started."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from ara.engine.actions.base import ActionContext, Outcome, scrub

MAX_CAPTURE = 1 << 20  # bytes of stdout/stderr kept in the result; artifacts keep everything


def _env_pairs(env: Any) -> dict[str, str]:
    if isinstance(env, dict):
        return {str(k): str(v) for k, v in env.items()}
    return {str(item["name"]): str(item.get("value", "")) for item in env or [] if "name" in item}


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def run_exec(spec: Any, ctx: ActionContext) -> Outcome:
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    script = ctx.workdir / "script"
    script.write_text(spec.script)
    if spec.script.startswith("#!"):
        script.chmod(0o700)
        argv = [str(script)]
    else:
        argv = ["bash", str(script)]
    stdout_path, stderr_path = ctx.workdir / "stdout", ctx.workdir / "stderr"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ctx.workdir), "LANG": "C.UTF-8"}
    env.update(ctx.env)
    env.update(_env_pairs(spec.env))
    deadline = time.monotonic() + ctx.timeout
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            argv, cwd=ctx.workdir, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
        )
        timed_out = cancelled = False
        while proc.poll() is None:
            if time.monotonic() > deadline:
                timed_out = True
            elif ctx.cancelled():
                cancelled = True
            if timed_out or cancelled:
                _kill_group(proc)
                break
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
    stdout = scrub(stdout_path.read_bytes()[:MAX_CAPTURE].decode("utf-8", "replace"), ctx.secrets)
    stderr = scrub(stderr_path.read_bytes()[:MAX_CAPTURE].decode("utf-8", "replace"), ctx.secrets)
    # Artifacts are scrubbed copies too: the raw captures never leave the working directory.
    stdout_path.write_text(stdout)
    stderr_path.write_text(stderr)
    result = {"stdout": stdout, "stderr": stderr, "exitCode": proc.returncode}
    files = []
    for artifact in spec.artifacts:
        if artifact.path == "/dev/stdout":
            files.append((artifact.path, stdout_path))
        elif artifact.path == "/dev/stderr":
            files.append((artifact.path, stderr_path))
        else:
            pattern = artifact.path if os.path.isabs(artifact.path) else str(ctx.workdir / artifact.path)
            for match in sorted(glob.glob(pattern)):
                if Path(match).is_file():
                    shown = match if os.path.isabs(artifact.path) else os.path.relpath(match, ctx.workdir)
                    files.append((shown, Path(match)))
    if timed_out:
        return Outcome(False, result, f"timed out after {ctx.timeout:g}s", timed_out=True, files=files)
    if cancelled:
        return Outcome(False, result, "cancelled", cancelled=True, files=files)
    if proc.returncode != 0:
        return Outcome(False, result, f"exit code {proc.returncode}", files=files)
    return Outcome(True, result, files=files)
