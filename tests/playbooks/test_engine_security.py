"""A parameter value never becomes code (exec scripts, Ansible extra vars), a secret never reaches records,
artifacts or logs, inline Ansible is Ansible's, and schedules survive one broken definition."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import update

from ara.db.session import make_engine
from ara.playbooks.models import PlaybookDefinition
from tests.support.mission import Mission


def payloads(marker: Path) -> dict[str, str]:
    """Each tries to create ``marker`` if it is ever run by a shell or templated by Ansible."""
    return {
        "subst": f"x $(touch {marker})",
        "backticks": f"`touch {marker}`",
        "semicolon": f"; touch {marker}",
        "quotes": f"'\"; touch {marker}; echo \"'",
        "jinja": f"{{{{ lookup('pipe', 'touch {marker}') }}}}",
    }


def _params(names: list[str]) -> list[dict[str, object]]:
    return [{"name": name, "required": True} for name in names]


def test_parameter_values_never_run_in_an_exec_script(mission_sqlite: Mission, tmp_path: Path) -> None:
    mission = mission_sqlite
    marker = tmp_path / "owned"
    values = payloads(marker)
    script = (
        "set -eu\n"
        'printf "%s\\n" "{{ params.subst }}"\n'  # inside double quotes
        "printf '%s\\n' {{ params.backticks }}\n"  # unquoted: one word
        "printf '%s\\n' '{{ params.backticks }}'\n"  # inside single quotes
        "cat <<EOF\n{{ params.semicolon }}\nEOF\n"  # in a here-document
        'printf "%s\\n" "$(.params.quotes)"\n'  # Mission Control's Go-style spelling
        'printf "%s\\n" "{{ params.jinja }}"\n'
        "{% if params.subst %}echo branch-taken{% endif %}\n"  # the author's own template logic still works
    )
    playbook_id = mission.define(
        "exec-injection", {"parameters": _params(list(values)), "actions": [{"name": "s", "exec": {"script": script}}]}
    )
    run_id = mission.run(playbook_id, params=values)
    run = mission.wait(run_id)
    assert run["status"] == "completed", mission.status(run_id)
    stdout = mission.status(run_id)["actions"][0]["result"]["stdout"]
    expected = [values["subst"], values["backticks"], values["backticks"], values["semicolon"], values["quotes"]]
    expected.append(values["jinja"])
    assert stdout.splitlines() == [*expected, "branch-taken"]
    assert not marker.exists()


def test_a_value_bash_evaluates_as_arithmetic_must_be_an_integer(mission_sqlite: Mission, tmp_path: Path) -> None:
    mission = mission_sqlite
    marker = tmp_path / "owned"
    script = 'if [[ "{{ params.n }}" -gt 1 ]]; then echo "many: ${servers[{{ params.n }}]}"; fi\n'
    playbook_id = mission.define(
        "exec-arithmetic",
        {"parameters": _params(["n"]), "actions": [{"name": "s", "exec": {"script": "servers=(a b c)\n" + script}}]},
    )
    run_id = mission.run(playbook_id, params={"n": "2"})
    assert mission.wait(run_id)["status"] == "completed", mission.status(run_id)
    assert mission.status(run_id)["actions"][0]["result"]["stdout"] == "many: c\n"
    run_id = mission.run(playbook_id, params={"n": f"a[$(touch {marker})]"})  # [[ -gt ]] would run it
    assert mission.wait(run_id)["status"] == "failed"
    action = mission.status(run_id)["actions"][0]
    assert action["status"] == "failed" and "must be an integer" in action["error"], action
    assert not marker.exists()


def test_other_interpreters_get_values_through_env_not_templates(mission_sqlite: Mission, tmp_path: Path) -> None:
    mission = mission_sqlite
    marker = tmp_path / "owned"
    value = f'"); import os; os.system("touch {marker}"); print("'
    script = '#!/usr/bin/env python3\nimport os\nprint(os.environ["V"])\nprint("{{ params.v }}")\n'
    playbook_id = mission.define(
        "python-script",
        {
            "parameters": _params(["v"]),
            "actions": [{"name": "py", "exec": {"script": script, "env": {"V": "{{ params.v }}"}}}],
        },
    )
    run_id = mission.run(playbook_id, params={"v": value})
    assert mission.wait(run_id)["status"] == "completed", mission.status(run_id)
    stdout = mission.status(run_id)["actions"][0]["result"]["stdout"]
    assert stdout.splitlines() == [value, "{{ params.v }}"]  # the script itself is not templated
    assert not marker.exists()


def test_a_value_in_an_artifact_path_is_one_file_name(mission_sqlite: Mission, tmp_path: Path) -> None:
    mission = mission_sqlite
    outside = tmp_path / "server-only.txt"
    outside.write_text("not for the run")
    playbook_id = mission.define(
        "artifact-path",
        {
            "parameters": _params(["name"]),
            "actions": [
                {
                    "name": "s",
                    "exec": {
                        "script": "mkdir out; echo a > out/a.txt; echo b > out/b.txt\n",
                        "artifacts": [{"path": "out/{{ params.name }}.txt"}],
                    },
                }
            ],
        },
    )

    def stored(name: str) -> tuple[dict[str, object], dict[str, bytes]]:
        run_id = mission.run(playbook_id, params={"name": name})
        mission.wait(run_id)
        artifacts = mission.http.get(f"/artifacts/list/playbook_run/{run_id}").json()
        files = {a["path"]: mission.http.get(f"/artifacts/download/{a['id']}").content for a in artifacts}
        return mission.status(run_id)["actions"][0], files

    action, files = stored("a")
    assert action["status"] == "completed" and files == {"out/a.txt": b"a\n"}
    action, files = stored("*")  # a value is not a pattern
    assert action["status"] == "completed" and files == {}
    action, files = stored("../" * 40 + str(outside.with_suffix(""))[1:])  # nor a way out of the working directory
    assert action["status"] == "failed" and "one file name" in action["error"] and files == {}, action


def test_parameter_values_never_run_in_a_sql_query(mission_sqlite: Mission, tmp_path: Path) -> None:
    mission = mission_sqlite
    database = tmp_path / "inventory.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE servers (name TEXT, cores INTEGER)")
        connection.executemany("INSERT INTO servers VALUES (?, ?)", [("a", 2), ("b", 8), ("it's", 4)])
    query = "SELECT name FROM servers WHERE name = '{{ params.name }}' OR cores > {{ params.cores }} ORDER BY name"
    playbook_id = mission.define(
        "sql-injection",
        {
            "parameters": _params(["name", "cores"]),
            "actions": [
                {"name": "q", "sql": {"connection": f"sqlite:///{database}", "query": query}},
                {
                    "name": "inside-a-string",
                    "if": "always()",
                    "sql": {
                        "connection": f"sqlite:///{database}",
                        "query": "SELECT name FROM servers WHERE name LIKE '%{{ params.name }}%'",
                    },
                },
            ],
        },
    )

    def names(params: dict[str, str]) -> tuple[list[str], dict[str, object]]:
        run_id = mission.run(playbook_id, params=params)
        mission.wait(run_id)
        first, refused = mission.status(run_id)["actions"]
        assert first["status"] == "completed", first
        return [row[0] for row in first["result"]["rows"]], refused

    found, refused = names({"name": "it's", "cores": "5"})  # a quote in a value is just a quote
    assert found == ["b", "it's"]
    assert refused["status"] == "failed" and "inside a larger string" in refused["error"]
    found, _ = names({"name": "x' OR '1'='1", "cores": "100; DROP TABLE servers"})
    assert found == []
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM servers").fetchone() == (3,)


@pytest.mark.ansible
def test_extra_vars_and_inline_ansible(mission_sqlite: Mission, tmp_path: Path) -> None:
    mission = mission_sqlite
    marker, received = tmp_path / "owned", tmp_path / "received.json"
    values = payloads(marker)
    inline = (
        "- hosts: localhost\n  gather_facts: false\n  vars:\n    greeting: hello\n  tasks:\n"
        "    - name: an ordinary Ansible expression, no raw block needed\n"
        "      debug: {msg: '{{ greeting }} {{ plain }}'}\n"
        "    - name: what arrived\n"
        "      copy:\n"
        f"        dest: {received}\n"
        '        content: \'{{ {"plain": plain, "nested": nested, "params": params} | to_json }}\'\n'
    )
    extra_vars = {
        "plain": "{{ params.subst }}",
        "nested": {"backticks": "{{ params.backticks }}", "more": ["{{ params.semicolon }}", "{{ params.jinja }}"]},
    }
    playbook_id = mission.define(
        "ansible-injection",
        {
            "parameters": _params(list(values)),
            "actions": [{"name": "play", "ansible": {"playbook": inline, "extraVars": extra_vars}}],
        },
    )
    run_id = mission.run(playbook_id, params=values)
    run = mission.wait(run_id, timeout=120)
    assert run["status"] == "completed", mission.status(run_id)
    assert json.loads(received.read_text()) == {
        "plain": values["subst"],
        "nested": {"backticks": values["backticks"], "more": [values["semicolon"], values["jinja"]]},
        "params": values,
    }
    assert not marker.exists()
    assert f"hello {values['subst']}" in mission.status(run_id)["actions"][0]["result"]["stdout"]


def _texts(mission: Mission, records_id: int) -> list[str]:
    """Every recorded object of the run's records playbook, as the API returns it (lists and details)."""
    api = mission.http
    texts = [api.get(f"/api/v1/playbooks/{records_id}").text]
    for kind in ("results", "tasks", "plays", "hosts", "files", "records"):
        listed = api.get(f"/api/v1/{kind}", params={"playbook": records_id, "limit": 1000})
        texts.append(listed.text)
        texts += [api.get(f"/api/v1/{kind}/{item['id']}").text for item in listed.json()["results"]]
    return texts


@pytest.mark.ansible
def test_a_secret_stays_out_of_records_artifacts_and_logs(
    mission_sqlite: Mission, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mission = mission_sqlite
    secret = 'S3cr3t"t0ken'  # a quote: Ansible prints it JSON-escaped, which is scrubbed too
    inline = (
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: print it\n      debug: {msg: 'token={{ params.token }}'}\n"
        "    - name: echo it\n      command: {argv: [echo, 'token={{ params.token }}']}\n"
        "    - name: fail with it\n      fail: {msg: 'token={{ params.token }}'}\n      ignore_errors: true\n"
    )
    script = (
        "echo token={{ params.token }}\n"
        'printf "%s" "{{ params.token }}" > secret.bin\n'
        # 1 MiB is the scrubber's read size: the secret straddles the first two reads
        "head -c 1048570 /dev/zero | tr '\\0' x > big.txt; printf '%s' \"$(.params.token)\" >> big.txt\n"
        "head -c 1000 /dev/zero | tr '\\0' y >> big.txt\n"
        "exit 3\n"
    )
    playbook_id = mission.define(
        "secretive",
        {
            "parameters": [{"name": "token", "type": "secret", "required": True}],
            "actions": [
                {"name": "play", "ansible": {"playbook": inline}},
                {
                    "name": "leak",
                    "exec": {
                        "script": script,
                        "artifacts": [{"path": "/dev/stdout"}, {"path": "secret.bin"}, {"path": "big.txt"}],
                    },
                },
            ],
        },
    )
    run_id = mission.run(playbook_id, params={"token": secret})
    run = mission.wait(run_id, timeout=120)
    assert run["status"] == "failed"
    texts = _texts(mission, run["records_playbook_id"])
    recorded = "\n".join(texts)
    assert "token=[redacted]" in recorded  # the callback's results were recorded, scrubbed
    assert {"print it", "echo it", "fail with it", "leak"} <= {t["name"] for t in _tasks(mission, run)}
    escaped = json.dumps(secret)[1:-1]
    assert secret not in recorded and escaped not in recorded and "S3cr3t" not in recorded
    status = mission.status(run_id)
    assert "S3cr3t" not in json.dumps(status) and "exit code 3" in status["actions"][1]["error"]
    artifacts = mission.http.get(f"/artifacts/list/playbook_run/{run_id}").json()
    downloaded = {a["path"]: mission.http.get(f"/artifacts/download/{a['id']}").content for a in artifacts}
    assert downloaded["/dev/stdout"] == b"token=[redacted]\n"
    assert downloaded["secret.bin"] == b"[redacted]"
    assert downloaded["big.txt"] == b"x" * 1048570 + b"[redacted]" + b"y" * 1000
    assert "S3cr3t" not in caplog.text


def test_a_secret_an_http_answer_echoes_is_scrubbed(mission_sqlite: Mission) -> None:
    mission = mission_sqlite
    playbook_id = mission.define(
        "echoing-api",
        {
            "parameters": [{"name": "base"}, {"name": "token", "type": "secret"}],
            "actions": [
                {"name": "get", "http": {"url": "{{ params.base }}/api/v1/playbooks?order={{ params.token }}"}}
            ],
        },
    )
    run_id = mission.run(playbook_id, params={"base": mission.url, "token": "S3cr3tOrder"})
    assert mission.wait(run_id)["status"] == "failed"
    [action] = mission.status(run_id)["actions"]
    assert action["result"]["code"] == 400 and "[redacted] is not one of" in action["result"]["content"], action
    assert "S3cr3t" not in json.dumps(mission.status(run_id))


def test_a_secret_parameters_default_is_sealed_and_never_shown(mission_sqlite: Mission) -> None:
    mission = mission_sqlite
    script = 'test "$(printf %s "{{ params.token }}" | rev)" = tluafeDt3rc3S && echo "got {{ params.token }}"\n'
    playbook_id = mission.define(
        "secret-default",
        {
            "parameters": [{"name": "token", "type": "secret", "default": "S3cr3tDefault"}],
            "actions": [{"name": "use", "exec": {"script": script}}],
        },
    )
    run_id = mission.run(playbook_id)
    run = mission.wait(run_id)
    assert run["status"] == "completed", mission.status(run_id)
    status = mission.status(run_id)
    assert status["actions"][0]["result"]["stdout"] == "got [redacted]\n"
    shown = [
        mission.http.get(f"/playbook/{playbook_id}").text,
        mission.http.get("/playbook/list").text,
        mission.http.post(f"/playbook/{playbook_id}/params", json={}).text,
        json.dumps(status),
        *_texts(mission, run["records_playbook_id"]),
    ]
    assert all("S3cr3t" not in text for text in shown)
    engine = make_engine(mission.settings)
    with engine.connect() as connection:
        stored = connection.execute(sqlalchemy.text("SELECT spec FROM playbook_definitions")).all()
    engine.dispose()
    assert stored and not any("S3cr3t" in str(row) for row in stored)  # sealed at rest, as connections are


def _tasks(mission: Mission, run: dict[str, object]) -> list[dict[str, object]]:
    listed = mission.http.get("/api/v1/tasks", params={"playbook": run["records_playbook_id"], "limit": 1000})
    return list(listed.json()["results"])


def _schedule_spec(schedule: str) -> dict[str, object]:
    return {"on": {"schedule": [{"schedule": schedule}]}, "actions": [{"name": "tick", "exec": {"script": "true"}}]}


def test_a_cron_that_never_fires_is_refused_when_saved(mission: Mission) -> None:
    document = {"kind": "Playbook", "metadata": {"name": "never"}, "spec": _schedule_spec("0 0 30 2 *")}
    refused = mission.http.post("/playbook", json=document)
    assert refused.status_code == 400
    assert "never fires" in refused.json()["error"]["detail"]["spec.on.schedule.0.schedule"][0]
    playbook_id = mission.define("leap-day", _schedule_spec("0 0 29 2 *"))  # rare, but it fires
    replaced = mission.http.put(f"/playbook/{playbook_id}", json={"name": "leap-day", "spec": document["spec"]})
    assert replaced.status_code == 400 and "spec.on.schedule.0.schedule" in replaced.json()["error"]["detail"]


def test_a_broken_definition_does_not_stop_other_schedules(mission: Mission, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ara.engine")
    never = mission.define("stored-never", _schedule_spec("0 0 1 1 *"))
    invalid = mission.define("stored-invalid", _schedule_spec("0 0 1 1 *"))
    # As a definition saved before these checks existed would be: it no longer fires, or no longer loads.
    engine = make_engine(mission.settings)
    with engine.begin() as connection:
        connection.execute(
            update(PlaybookDefinition).where(PlaybookDefinition.id == never).values(spec=_schedule_spec("0 0 30 2 *"))
        )
        connection.execute(
            update(PlaybookDefinition).where(PlaybookDefinition.id == invalid).values(spec={"actions": "none"})
        )
    engine.dispose()
    healthy = mission.define("every-second", _schedule_spec("@every 1s"))
    deadline = time.monotonic() + 30
    while not (runs := mission.http.get("/playbook/runs", params={"playbook_id": healthy}).json()):
        assert time.monotonic() < deadline, "the healthy schedule never fired"
        time.sleep(0.1)
    assert runs[0]["trigger"] == "schedule"
    deadline = time.monotonic() + 30
    while not ("stored-invalid" in caplog.text and "cannot fire" in caplog.text):
        assert time.monotonic() < deadline, caplog.text
        time.sleep(0.1)
