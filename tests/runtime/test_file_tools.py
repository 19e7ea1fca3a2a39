"""Each builtin tool on a real session directory: what it answers, how it refuses, and the argument checks the
CLI's string values go through. ``web_fetch``/``web_search`` talk to an HTTP server the test starts."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ara.errors import ToolFailed
from ara.runtime.models import RuntimeSession
from ara.runtime.tools.base import ToolContext
from ara.runtime.tools.builtin import BUILTINS, find_builtin
from ara.runtime.tools.context import context_for
from ara.runtime.tools.search import glob_regex
from ara.runtime.tools.web import pinned
from tests.conftest import make_settings
from tests.support.sandboxes import bwrap_sandbox, make_workspace, ok, refused, tool_context, web_server


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return tool_context(make_workspace(tmp_path), bwrap_sandbox())


def test_write_then_read_gives_the_same_text_back(ctx: ToolContext) -> None:
    content = "héllo wörld ✓\nline two\r\nno newline at the end"
    written = ok(ctx, "write_file", path="deep/er/hello.txt", content=content)
    assert written == {"path": "/root/.ara/workspace/deep/er/hello.txt", "bytes_written": len(content.encode())}
    assert (ctx.workspace.workspace_dir / "deep/er/hello.txt").read_bytes() == content.encode()
    read = ok(ctx, "read_file", path="/root/.ara/workspace/deep/er/hello.txt")
    assert (read["content"], read["size"], read["truncated"]) == (content, len(content.encode()), False)
    assert ok(ctx, "write_file", path="deep/er/hello.txt", content="")["bytes_written"] == 0
    assert ok(ctx, "read_file", path="deep/er/hello.txt")["content"] == ""


def test_read_selects_lines_with_offset_and_limit_given_as_strings(ctx: ToolContext) -> None:
    ok(ctx, "write_file", path="n.txt", content="".join(f"{i}\n" for i in range(10)))
    read = ok(ctx, "read_file", path="n.txt", offset="2", limit="3")
    assert (read["content"], read["lines"], read["total_lines"]) == ("2\n3\n4\n", 3, 10)
    assert ok(ctx, "read_file", path="n.txt", offset=8)["content"] == "8\n9\n"


def test_read_refuses_binary_directories_and_missing_files(ctx: ToolContext) -> None:
    (ctx.workspace.workspace_dir / "blob.bin").write_bytes(b"\x89PNG\x00\x01\x02")
    (ctx.workspace.workspace_dir / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    assert "binary" in refused(ctx, "read_file", path="blob.bin")
    assert "not UTF-8" in refused(ctx, "read_file", path="latin1.txt")
    assert "is a directory" in refused(ctx, "read_file", path="skills")
    assert "no such file" in refused(ctx, "read_file", path="missing.txt")


def test_memory_files_are_reachable_by_absolute_path(ctx: ToolContext) -> None:
    ok(ctx, "write_file", path="/root/.ara/memory/USER.md", content="Name: Ada\n")
    assert (ctx.workspace.memory_dir / "USER.md").read_text() == "Name: Ada\n"


def test_edit_replaces_one_occurrence_and_refuses_absent_or_ambiguous(ctx: ToolContext) -> None:
    ok(ctx, "write_file", path="app.py", content="a = 1\nb = 1\nprint(a)\n")
    assert ok(ctx, "edit_file", path="app.py", old_string="a = 1", new_string="a = 2")["replacements"] == 1
    assert "not found" in refused(ctx, "edit_file", path="app.py", old_string="zzz", new_string="y")
    assert "occurs 2 times" in refused(ctx, "edit_file", path="app.py", old_string=" = ", new_string="=")
    assert ok(ctx, "read_file", path="app.py")["content"] == "a = 2\nb = 1\nprint(a)\n"
    done = ok(ctx, "edit_file", path="app.py", old_string=" = ", new_string="=", replace_all="true")
    assert done["replacements"] == 2
    assert ok(ctx, "read_file", path="app.py")["content"] == "a=2\nb=1\nprint(a)\n"


def test_list_dir_gives_types_and_sizes(ctx: ToolContext) -> None:
    ok(ctx, "write_file", path="d/five.txt", content="12345")
    ok(ctx, "write_file", path="d/sub/x", content="")
    (ctx.workspace.workspace_dir / "d" / "link").symlink_to("five.txt")
    listing = ok(ctx, "list_dir", path="d")
    assert listing["path"] == "/root/.ara/workspace/d"
    by_name = {entry["name"]: entry for entry in listing["entries"]}
    assert [entry["name"] for entry in listing["entries"]] == ["five.txt", "link", "sub"]
    assert (by_name["five.txt"]["type"], by_name["five.txt"]["size"]) == ("file", 5)
    assert (by_name["sub"]["type"], by_name["link"]["type"]) == ("directory", "symlink")
    root = ok(ctx, "list_dir", path="/root/.ara")
    assert {entry["name"] for entry in root["entries"]} == {"workspace", "memory"}
    assert "not a directory" in refused(ctx, "list_dir", path="d/five.txt")
    many = ctx.workspace.workspace_dir / "many"
    many.mkdir()
    for i in range(1005):
        (many / f"f{i:04d}").touch()
    capped = ok(ctx, "list_dir", path="many")
    assert len(capped["entries"]) == 1000 and capped["truncated"] is True and capped["entries"][0]["name"] == "f0000"


def test_delete_files_and_directories(ctx: ToolContext) -> None:
    ok(ctx, "write_file", path="d/sub/f.txt", content="x")
    ok(ctx, "write_file", path="g.txt", content="x")
    assert ok(ctx, "delete_file", path="g.txt") == {"path": "/root/.ara/workspace/g.txt", "deleted": "file"}
    assert "not empty" in refused(ctx, "delete_file", path="d")
    assert ok(ctx, "delete_file", path="d", recursive="yes")["deleted"] == "directory"
    assert not (ctx.workspace.workspace_dir / "d").exists()
    ok(ctx, "write_file", path="empty/.keep", content="")
    ok(ctx, "delete_file", path="empty/.keep")
    assert ok(ctx, "delete_file", path="empty")["deleted"] == "directory"
    assert "no such file" in refused(ctx, "delete_file", path="gone.txt")


def test_search_files_with_glob_and_caps(ctx: ToolContext) -> None:
    ok(ctx, "write_file", path="src/a.py", content="import os\ndef main():\n    return os.getcwd()\n")
    ok(ctx, "write_file", path="src/b.txt", content="def not_python\n")
    (ctx.workspace.workspace_dir / "src" / "c.bin").write_bytes(b"def \x00binary")
    found = ok(ctx, "search_files", pattern=r"^def \w+", glob="*.py")
    assert found["matches"] == [{"path": "/root/.ara/workspace/src/a.py", "line": 2, "text": "def main():"}]
    assert {m["path"] for m in ok(ctx, "search_files", pattern="^def", path="src")["matches"]} == {
        "/root/.ara/workspace/src/a.py",
        "/root/.ara/workspace/src/b.txt",
    }
    assert "invalid regular expression" in refused(ctx, "search_files", pattern="(unclosed")
    ok(ctx, "write_file", path="many.txt", content="hit\n" * 500)
    capped = ok(ctx, "search_files", pattern="hit")
    assert len(capped["matches"]) == 200 and capped["truncated"] is True


def test_glob_patterns(ctx: ToolContext) -> None:
    for path in ("a.py", "pkg/b.py", "pkg/deep/c.py", "pkg/d.txt"):
        ok(ctx, "write_file", path=path, content="")
    every = ok(ctx, "glob", pattern="**/*.py")["matches"]
    assert sorted(every) == [f"/root/.ara/workspace/{p}" for p in ("a.py", "pkg/b.py", "pkg/deep/c.py")]
    assert ok(ctx, "glob", pattern="*.py")["matches"] == ["/root/.ara/workspace/a.py"]
    assert ok(ctx, "glob", pattern="*.txt", path="pkg")["matches"] == ["/root/.ara/workspace/pkg/d.txt"]
    assert "relative" in refused(ctx, "glob", pattern="/etc/*")
    assert glob_regex("[!a]?.py").match("bc.py") and not glob_regex("[!a]?.py").match("ac.py")


def test_exec_splits_words_without_a_shell(ctx: ToolContext) -> None:
    assert ok(ctx, "exec", command="echo hello") == {
        "exit_code": 0,
        "stdout": "hello\n",
        "stderr": "",
        "timed_out": False,
        "truncated": False,
    }
    quoted = ok(ctx, "exec", command="""printf '%s|' "a b" 'c;d' $HOME `id`""")
    assert quoted["stdout"] == "a b|c;d|$HOME|`id`|"  # no expansion, no substitution: nothing ran a shell
    assert ok(ctx, "exec", command="sh -c 'echo $((6 * 7)) > answer; cat answer'")["stdout"] == "42\n"
    assert (ctx.workspace.workspace_dir / "answer").read_text() == "42\n"
    assert ok(ctx, "exec", command="sh -c 'exit 3'")["exit_code"] == 3
    assert "cannot split" in refused(ctx, "exec", command="echo 'unterminated")
    assert "empty" in refused(ctx, "exec", command="   ")


def test_exec_timeout_argument_only_shortens(ctx: ToolContext) -> None:
    done = ok(ctx, "exec", command="sleep 30", timeout="0.3")
    assert done["timed_out"] is True and done["exit_code"] is None
    assert "at least 0.1" in refused(ctx, "exec", command="true", timeout="0")


def test_arguments_are_checked_by_the_tools_schema(ctx: ToolContext) -> None:
    assert refused(ctx, "write_file", path="x") == "write_file: missing required argument 'content'"
    assert "unknown argument 'bogus'" in refused(ctx, "read_file", path="x", bogus="1")
    assert "'offset' must be an integer" in refused(ctx, "read_file", path="x", offset="two")
    assert "'replace_all' must be true or false" in refused(
        ctx, "edit_file", path="x", old_string="a", new_string="b", replace_all="maybe"
    )
    assert "'content' must be a string" in refused(ctx, "write_file", path="x", content=5)
    with pytest.raises(ToolFailed, match="unknown tool 'rm_rf'.*read_file"):
        find_builtin("rm_rf")


def test_every_builtin_has_a_schema_the_model_can_use() -> None:
    expected = {"read_file", "write_file", "edit_file", "list_dir", "exec", "search_files", "glob", "delete_file"}
    automations = {f"automation_{verb}" for verb in ("create", "list", "update", "delete")}
    assert expected | {"web_fetch", "web_search"} | automations == set(BUILTINS)
    for name, tool in BUILTINS.items():
        function = tool.schema()["function"]
        assert function["name"] == name and function["description"]
        parameters = function["parameters"]
        assert parameters["type"] == "object" and set(parameters["required"]) <= set(parameters["properties"])
        json.dumps(tool.schema())


def test_context_for_a_session(tmp_path: Path) -> None:
    runtime_session = RuntimeSession(id="sess-ctx", user_id=7, network=True)
    closed = context_for(make_settings(tmp_path), runtime_session)
    assert (closed.session_id, closed.user_id, closed.network) == ("sess-ctx", 7, False)
    assert closed.workspace.root == tmp_path / "sessions" / "sess-ctx"
    assert closed.sandbox.name in ("bwrap", "subprocess")
    opened = context_for(make_settings(tmp_path, runtime={"network": True, "sandbox": "subprocess"}), runtime_session)
    assert (opened.network, opened.sandbox.name) == (True, "subprocess")


# The web tools; the "outside web" is a server on 127.0.0.1, which is exactly what web_fetch refuses by default.

PAGE = b"<html><head><title>T</title><script>evil()</script></head><body><h1>Title</h1><p>Hello <b>world</b></p>"


def _site(request: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
    path = urlsplit(request.path).path
    if path == "/page":
        return 200, {"Content-Type": "text/html; charset=utf-8"}, PAGE + b"x" * 3000 + b"</body></html>"
    if path == "/hop":
        return 302, {"Location": "/page"}, b""
    if path == "/to-file":
        return 302, {"Location": "file:///etc/passwd"}, b""
    if path == "/image":
        return 200, {"Content-Type": "image/png"}, b"\x89PNG"
    if path == "/search":
        query = parse_qs(urlsplit(request.path).query)["q"][0]
        return 200, {"Content-Type": "application/json"}, json.dumps([{"title": f"about {query}"}]).encode()
    return 404, {}, b""


def test_web_fetch_refuses_private_addresses_by_default(ctx: ToolContext) -> None:
    with web_server(_site) as url:
        assert "loopback" in refused(ctx, "web_fetch", url=f"{url}/page")
    for url in ("http://169.254.169.254/latest/meta-data", "http://10.0.0.1/", "http://[::1]/", "http://0.0.0.0/"):
        assert "ALLOW_PRIVATE" in refused(ctx, "web_fetch", url=url)
    assert "only http and https" in refused(ctx, "web_fetch", url="file:///etc/passwd")
    assert "only http and https" in refused(ctx, "web_fetch", url="gopher://example.com/")


def test_web_fetch_turns_html_into_text_and_checks_every_hop(tmp_path: Path) -> None:
    allowed = tool_context(
        make_workspace(tmp_path), bwrap_sandbox(), web_fetch_allow_private=True, web_fetch_max_chars=2000
    )
    with web_server(_site) as url:
        page = ok(allowed, "web_fetch", url=f"{url}/hop", max_chars="60")
        assert page["url"] == f"{url}/page" and page["status"] == 200 and page["truncated"] is True
        assert "# Title" in page["text"] and "**world**" in page["text"] and "<h1>" not in page["text"]
        assert len(page["text"]) == 60
        assert len(ok(allowed, "web_fetch", url=f"{url}/page", max_chars=10**6)["text"]) == 2000
        assert "only http and https" in refused(allowed, "web_fetch", url=f"{url}/to-file")
        assert "image/png, not text" in refused(allowed, "web_fetch", url=f"{url}/image")


def test_web_search_needs_a_provider(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    unset = tool_context(workspace, bwrap_sandbox())
    assert refused(unset, "web_search", query="ara") == (
        "web_search: no web search provider is configured (ARA_RUNTIME__WEB_SEARCH_URL)"
    )
    with web_server(_site) as url:
        configured = tool_context(workspace, bwrap_sandbox(), web_search_url=f"{url}/search")
        assert ok(configured, "web_search", query="bubble wrap") == {
            "query": "bubble wrap",
            "results": [{"title": "about bubble wrap"}],
        }
        broken = tool_context(workspace, bwrap_sandbox(), web_search_url=f"{url}/nothing")
        assert "provider failed" in refused(broken, "web_search", query="x")


def test_web_fetch_connects_to_the_address_it_checked() -> None:
    """Against DNS rebinding: the request goes to the checked address, named as the host for Host and TLS."""
    assert pinned("https://example.com/a?b=1", "93.184.215.14") == (
        "https://93.184.215.14/a?b=1",
        {"Host": "example.com"},
        {"sni_hostname": "example.com"},
    )
    url, headers, _ = pinned("http://user@example.com:8080/x", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert url == "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8080/x" and headers == {"Host": "example.com:8080"}
    assert pinned("http://127.0.0.1/", None) == ("http://127.0.0.1/", {}, {})
