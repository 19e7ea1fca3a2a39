"""``AraRuntimeClient``: a user's session on an Ara server (start/status/stop, tools, skills, control, chat).

Same constructor, ``from_env``, method signatures and results as ara-sdk 0.1.46's client (plus 0.1.58's session
exec, files and heartbeat), so a script written for either runs unchanged; failures raise ``ara_sdk.errors``
exceptions that carry the status and the server's message instead of ara-sdk's hidden bodies.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

from ara_sdk import config
from ara_sdk.chat_stream import read_chat
from ara_sdk.errors import CredentialsError
from ara_sdk.http import Http, query_path

START_TIMEOUT = 120.0  # starting a session may create its workspace; ara-sdk waits as long
WORKSPACE = "/root/.ara/workspace"  # where 0.1.58 puts relative file paths, client-side


class AraRuntimeClient:
    """User-scoped runtime client (session and runtime tooling)."""

    def __init__(self, *, api_base_url: str, api_key: str, cwd: Path) -> None:
        self.cwd = cwd
        self.http = Http(api_base_url, api_key)

    @classmethod
    def from_env(cls, *, cwd: str | None = None) -> AraRuntimeClient:
        """Server and key from the environment (``.env``, then 0.1.58's ``.env.local``, in ``cwd`` fill unset
        variables), else from ``~/.ara/credentials.json``; the server defaults to the local ``ara server``."""
        base = Path(cwd or os.getcwd())
        for name in (".env", ".env.local"):
            config.read_dotenv(base / name)
        api_key = config.resolve_user_key()
        if not api_key:
            raise CredentialsError("No credentials found. Set ARA_API_KEY or run `ara auth login`.")
        return cls(api_base_url=config.resolve_api_base_url(), api_key=api_key, cwd=base)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> AraRuntimeClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- session ------------------------------------------------------------------------------------------
    def session_start(self) -> dict[str, Any]:
        return self.http.request("POST", "/session/start", body={}, timeout=START_TIMEOUT)

    def session_status(self) -> dict[str, Any]:
        return self.http.request("GET", "/session/status")

    def session_stop(self) -> dict[str, Any]:
        result = self.http.request("POST", "/session/stop", body={})
        if result is None:
            return {"ok": True}
        return result if isinstance(result, dict) else {"ok": True, "result": result}

    def session_heartbeat(self) -> dict[str, Any]:
        result = self.http.request("POST", "/session/heartbeat", body={})
        if result is None:
            return {"ok": False, "reason": "empty_response"}
        return result if isinstance(result, dict) else {"ok": bool(result), "result": result}

    def session_exec(self, *, command: str, timeout_seconds: int = 90) -> dict[str, Any]:
        """Runs a shell command line in the session's terminal (0.1.58: clamped to 5..600 s)."""
        text = str(command or "").strip()
        if not text:
            raise ValueError("session exec requires a non-empty command")
        seconds = max(5, min(int(timeout_seconds or 90), 600))
        body = {"command": text, "timeout_seconds": seconds}
        return self.http.request("POST", "/session/terminal/exec", body=body, timeout=seconds + 30)

    # -- files (0.1.58) -------------------------------------------------------------------------------------
    @staticmethod
    def _workspace_path(path: str, *, default_root: bool = False) -> str:
        value = str(path or "").strip()
        if not value:
            if default_root:
                return WORKSPACE
            raise ValueError("path is required")
        return value if value.startswith("/") else f"{WORKSPACE}/{value.lstrip('/')}"

    def session_files_list(self, *, path: str = "") -> dict[str, Any]:
        target = self._workspace_path(path, default_root=True)
        return self.http.request("GET", query_path("/session/files", {"path": target}))

    def session_file_read(self, *, path: str) -> dict[str, Any]:
        target = self._workspace_path(path)
        return self.http.request("GET", query_path("/session/files/read", {"path": target}))

    def session_file_write(self, *, path: str, content: str) -> dict[str, Any]:
        body = {"writes": [{"path": self._workspace_path(path), "content": str(content)}], "restart": False}
        return self.http.request("POST", "/session/files/write", body=body)

    def session_file_upload(self, *, local_path: str, remote_path: str = "") -> dict[str, Any]:
        """Sends a local file; without ``remote_path`` the server puts it in the workspace under its name."""
        local = Path(local_path).expanduser()
        if not local.is_file():
            raise ValueError(f"upload source file not found: {local}")
        remote = self._workspace_path(remote_path) if str(remote_path or "").strip() else ""
        file = (local.name or "upload.bin", local.read_bytes())
        result = self.http.upload("/session/files/upload", fields={"path": remote}, file=file)
        return result if isinstance(result, dict) else {"ok": True}

    def session_file_download(self, *, path: str) -> tuple[bytes, str, str]:
        """``(content, file name, absolute sandbox path)``; the name comes from ``Content-Disposition``, reduced to
        a bare file name (a server cannot make the caller write outside the folder it chose)."""
        target = self._workspace_path(path)
        response = self.http.download(query_path("/session/files/download", {"path": target}))
        match = re.search(r'filename="([^"]+)"', response.headers.get("content-disposition", ""))
        name = PurePosixPath((match.group(1) if match else "").replace("\\", "/")).name
        if name in ("", ".", ".."):
            name = PurePosixPath(target).name or "download.bin"
        return response.content, name, target

    # -- runtime ------------------------------------------------------------------------------------------
    def capabilities(self, *, session_id: str, agent_id: str = "") -> dict[str, Any]:
        path = query_path("/session/runtime/capabilities", {"session_id": session_id, "agent_id": agent_id})
        return self.http.request("GET", path)

    def skills(self, *, session_id: str) -> dict[str, Any]:
        return self.http.request("GET", query_path("/session/runtime/skills", {"session_id": session_id}))

    def tools(self, *, session_id: str, kind: str = "all", agent_id: str = "") -> dict[str, Any]:
        params = {"session_id": session_id, "kind": kind, "agent_id": agent_id}
        return self.http.request("GET", query_path("/session/runtime/tools", params))

    def execute_tool(
        self, *, session_id: str, tool_name: str, args: dict[str, Any], agent_id: str = ""
    ) -> dict[str, Any]:
        body = {"session_id": session_id, "tool_name": tool_name, "args": args, "agent_id": agent_id or None}
        return self.http.request("POST", "/session/runtime/tools/execute", body=body)

    def control_actions(self, *, session_id: str) -> dict[str, Any]:
        path = query_path("/session/runtime/control/actions", {"session_id": session_id})
        return self.http.request("GET", path)

    def control_call(
        self, *, session_id: str, action: str, args: dict[str, Any], timeout_ms: int = 8000
    ) -> dict[str, Any]:
        body = {"session_id": session_id, "action": action, "args": args, "timeout_ms": int(timeout_ms)}
        return self.http.request("POST", "/session/runtime/control/call", body=body)

    def chat(self, *, message: str, model: str = "", conversation_id: str = "", timeout: int = 120) -> dict[str, Any]:
        """One turn of the agent loop (LLM, tools, memory) in the user's active session, as the UI runs it.

        Returns ``{"text", "tool_calls": [{"name", "args", "result"}], "reasoning"?}``; an ``error`` event in
        the stream raises ``AgentError``, a non-2xx answer ``AraApiError``.
        """
        body: dict[str, Any] = {"messages": [{"role": "user", "content": message}]}
        if model:
            body["model"] = model
        if conversation_id:
            body["chatId"] = conversation_id
        with self.http.stream_lines("POST", "/chat", body=body, timeout=float(timeout)) as lines:
            return read_chat(lines)
