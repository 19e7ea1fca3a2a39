"""The records API's orjson encoding answers the bytes Starlette's encoder would, and falls back to it for what
orjson refuses."""

from __future__ import annotations

import json

import httpx

from ara.settings import Settings
from tests.support.server import running_server


def standard_bytes(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


def test_records_answers_are_the_standard_encoders_bytes_and_big_integers_fall_back(
    sqlite_settings: Settings,
) -> None:
    with running_server(sqlite_settings) as url, httpx.Client(base_url=url) as http:
        playbook = http.post(
            "/api/v1/playbooks",
            json={"path": "/é/site.yml", "ansible_version": "2.17.0", "status": "running", "arguments": {"n": 1.5}},
        )
        assert playbook.status_code == 201
        playbook_id = playbook.json()["id"]
        huge = 2**70  # past orjson's 64-bit integers: the standard encoder answers instead
        record = http.post(
            "/api/v1/records",
            json={
                "playbook": playbook_id,
                "key": "k",
                "value": {"huge": huge, "text": 'line\n"q"\u2028'},
                "type": "json",
            },
        )
        assert record.status_code == 201
        for path in (f"/api/v1/playbooks/{playbook_id}", "/api/v1/playbooks", f"/api/v1/records/{record.json()['id']}"):
            answer = http.get(path)
            assert answer.status_code == 200
            assert answer.content == standard_bytes(answer.json()), path
        assert http.get(f"/api/v1/records/{record.json()['id']}").json()["value"]["huge"] == huge
