"""The plain-dict builders an app file composes: ``runtime(...)`` (the sandbox's model, env, secrets, files
and startup command), ``sandbox(...)`` (which workspace a run uses), ``file``/``local_file``/``entrypoint``
and the artifact sources. Each returns exactly the dict 0.1.46 returns, so a manifest is the same JSON
whichever SDK built it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ara_sdk.secrets import SECRET_DEFINITIONS_KEY, runtime_secrets
from ara_sdk.validation import DeclarationError, env_key, stripped

SANDBOX_POLICIES = frozenset({"shared", "dedicated", "ephemeral", "inherited"})
DEFAULT_MAX_CONCURRENCY = 8
# (default, hard limit) of each spawn knob: children are sandboxes too, so they are bounded at declaration.
SPAWN_DEPTH = (1, 5)
SPAWN_CHILDREN_PER_PARENT = (6, 24)
SPAWN_TOTAL_CHILDREN_PER_RUN = (24, 80)
SPAWN_EPHEMERAL_TTL_MINUTES = (10, 240)


def file(path: str, content: str, *, executable: bool = False) -> dict[str, Any]:
    """A file written into the sandbox workspace once, before the first run."""
    target = str(path or "").strip()
    if not target:
        raise DeclarationError("file() requires a non-empty path")
    return {"path": target, "content": str(content or ""), "executable": bool(executable)}


def local_file(
    source: str | Path, path: str | None = None, *, executable: bool = True, encoding: str = "utf-8"
) -> dict[str, Any]:
    """A file of the author's machine, read now (at declaration) and shipped in the manifest."""
    src = Path(source)
    if not src.is_file():
        raise DeclarationError(f"local_file() source not found: {src}")
    target = str(path or src.name).strip()
    if not target:
        raise DeclarationError("local_file() requires a non-empty target path")
    return file(target, src.read_text(encoding=encoding), executable=executable)


def entrypoint(command: str, *, shell: str = "bash", args: list[str] | None = None) -> dict[str, Any]:
    """The sandbox's startup command (``runtime(startup=...)``), run once per sandbox."""
    cmd = str(command or "").strip()
    if not cmd:
        raise DeclarationError("entrypoint() requires a non-empty command")
    return {"entrypoint": cmd, "shell": str(shell or "bash").strip() or "bash", "args": stripped(args)}


def runtime(
    *,
    files: list[dict[str, Any]] | None = None,
    startup: dict[str, Any] | None = None,
    image: str | None = None,
    model: str | None = None,
    memory_mb: int | None = None,
    volume_size_mb: int | None = None,
    python_packages: list[str] | None = None,
    node_packages: list[str] | None = None,
    env: dict[str, Any] | None = None,
    secrets: list[Any] | None = None,
) -> dict[str, Any]:
    """The runtime profile (app-wide in ``App(runtime_profile=...)``, or per agent); only what is given."""
    profile: dict[str, Any] = {}
    if files:
        profile["files"] = [dict(item) for item in files]
    if startup:
        profile["startup"] = dict(startup)
    if image:
        profile["image"] = str(image).strip()
    if str(model or "").strip():
        profile["model"] = str(model).strip()
    if memory_mb is not None:
        profile["memory_mb"] = int(memory_mb)
    if volume_size_mb is not None:
        profile["volume_size_mb"] = int(volume_size_mb)
    if python_packages:
        profile["python_packages"] = stripped(python_packages)
    if node_packages:
        profile["node_packages"] = stripped(node_packages)
    if env is not None:
        profile["env"] = _env(env)
    if secrets is not None:
        refs, definitions = runtime_secrets(secrets)
        profile["secret_refs"] = refs
        if definitions:
            profile[SECRET_DEFINITIONS_KEY] = definitions
    return profile


def sandbox(
    *,
    policy: str = "shared",
    max_concurrency: int | None = None,
    idle_ttl_minutes: int | None = None,
    key: str | None = None,
    allow_spawn: bool | None = None,
    spawn_to: list[str] | None = None,
    max_spawn_depth: int | None = None,
    max_children_per_parent: int | None = None,
    max_total_child_sessions_per_run: int | None = None,
    ephemeral_ttl_minutes: int | None = None,
    child_policy: str | None = None,
    child_runtime: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Which workspace an agent's runs use (``shared`` by all agents of the app, ``dedicated`` to this agent,
    ``ephemeral`` per run, ``inherited`` from the caller) and whether it may spawn child sessions."""
    chosen = _policy(policy, "policy")
    out: dict[str, Any] = {"policy": chosen}
    if str(key or "").strip():
        out["key"] = str(key).strip()
    out["max_concurrency"] = max(1, int(max_concurrency or DEFAULT_MAX_CONCURRENCY))
    if idle_ttl_minutes is not None:
        out["idle_ttl_minutes"] = max(1, int(idle_ttl_minutes))
    child = _policy(child_policy, "child_policy") if child_policy is not None else None
    depth = SPAWN_DEPTH[0] if max_spawn_depth is None else max(0, int(max_spawn_depth))
    if spawn_to is not None and not isinstance(spawn_to, list):
        raise DeclarationError("sandbox(spawn_to=...) expects a list[str]")
    targets = stripped(spawn_to)
    if allow_spawn is not False and (allow_spawn or targets):
        spawn: dict[str, Any] = {"allow": True, "to": targets}
        spawn["max_depth"] = _bounded(depth, SPAWN_DEPTH[1], "max_spawn_depth")
        spawn["max_children_per_parent"] = _limit(
            max_children_per_parent, SPAWN_CHILDREN_PER_PARENT, "max_children_per_parent"
        )
        spawn["max_total_child_sessions_per_run"] = _limit(
            max_total_child_sessions_per_run, SPAWN_TOTAL_CHILDREN_PER_RUN, "max_total_child_sessions_per_run"
        )
        spawn["ephemeral_ttl_minutes"] = _limit(
            ephemeral_ttl_minutes, SPAWN_EPHEMERAL_TTL_MINUTES, "ephemeral_ttl_minutes"
        )
        if child is not None:
            spawn["child_policy"] = child
        if child_runtime is not None:
            spawn["child_runtime"] = {k: v for k, v in child_runtime.items() if k != SECRET_DEFINITIONS_KEY}
        out["spawn"] = spawn
    return out


def git_artifact(repo_url: str, *, ref: str = "main", subdir: str = "") -> dict[str, Any]:
    """Code an adapter fetches from a git repository."""
    url = str(repo_url or "").strip()
    if not url:
        raise DeclarationError("git_artifact() requires a non-empty repo_url")
    return {
        "type": "git",
        "repo_url": url,
        "ref": str(ref or "main").strip() or "main",
        "subdir": str(subdir or "").strip(),
    }


def tarball_artifact(url: str, *, strip_prefix: str = "") -> dict[str, Any]:
    """Code an adapter fetches as a tarball."""
    source = str(url or "").strip()
    if not source:
        raise DeclarationError("tarball_artifact() requires a non-empty url")
    return {"type": "tarball", "url": source, "strip_prefix": str(strip_prefix or "").strip()}


def _env(raw: dict[str, Any]) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise DeclarationError("runtime(env=...) expects dict[str, str]")
    return {env_key(key): "" if value is None else str(value) for key, value in raw.items()}


def _policy(value: Any, argument: str) -> str:
    chosen = str(value or ("shared" if argument == "policy" else "")).strip().lower()
    if chosen not in SANDBOX_POLICIES:
        raise DeclarationError(f"sandbox({argument}=...) must be one of: {', '.join(sorted(SANDBOX_POLICIES))}")
    return chosen


def _limit(given: int | None, bounds: tuple[int, int], argument: str) -> int:
    return _bounded(max(1, int(given or bounds[0])), bounds[1], argument)


def _bounded(value: int, hard: int, argument: str) -> int:
    if value > hard:
        raise DeclarationError(f"sandbox({argument}=...) exceeds hard limit {hard}")
    return value
