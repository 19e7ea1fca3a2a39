"""Approvals: self-approval of a listed creator, any vs all (people and teams), 403 for non-approvers,
reject with a comment, expiry, and 400 where the playbook needs no approval."""

from __future__ import annotations

from tests.support.mission import Mission

ACTIONS = [{"name": "go", "exec": {"script": "echo go"}}]


def _approval(kind: str, people: list[str], teams: list[str] | None = None, **extra: str) -> dict:
    return {
        "approval": {"type": kind, "approvers": {"people": people, "teams": teams or []}, **extra},
        "actions": ACTIONS,
    }


def test_creator_who_is_an_approver_approves_automatically(mission: Mission) -> None:
    playbook_id = mission.define("self", _approval("any", ["paul"]))
    with mission.as_user("paul") as paul:
        run_id = mission.run(playbook_id, paul)
    assert mission.wait(run_id)["status"] == "completed"
    approvals = mission.status(run_id)["approvals"]
    assert [(a["approver"], a["approved"]) for a in approvals] == [("paul", True)]


def test_any_versus_all(mission: Mission) -> None:
    any_id = mission.define("any", _approval("any", ["paul", "rita"]))
    all_id = mission.define("all", _approval("all", ["paul", "rita"]))
    team_id = mission.define("team", _approval("all", [], teams=["sre", "dba"]))
    runs = {name: mission.run(pid) for name, pid in (("any", any_id), ("all", all_id), ("team", team_id))}
    with mission.as_user("rita") as rita, mission.as_user("paul") as paul, mission.as_user("quinn") as quinn:
        assert rita.post(f"/playbook/run/approve/{runs['any']}").status_code == 200
        assert mission.wait(runs["any"])["status"] == "completed"

        assert rita.post(f"/playbook/run/approve/{all_id}/{runs['all']}").json()["status"] == "pending_approval"
        assert mission.get(runs["all"])["status"] == "pending_approval"
        assert paul.post(f"/playbook/run/approve/{all_id}/{runs['all']}").json()["status"] == "scheduled"
        assert mission.wait(runs["all"])["status"] == "completed"

        assert quinn.post(f"/playbook/run/approve/{runs['team']}").json()["status"] == "pending_approval"  # sre
        assert rita.post(f"/playbook/run/approve/{runs['team']}").json()["status"] == "scheduled"  # dba
        assert mission.wait(runs["team"])["status"] == "completed"


def test_non_approver_is_refused_and_reject_cancels(mission: Mission) -> None:
    playbook_id = mission.define("guarded", _approval("any", ["paul"]))
    run_id = mission.run(playbook_id)
    with mission.as_user("olivia") as olivia, mission.as_user("rita") as rita, mission.as_user("paul") as paul:
        assert olivia.post(f"/playbook/run/approve/{playbook_id}/{run_id}").status_code == 403
        assert rita.post(f"/playbook/run/approve/{run_id}").status_code == 403
        assert rita.post(f"/playbook/run/reject/{run_id}", json={"comment": "no"}).status_code == 403
        rejected = paul.post(f"/playbook/run/reject/{playbook_id}/{run_id}", json={"comment": "not during the freeze"})
        assert rejected.status_code == 200
        assert paul.post(f"/playbook/run/approve/{run_id}").status_code == 400  # not pending any more
    run = mission.get(run_id)
    assert run["status"] == "cancelled" and run["error"] == "rejected by paul: not during the freeze"
    assert mission.status(run_id)["actions"] == []
    assert mission.http.post(f"/playbook/run/approve/wrong-playbook/{run_id}").status_code == 404


def test_expiry_and_no_approval_needed(mission: Mission) -> None:
    expiring = mission.define("expiring", _approval("any", ["paul"], expiry="1s"))
    run_id = mission.run(expiring)
    run = mission.wait(run_id, "timed_out", timeout=60)
    assert run["error"] == "approval expired"
    with mission.as_user("paul") as paul:
        assert paul.post(f"/playbook/run/approve/{run_id}").status_code == 400

    open_id = mission.define("open", {"actions": ACTIONS})
    open_run = mission.run(open_id)
    response = mission.http.post(f"/playbook/run/approve/{open_id}/{open_run}")
    assert response.status_code == 400 and "does not require approval" in response.text


def test_per_playbook_grants(mission: Mission) -> None:
    playbook_id = mission.define("granted", _approval("any", ["paul"]))
    with mission.as_user("victor") as viewer, mission.as_user("olivia") as operator:
        assert viewer.post("/playbook/run", json={"id": playbook_id}).status_code == 403
        for principal, action in (("victor", "run"), ("role:operator", "approve")):
            response = mission.http.post(
                f"/playbook/{playbook_id}/permissions", json={"principal": principal, "action": action}
            )
            assert response.status_code == 201
        assert (
            operator.post(f"/playbook/{playbook_id}/permissions", json={"principal": "x", "action": "run"}).status_code
            == 403
        )
        run_id = mission.run(playbook_id, viewer)
        assert viewer.post(f"/playbook/run/cancel/{run_id}").status_code == 403  # run was granted, cancel was not
        assert operator.post(f"/playbook/run/approve/{run_id}").status_code == 200
        assert mission.wait(run_id)["status"] == "completed"
    grants = mission.http.get(f"/playbook/{playbook_id}/permissions").json()
    assert sorted((g["principal"], g["action"]) for g in grants) == [("role:operator", "approve"), ("victor", "run")]
    assert mission.http.delete(f"/playbook/{playbook_id}/permissions/{grants[0]['id']}").status_code == 204
    assert (
        mission.http.post(f"/playbook/{playbook_id}/permissions", json={"principal": "x", "action": "fly"}).status_code
        == 400
    )
