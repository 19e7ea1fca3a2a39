"""``ara_label``: add labels to (or remove them from) the running playbook or another one."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

from ara.plugins import shared

DOCUMENTATION = """
---
module: ara_label
short_description: Manages labels on playbooks recorded by Ara
description:
    - Adds or removes labels on playbooks recorded by Ara
options:
    playbook_id:
        description:
            - id of the playbook to manage labels on
            - if not set, the module will use the ongoing playbook's id
        required: false
    labels:
        description:
            - A list of labels to add to (or remove from) the playbook
        required: true
    state:
        description:
            - Whether the labels should be added (present) or removed (absent)
        default: present
"""

RETURN = """
playbook_id:
    description: ID of the playbook whose labels were managed
    returned: on success
    type: int
labels:
    description: the playbook's labels afterwards
    returned: on success
    type: list
"""

MAX_LABEL = 255


class ActionModule(ActionBase):
    """Manages labels on a playbook recorded by Ara."""

    TRANSFERS_FILES = False
    VALID_ARGS = frozenset(("state", "playbook_id", "labels"))

    def run(self, tmp: Any = None, task_vars: Any = None) -> dict[str, Any]:
        for arg in self._task.args:
            if arg not in self.VALID_ARGS:
                return {"failed": True, "msg": f"{arg} is not a valid option."}

        result: dict[str, Any] = super().run(tmp, task_vars or {})
        state = self._task.args.get("state", "present")
        playbook_id = self._task.args.get("playbook_id")
        labels = self._task.args.get("labels")
        if not labels:
            result.update(failed=True, msg="Parameter 'labels' is required")
            return result
        if isinstance(labels, str):
            labels = labels.split(",")
        if state not in ("present", "absent"):
            result.update(failed=True, msg=f"state must be 'present' or 'absent', not {state!r}")
            return result

        try:
            client = shared.active_client()
            if playbook_id is None:
                playbook_id = shared.playbook_id_of_task(client, self._task)
            playbook = client.get(f"/api/v1/playbooks/{playbook_id}")
            current = [label["name"] for label in playbook["labels"]]
            given = [label[: MAX_LABEL - 1] if len(label) >= MAX_LABEL else label for label in map(str, labels)]
            if state == "present":
                expected = list(dict.fromkeys(current + given))
            else:
                expected = [label for label in current if label not in given]
            changed = set(expected) != set(current)
            if changed:
                playbook = client.patch(f"/api/v1/playbooks/{playbook_id}", labels=expected)
        except Exception as exc:
            result.update(failed=True, msg=f"An error occurred when updating playbook labels: {exc}")
            return result
        result.update(
            changed=changed,
            labels=[label["name"] for label in playbook["labels"]],
            playbook_id=playbook_id,
            msg="ara playbook labels updated." if changed else "ara playbook labels unchanged.",
        )
        return result
