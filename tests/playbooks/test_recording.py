"""A playbook run's records playbook: its labels and its file, the first time they are written (labels and
contents created) and every time after (found inside the INSERT), on both databases."""

from __future__ import annotations

from typing import Any

import yaml

from tests.support.mission import Mission


def _recorded(mission: Mission, run_id: str) -> dict[str, Any]:
    assert mission.wait(run_id)["status"] == "completed"
    playbook_id = mission.get(run_id)["records_playbook_id"]
    return dict(mission.http.get(f"/api/v1/playbooks/{playbook_id}").json())


def test_each_run_is_labelled_and_has_its_spec_as_its_file(mission: Mission) -> None:
    spec = {"actions": [{"name": "a", "exec": {"script": "true"}}]}
    first_id, other_id = mission.define("first", spec), mission.define("other", spec)
    # New labels and contents; the same again; one label new and one not, the contents shared.
    runs = [mission.run(first_id), mission.run(first_id), mission.run(other_id)]
    recorded = [_recorded(mission, run_id) for run_id in runs]

    labels = [sorted(label["name"] for label in playbook["labels"]) for playbook in recorded]
    assert labels == [
        ["playbook-run", "playbook:first"],
        ["playbook-run", "playbook:first"],
        ["playbook-run", "playbook:other"],
    ]
    label_ids = {label["name"]: label["id"] for playbook in recorded for label in playbook["labels"]}
    all_labels = mission.http.get("/api/v1/labels", params={"limit": 100}).json()["results"]
    assert sorted(label["name"] for label in all_labels) == sorted(label_ids)  # each created once

    for playbook, name in zip(recorded, ("first", "first", "other"), strict=True):
        files = mission.http.get("/api/v1/files", params={"playbook": playbook["id"]}).json()["results"]
        assert [file["path"] for file in files] == [f"playbook-run://{name}"]
        content = mission.http.get(f"/api/v1/files/{files[0]['id']}").json()["content"]
        assert yaml.safe_load(content)["actions"] == spec["actions"]
