"""The client-side pieces of the app commands that need no server: run ids and inputs as ara-sdk 0.1.46 makes
them, the runtime-key cache, reading an app file, and the log line (the server side is
``tests/compat/test_sdk_apps.py``)."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from rich.console import Console

from ara.cli.app_file import AppFileError, load_manifest, looks_like_app_file
from ara.cli.app_logs import line
from ara_sdk import run_inputs, runtime_keys


def test_run_ids_and_idempotency_keys_are_made_as_0146_makes_them() -> None:
    run_id = run_inputs.new_run_id()
    assert re.fullmatch(r"run-\d{8}T\d{6}Z-[0-9a-f]{8}", run_id)
    made = run_inputs.sync_input({"message": "hi"}, "Booking Agent")
    assert made["message"] == "hi" and made["run_id"].startswith("run-")
    assert made["idempotency_key"] == f"booking-agent-{made['run_id'].lower()}"
    kept = run_inputs.sync_input({"run_id": "R 1", "idempotency_key": "mine"}, None)
    assert (kept["run_id"], kept["idempotency_key"]) == ("R 1", "mine")
    assert run_inputs.sync_input({"run_id": "R 1"}, None)["idempotency_key"] == "default-agent-r-1"
    assert run_inputs.async_ids("R.2", "") == ("R.2", "run-r-2")
    assert run_inputs.event_idempotency_key("webhook.message.received").startswith("webhook-message-received-run-")
    assert run_inputs.slugify("  A__b--C  ") == "a-b-c" and len(run_inputs.slugify("x" * 300)) == 120


def test_inputs_from_pairs_or_json(tmp_path: Path) -> None:
    assert run_inputs.payload(["a=1", "b=x=y"], "", "m") == {"a": "1", "b": "x=y", "message": "m"}
    (tmp_path / "in.json").write_text('{"n": 2}')
    assert run_inputs.payload(["ignored=1"], f"@{tmp_path / 'in.json'}", "") == {"n": 2}
    for bad, why in (("[1]", "JSON object"), ("{nope", "valid JSON"), (f"@{tmp_path / 'no.json'}", "cannot read")):
        with pytest.raises(ValueError, match=why):
            run_inputs.payload([], bad, "")
    with pytest.raises(ValueError, match="KEY=VALUE"):
        run_inputs.parse_pairs(["novalue"])
    with pytest.raises(ValueError, match="--callback-url"):
        run_inputs.callback("", "s", [])
    assert run_inputs.callback("http://h/x", "", [])["events"] == ["run.completed", "run.failed"]


def test_the_runtime_key_cache_is_private_and_tolerant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert runtime_keys.saved_key("demo") == ""
    path = runtime_keys.save_key("demo", "k1")
    runtime_keys.save_key("other", "k2")
    assert runtime_keys.saved_key("demo") == "k1" and json.loads(path.read_text()) == {"demo": "k1", "other": "k2"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / ".runtime-keys.local").write_text('{"legacy": "k3", "demo": "old"}')  # 0.1.58's old place
    assert runtime_keys.saved_key("legacy", cwd=tmp_path / "proj") == "k3"
    assert runtime_keys.saved_key("demo", cwd=tmp_path / "proj") == "k1"  # the home file wins
    path.write_text("not json")
    assert runtime_keys.saved_key("demo") == ""


def test_an_app_file_gives_its_manifest_or_one_line_saying_why(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("NAME = 'from-a-sibling'\n")
    good = tmp_path / "app.py"
    good.write_text(
        "from ara_sdk import App\nfrom helper import NAME\n\napp = App(NAME)\n\n"
        "@app.agent()\ndef hello(input: dict) -> str:\n    return 'hi'\n\n"
        "if __name__ == '__main__':\n    raise SystemExit('the main block must not run')\n"
    )
    manifest = load_manifest(good)
    assert manifest["slug"] == "from-a-sibling" and manifest["agent"]["agents"][0]["id"] == "hello"
    cases = {
        "empty.py": ("x = 1\n", "No App(...) instance found in"),
        "raises.py": ("import os\n\nraise KeyError('MISSING')\n", "raises.py:3: KeyError: 'MISSING'"),
        "syntax.py": ("def broken(:\n", "syntax.py:1: SyntaxError"),
        "badname.py": ("from ara_sdk import App\napp = App('Bad_Name')\n", "badname.py: invalid app: Invalid App"),
    }
    for name, (source, message) in cases.items():
        (tmp_path / name).write_text(source)
        with pytest.raises(AppFileError) as caught:
            load_manifest(tmp_path / name)
        assert message in str(caught.value) and "\n" not in str(caught.value), str(caught.value)
    with pytest.raises(AppFileError, match="Script not found"):
        load_manifest(tmp_path / "missing.py")
    assert looks_like_app_file("missing.py") and looks_like_app_file(str(tmp_path))
    assert not looks_like_app_file("start")


def test_a_log_line_reads_as_0146_prints_it_and_never_renders_markup() -> None:
    console = Console(record=True, width=200, color_system=None)
    row = {"timestamp": "2026-12-01T10:00:00Z", "level": "error", "run_id": "r1", "event_type": "run.failed"}
    console.print(line(row | {"message": "boom [bold]x[/bold]"}))
    console.print(line({"created_at": "t", "message": ""}))
    assert console.export_text().splitlines() == [
        "2026-12-01T10:00:00Z ERROR run=r1 event=run.failed boom [bold]x[/bold]",
        "t INFO run=- event=runtime.event",
    ]
