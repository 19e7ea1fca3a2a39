"""Every way out of a session we know of, tried: path tricks against the file tools on both backends, and commands
reaching the host's files, other sessions and the network from inside the sandbox."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ara.errors import ToolFailed
from ara.runtime.sandbox.bwrap import TMP_BYTES
from ara.runtime.tools.base import ToolContext
from ara.runtime.tools.paths import open_file
from ara.runtime.workspace import Workspace
from tests.support.sandboxes import BACKENDS, bwrap_sandbox, make_workspace, ok, refused, sandbox_named, tool_context


@pytest.fixture(params=BACKENDS)
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> ToolContext:
    return tool_context(make_workspace(tmp_path), sandbox_named(request.param))


@pytest.fixture
def bwrap_ctx(tmp_path: Path) -> ToolContext:
    return tool_context(make_workspace(tmp_path), bwrap_sandbox())


@pytest.mark.parametrize(
    "path", ["../../etc/passwd", "/etc/passwd", "/root/.ara/../../etc/passwd", "../../../../../../etc/passwd"]
)
def test_paths_outside_the_session_are_refused(ctx: ToolContext, path: str) -> None:
    assert "outside the session" in refused(ctx, "read_file", path=path)
    assert "outside the session" in refused(ctx, "write_file", path=path, content="x")
    assert "outside the session" in refused(ctx, "list_dir", path=str(Path(path).parent))


def test_dotdot_that_stays_inside_is_fine(ctx: ToolContext) -> None:
    ok(ctx, "write_file", path="a/b.txt", content="inside")
    assert ok(ctx, "read_file", path="a/../a/b.txt")["content"] == "inside"
    assert ok(ctx, "read_file", path="/root/.ara/memory/../workspace/a/b.txt")["content"] == "inside"


def _assert_link_to_root_is_refused(ctx: ToolContext, host_file: Path) -> None:
    assert "outside the session" in refused(ctx, "read_file", path="out/etc/passwd")
    assert "outside the session" in refused(ctx, "read_file", path=f"out{host_file}")
    assert "outside the session" in refused(ctx, "write_file", path=f"out{host_file}", content="pwned")
    assert "outside the session" in refused(ctx, "edit_file", path=f"out{host_file}", old_string="a", new_string="b")
    assert "outside the session" in refused(ctx, "list_dir", path="out")
    assert "outside the session" in refused(ctx, "search_files", pattern="root", path="out")
    assert host_file.read_text() == "host secret\n"
    # Walks list the link but never enter it; deleting it removes the link, not what it points to.
    assert ok(ctx, "glob", pattern="**/passwd")["matches"] == []
    assert ok(ctx, "search_files", pattern="host secret")["matches"] == []
    assert {"name": "out", "type": "symlink"}.items() <= ok(ctx, "list_dir")["entries"][0].items()
    assert ok(ctx, "delete_file", path="out")["deleted"] == "symlink"
    assert host_file.exists() and Path("/etc/passwd").exists()


def test_a_symlink_to_root_made_on_the_host_leads_nowhere(ctx: ToolContext, tmp_path: Path) -> None:
    host_file = tmp_path / "host-secret.txt"
    host_file.write_text("host secret\n")
    (ctx.workspace.workspace_dir / "out").symlink_to("/")
    _assert_link_to_root_is_refused(ctx, host_file)


def test_a_symlink_to_root_made_inside_the_sandbox_leads_nowhere(ctx: ToolContext, tmp_path: Path) -> None:
    host_file = tmp_path / "host-secret.txt"
    host_file.write_text("host secret\n")
    assert ok(ctx, "exec", command="ln -s / out")["exit_code"] == 0
    assert os.readlink(ctx.workspace.workspace_dir / "out") == "/"
    _assert_link_to_root_is_refused(ctx, host_file)


def test_a_dangling_link_out_is_not_written_through(ctx: ToolContext, tmp_path: Path) -> None:
    target = tmp_path / f"created-{secrets.token_hex(4)}"
    (ctx.workspace.workspace_dir / "trap").symlink_to(target)
    assert "outside the session" in refused(ctx, "write_file", path="trap", content="x")
    assert not target.exists()


def test_a_link_swapped_in_after_resolving_is_not_followed(ctx: ToolContext, tmp_path: Path) -> None:
    """The race a sandboxed command could win: the path checked was a directory, the open meets a link."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.txt").write_text("host secret\n")
    ok(ctx, "write_file", path="d/f.txt", content="inside")
    resolved = ctx.workspace.resolve("d/f.txt")
    (ctx.workspace.workspace_dir / "d" / "f.txt").unlink()
    (ctx.workspace.workspace_dir / "d").rmdir()
    (ctx.workspace.workspace_dir / "d").symlink_to(outside)
    with pytest.raises(ToolFailed, match="symbolic link"), open_file(ctx.workspace, resolved, "d/f.txt", os.O_RDONLY):
        pass
    (ctx.workspace.workspace_dir / "d").unlink()
    (ctx.workspace.workspace_dir / "d").mkdir()
    (ctx.workspace.workspace_dir / "d" / "f.txt").symlink_to(outside / "f.txt")
    with pytest.raises(ToolFailed, match="symbolic link"), open_file(ctx.workspace, resolved, "d/f.txt", os.O_RDONLY):
        pass


def test_a_fifo_planted_in_the_workspace_does_not_hang_the_tools(ctx: ToolContext) -> None:
    assert ok(ctx, "exec", command="mkfifo pipe")["exit_code"] == 0
    started = time.monotonic()
    assert "not a regular file" in refused(ctx, "read_file", path="pipe")
    assert "not a regular file" in refused(ctx, "write_file", path="pipe", content="x")
    assert "not a regular file" in refused(ctx, "edit_file", path="pipe", old_string="a", new_string="b")
    assert ok(ctx, "search_files", pattern="x")["matches"] == []
    assert time.monotonic() - started < 5


def test_the_session_roots_cannot_be_deleted(ctx: ToolContext) -> None:
    for path in (".", "/root/.ara/workspace", "/root/.ara", "", "/root/.ara/workspace/.", "a/.."):
        refused(ctx, "delete_file", path=path, recursive=True)
    assert ctx.workspace.workspace_dir.is_dir() and ctx.workspace.memory_dir.is_dir()


# Commands inside bwrap: the host beyond the session does not exist for them.


def test_the_host_and_other_sessions_are_invisible_in_bwrap(bwrap_ctx: ToolContext, tmp_path: Path) -> None:
    other = make_workspace(tmp_path, "sess-b")
    (other.workspace_dir / "secret.txt").write_text("other user's secret\n")
    for path in (other.workspace_dir / "secret.txt", tmp_path, Path(__file__), Path("/work"), Path("/etc/shadow")):
        done = ok(bwrap_ctx, "exec", command=f"cat {path}")
        assert done["exit_code"] != 0 and "secret" not in done["stdout"], path
    listing = ok(bwrap_ctx, "exec", command="ls -a /root /root/.ara/..")
    assert "sess-b" not in listing["stdout"] and ".ara" in listing["stdout"]


def test_no_capabilities_and_no_private_system_files_in_bwrap(bwrap_ctx: ToolContext) -> None:
    """The command runs as the server's user: what that user could read must not be mounted, and it gets no
    capability to undo the read-only mounts."""
    status = ok(bwrap_ctx, "exec", command="grep CapEff /proc/self/status")
    assert status["stdout"].split() == ["CapEff:", "0000000000000000"]
    assert ok(bwrap_ctx, "exec", command="mount -o remount,rw /usr")["exit_code"] != 0
    for path in ("/etc/shadow", "/etc/gshadow", "/etc/ssl/private", "/etc/ssh", "/root/.ssh", "/proc/1/root/work"):
        assert ok(bwrap_ctx, "exec", command=f"test -e {path}")["exit_code"] != 0, path
    assert ok(bwrap_ctx, "exec", command="test -d /etc/ssl/certs")["exit_code"] == 0


def test_writes_outside_the_session_do_not_reach_the_host(bwrap_ctx: ToolContext, tmp_path: Path) -> None:
    name = f"ara-escape-{secrets.token_hex(4)}"
    for target in (f"/etc/{name}", str(tmp_path / name), f"/usr/{name}", f"/{name}"):
        done = ok(bwrap_ctx, "exec", command=f"touch {target}")
        assert done["exit_code"] != 0, done
        assert not Path(target).exists()
    # /tmp and HOME (/root) are the sandbox's own: writable there, gone afterwards, never the host's.
    for scratch in ("/tmp", "/root"):
        done = ok(bwrap_ctx, "exec", command=f"sh -c 'echo x > {scratch}/{name} && cat {scratch}/{name}'")
        assert (done["exit_code"], done["stdout"]) == (0, "x\n")
        assert not Path(f"{scratch}/{name}").exists()
        assert ok(bwrap_ctx, "exec", command=f"cat {scratch}/{name}")["exit_code"] != 0
    # ... and it is capped: memory is the server's.
    df = ok(bwrap_ctx, "exec", command="df -k --output=size /tmp")["stdout"].split()
    assert int(df[-1]) * 1024 == TMP_BYTES


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on the host's 127.0.0.1; yields its port and what it received."""
    received: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                received.append(conn.recv(100))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join(timeout=5)
    server.close()


def test_no_network_unless_the_session_allows_it(bwrap_ctx: ToolContext, listener: tuple[int, list[bytes]]) -> None:
    port, received = listener
    command = f"bash -c 'echo hello > /dev/tcp/127.0.0.1/{port}'"
    denied = ok(bwrap_ctx, "exec", command=command)
    assert denied["exit_code"] != 0 and "refused" in denied["stderr"].lower()
    assert received == []
    allowed = tool_context(bwrap_ctx.workspace, bwrap_ctx.sandbox, network=True)
    assert ok(allowed, "exec", command=command)["exit_code"] == 0
    for _ in range(50):
        if received:
            break
        threading.Event().wait(0.05)
    assert received == [b"hello\n"]


def test_confined_subprocess_promises_only_its_limits(tmp_path: Path) -> None:
    """The fallback cannot hide the host (it says so): the test pins down that it is reported as weak."""
    ctx = tool_context(make_workspace(tmp_path), sandbox_named("subprocess"))
    assert ctx.sandbox.strong is False
    done = ok(ctx, "exec", command="pwd")
    assert done["stdout"].strip() == str(Workspace(ctx.workspace.root).workspace_dir.resolve())
