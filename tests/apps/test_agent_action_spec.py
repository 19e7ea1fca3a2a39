"""The ``agent`` action kind in a playbook spec: validated when saved, rendered like data."""

from __future__ import annotations

import pytest

from ara.engine.rendering import render_action
from ara.errors import ValidationFailed
from ara.playbooks.spec import validate_spec


def _spec(action: dict) -> dict:
    return {"actions": [{"name": "ask", **action}]}


def test_agent_action_is_a_kind() -> None:
    spec = validate_spec(_spec({"agent": {"app": " triage ", "agent": "explainer", "message": "why?"}}))
    [action] = spec.actions
    assert action.kind == "agent"
    assert action.agent is not None and action.agent.app == "triage" and action.agent.input == {}


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ({"agent": {"app": "  "}}, "spec.actions.0.agent.app"),
        ({"agent": {"message": "hi"}}, "spec.actions.0.agent.app"),
        ({"agent": {"app": "a", "model": "x"}}, "spec.actions.0.agent.model"),
        ({"agent": {"app": "a"}, "exec": {"script": "true"}}, "spec.actions.0"),
    ],
)
def test_bad_agent_actions_name_the_field(action: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_spec(_spec(action))
    assert field in caught.value.detail, caught.value.detail


def test_message_and_input_render_from_earlier_results(tmp_path) -> None:
    spec = validate_spec(
        _spec(
            {
                "agent": {
                    "app": "{{ params.app }}",
                    "message": "explain {{ getAction('probe').result.stdout }}",
                    "input": {"playbook": "{{ request.records_playbook.id }}", "n": 3},
                }
            }
        )
    )
    context = {
        "params": {"app": "triage"},
        "request": {"records_playbook": {"id": 42}},
        "getAction": lambda name: {"result": {"stdout": "disk full"}} if name == "probe" else {},
    }
    rendered = render_action(spec.actions[0], context, workdir=tmp_path)
    assert rendered.spec == {
        "app": "triage",
        "agent": "",
        "message": "explain disk full",
        "input": {"playbook": "42", "n": 3},
    }
