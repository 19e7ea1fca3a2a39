"""``ara_playbook``: return a recorded playbook, the running one unless ``playbook_id`` is given."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

from ara.plugins import shared

DOCUMENTATION = """
---
module: ara_playbook
short_description: Retrieves either a specific playbook from Ara or the one currently running
description:
    - Retrieves either a specific playbook from Ara or the one currently running
options:
    playbook_id:
        description:
            - id of the playbook to retrieve
            - if not set, the module will use the ongoing playbook's id
        required: false
"""

EXAMPLES = """
- name: Get the running playbook
  ara_playbook:
  register: playbook_query

- name: Link to its report
  debug:
    msg: "Playbook report: http://ara/playbooks/{{ playbook_query.playbook.id }}.html"
"""

RETURN = """
playbook:
    description: playbook object returned by the API
    returned: on success
    type: dict
"""


class ActionModule(ActionBase):
    """Retrieves either a specific playbook from Ara or the one currently running."""

    TRANSFERS_FILES = False
    VALID_ARGS = frozenset(("playbook_id",))

    def run(self, tmp: Any = None, task_vars: Any = None) -> dict[str, Any]:
        for arg in self._task.args:
            if arg not in self.VALID_ARGS:
                return {"failed": True, "msg": f"{arg} is not a valid option."}

        result: dict[str, Any] = super().run(tmp, task_vars or {})
        playbook_id = self._task.args.get("playbook_id")
        try:
            client = shared.active_client()
            if playbook_id is None:
                playbook_id = shared.playbook_id_of_task(client, self._task)
            result["playbook"] = client.get(f"/api/v1/playbooks/{playbook_id}")
        except Exception as exc:
            result.update(failed=True, msg=f"Failed to query playbook {playbook_id} from ARA: {exc}")
            return result
        result["changed"] = False
        result["msg"] = f"Queried playbook {playbook_id} from ARA"
        return result
